from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.models import CreditEntry, LedgerReason


def with_shortfall(text: str, cost: int, balance: int) -> str:
    """A summary, plus how many credits are missing when the balance does not cover `cost`."""
    if balance >= cost:
        return text
    return (
        text
        + "\n\n"
        + _("You need {missing} more credits. Top up with /credits, then come back.").format(
            missing=cost - balance
        )
    )


def reason_label(reason: LedgerReason) -> str:
    return {
        LedgerReason.WELCOME: _("welcome bonus"),
        LedgerReason.RESERVE_TRAINING: _("model training"),
        LedgerReason.RESERVE_GENERATION: _("portrait generation"),
        LedgerReason.RELEASE: _("returned: the job did not go through"),
        LedgerReason.PURCHASE: _("purchase"),
        LedgerReason.REFUND: _("purchase refunded"),
        LedgerReason.ADMIN_GRANT: _("granted by the team"),
        LedgerReason.N8N_GRANT: _("granted"),
    }[reason]


def balance_text(balance: int, entries: list[CreditEntry], settings: Settings) -> str:
    text = _(
        "💳 Your balance: <b>{balance}</b> credits.\n\n"
        "Training a model costs {train_cost} credits; one generation ({images} images) "
        "costs {generate_cost} credits."
    ).format(
        balance=balance,
        train_cost=settings.train_cost,
        generate_cost=settings.generate_cost,
        images=settings.images_per_prompt,
    )
    if entries:
        lines = [
            f"{entry.delta:+d} · {reason_label(entry.reason)} · {entry.created_at:%Y-%m-%d}"
            for entry in entries
        ]
        text += "\n\n" + _("<b>Latest movements</b>\n{lines}").format(lines="\n".join(lines))
    return text
