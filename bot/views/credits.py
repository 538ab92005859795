from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.config import CreditPackage, Settings
from bot.models import CreditEntry, LedgerReason, Payment, PaymentStatus
from bot.services.payments import CheckoutProblem, Receipt, Refund


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


def shortfall_alert(missing: int) -> str:
    """A short pop-up (button answers hold little text) when a confirm finds too few credits."""
    return _("You need {missing} more credits: /credits").format(missing=missing)


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
            f"{entry.delta:+d} · {reason_label(entry.reason)}"
            + (f" ({html.quote(entry.note)})" if entry.note else "")
            + f" · {entry.created_at:%Y-%m-%d}"
            for entry in entries
        ]
        text += "\n\n" + _("<b>Latest movements</b>\n{lines}").format(lines="\n".join(lines))
    return text


def packages_text() -> str:
    return _(
        "⭐ Choose a package. You pay with Telegram Stars right in Telegram; "
        "the credits arrive the moment the payment goes through."
    )


def not_on_sale() -> str:
    return _("Credits are not on sale right now.")


def package_gone() -> str:
    """A pop-up: the pressed package was taken off sale since it was shown."""
    return _("This package is no longer on sale.")


def invoice_texts(package: CreditPackage) -> tuple[str, str]:
    """The invoice's title and description."""
    return (
        _("{credits} credits").format(credits=package.credits),
        _("Credits for training models and generating portraits in this bot."),
    )


def checkout_refusal(problem: CheckoutProblem) -> str:
    """Shown by Telegram in the payment form: plain text, no HTML."""
    if problem == CheckoutProblem.BANNED:
        return _("Payments are not available for your account.")
    return _(
        "This package is no longer on sale at this price. "
        "Open /credits and choose one of the current packages."
    )


def receipt_text(receipt: Receipt, charge_id: str) -> str:
    return _(
        "✅ Payment received: {stars} ⭐ for <b>{credits}</b> credits.\n"
        "Your balance: <b>{balance}</b> credits.\n\n"
        "Receipt id: <code>{charge_id}</code> (quote it in /paysupport if anything is wrong)."
    ).format(
        stars=receipt.stars,
        credits=receipt.credits,
        balance=receipt.balance,
        charge_id=html.quote(charge_id),
    )


def payment_needs_review(charge_id: str) -> str:
    return _(
        "Your payment went through, but the credits could not be added automatically. "
        "The team has been told and will sort it out; your receipt id is <code>{charge_id}</code>."
    ).format(charge_id=html.quote(charge_id))


def payment_alert(
    charge_id: str, telegram_id: int, stars: int, payload: str, problem: Exception
) -> str:
    """For admins (plain text): a payment that needs a human."""
    return _(
        '⚠️ Payment {charge} from user {user_id} ({stars} ⭐, payload "{payload}") was not '
        "credited automatically: {problem}. Check it, then /grant the credits or /refund it."
    ).format(
        charge=charge_id,
        user_id=telegram_id,
        stars=stars,
        payload=payload[:100],
        problem=f"{type(problem).__name__}: {str(problem)[:200]}",
    )


def refund_notice(result: Refund) -> str:
    return _(
        "↩️ Your payment of {stars} ⭐ was refunded to your Telegram account; "
        "{credits} credits were taken back. Your balance: <b>{balance}</b> credits."
    ).format(stars=result.stars, credits=result.credits_taken, balance=result.balance)


def pay_support_text(settings: Settings, recent: list[Payment]) -> str:
    how = (
        _("Write to {contact} with your receipt id and what went wrong.").format(
            contact=html.quote(settings.support_contact)
        )
        if settings.support_contact
        else _(
            "Send <code>/paysupport</code> followed by your message, with your receipt id and "
            "what went wrong: it goes to the team, who will reply to you in Telegram."
        )
    )
    text = _(
        "💬 <b>Payment support</b>\n\n"
        "{how}\n\n"
        "Credits you bought stay on your balance until you use them. If a payment was taken "
        "but no credits arrived, or you bought by mistake and have not used the credits, "
        "the team refunds the Stars to your Telegram account."
    ).format(how=how)
    if recent:
        lines = [
            f"{payment.created_at:%Y-%m-%d} · {payment.stars} ⭐ · {payment.credits} · "
            f"<code>{html.quote(payment.charge_id)}</code>"
            + (" · " + _("refunded") if payment.status == PaymentStatus.REFUNDED else "")
            for payment in recent
        ]
        text += "\n\n" + _("<b>Your payments</b>\n{lines}").format(lines="\n".join(lines))
    return text


def support_request_too_soon() -> str:
    return _("You wrote to the team a moment ago. Please wait a minute before writing again.")


def support_request_undelivered(settings: Settings) -> str:
    if settings.support_contact:
        return _("The team could not be reached right now. Please write to {contact}.").format(
            contact=html.quote(settings.support_contact)
        )
    return _("The team could not be reached right now. Please try again later.")


def support_request_sent() -> str:
    return _("📨 Sent to the team. They will reply to you in Telegram.")


def support_request_for_admins(user_id: int, name: str, text: str, recent: list[Payment]) -> str:
    """What admins receive from /paysupport (in the admin's language)."""
    charges = ", ".join(f"<code>{html.quote(p.charge_id)}</code>" for p in recent) or "—"
    return _(
        "💬 Payment support request from {name} (id <code>{user_id}</code>):\n\n{text}\n\n"
        "Recent charges: {charges}"
    ).format(
        name=html.link(html.quote(name), f"tg://user?id={user_id}"),
        user_id=user_id,
        text=html.quote(text),
        charges=charges,
    )


def grant_notice(amount: int, reason: str | None, balance: int) -> str:
    text = _("🎁 You received {amount} credits.").format(amount=amount)
    if reason:
        text += "\n" + _("Reason: {reason}").format(reason=html.quote(reason))
    return text + "\n" + _("Your balance: <b>{balance}</b> credits.").format(balance=balance)
