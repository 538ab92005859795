import re

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.models import ModelStatus, PromptStatus
from bot.services.admin import Grant, Stats
from bot.services.payments import Refund, RefundFailed, RefundRefused
from bot.views import generation, models

MAX_GRANT = 1_000_000
MAX_NOTE_LENGTH = 200
# ASCII digits only: str.isdigit() also accepts "²" or "٣", which int() refuses or reads oddly.
USER_ID = re.compile(r"[0-9]+")
AMOUNT = re.compile(r"[+-]?[0-9]+")


def parse_user_id(text: str | None) -> int | None:
    value = (text or "").strip()
    return int(value) if USER_ID.fullmatch(value) and 0 < int(value) < 2**63 else None


def parse_grant(args: str | None) -> tuple[int, int, str | None] | None:
    """`<telegram_id> <amount> [reason]` → (id, amount, reason), or None when malformed."""
    parts = (args or "").split(maxsplit=2)
    if len(parts) < 2:
        return None
    telegram_id = parse_user_id(parts[0])
    amount_text = parts[1]
    if telegram_id is None or not AMOUNT.fullmatch(amount_text):
        return None
    amount = int(amount_text)
    if amount == 0 or abs(amount) > MAX_GRANT:
        return None
    note = parts[2].strip()[:MAX_NOTE_LENGTH] if len(parts) > 2 else None
    return telegram_id, amount, note or None


def stats_text(stats: Stats) -> str:
    model_lines = ", ".join(
        f"{models.status_label(ModelStatus(status))}: {count}"
        for status, count in sorted(stats.models.items())
    )
    generation_lines = ", ".join(
        f"{generation.status_label(PromptStatus(status))}: {count}"
        for status, count in sorted(stats.generations.items())
    )
    return _(
        "📊 <b>Statistics</b>\n\n"
        "<b>Users</b>: {users} in total, {active} active in 7 days, {new} new today "
        "({banned} banned, {blocked} blocked the bot)\n"
        "<b>Models</b>: {models}\n"
        "<b>Generations</b>: {generations}\n"
        "<b>Credits</b>: {granted} granted, {spent} spent, {sold} sold, {refunded} refunded\n"
        "<b>Stars</b>: {stars} ⭐ received, {stars_refunded} ⭐ refunded"
    ).format(
        users=stats.users,
        active=stats.active_week,
        new=stats.new_today,
        banned=stats.banned,
        blocked=stats.blocked,
        models=model_lines or "—",
        generations=generation_lines or "—",
        granted=stats.credits_granted,
        spent=stats.credits_spent,
        sold=stats.credits_sold,
        refunded=stats.credits_refunded,
        stars=stats.stars_received,
        stars_refunded=stats.stars_refunded,
    )


def grant_usage() -> str:
    return _(
        "Usage: <code>/grant &lt;telegram_id&gt; &lt;amount&gt; [reason]</code>\n"
        "The amount is a whole number, not 0, up to {max} either way; a negative amount takes "
        "credits away, never below zero."
    ).format(max=MAX_GRANT)


def unknown_user(telegram_id: int) -> str:
    return _("No user with id <code>{id}</code> has used this bot.").format(id=telegram_id)


def grant_done(result: Grant, note: str | None) -> str:
    if not result.applied:
        return _("This command was handled before; nothing changed.")
    return _(
        "Done: {delta:+d} credits for <code>{id}</code>{note}. Their balance: {balance}."
    ).format(
        delta=result.delta,
        id=result.telegram_id,
        note=f" ({html.quote(note)})" if note else "",
        balance=result.balance,
    )


def grant_notice(result: Grant, note: str | None) -> str:
    if result.delta > 0:
        text = _("🎁 The team added {amount} credits to your balance.").format(amount=result.delta)
    else:
        text = _("The team took {amount} credits from your balance.").format(amount=-result.delta)
    if note:
        text += "\n" + _("Reason: {reason}").format(reason=html.quote(note))
    return text + "\n" + _("Your balance: <b>{balance}</b> credits.").format(balance=result.balance)


def ban_usage(banned: bool) -> str:
    if banned:
        return _("Usage: <code>/ban &lt;telegram_id&gt;</code>")
    return _("Usage: <code>/unban &lt;telegram_id&gt;</code>")


def cannot_ban_admin() -> str:
    return _("Admins cannot be banned; remove the id from ADMIN_TELEGRAM_ID first.")


def ban_done(telegram_id: int, banned: bool, changed: bool) -> str:
    if banned:
        if not changed:
            return _("User <code>{id}</code> was already banned.").format(id=telegram_id)
        return _(
            "User <code>{id}</code> is banned: nothing works for them, and they are told so "
            "at most once a day."
        ).format(id=telegram_id)
    if not changed:
        return _("User <code>{id}</code> is not banned.").format(id=telegram_id)
    return _("User <code>{id}</code> can use the bot again.").format(id=telegram_id)


def refund_usage() -> str:
    return _(
        "Usage: <code>/refund &lt;charge_id&gt;</code> — the receipt id the user sees, "
        "also listed in their /paysupport."
    )


def refund_failed(charge_id: str, failure: RefundFailed) -> str:
    charge = html.quote(charge_id)
    reasons = {
        RefundRefused.UNKNOWN: _("No payment with id <code>{charge}</code> in our records."),
        RefundRefused.ALREADY_REFUNDED: _("Payment <code>{charge}</code> was already refunded."),
        RefundRefused.JOBS_RUNNING: _(
            "The payer of <code>{charge}</code> has a training or generation running, which may "
            "hold these credits. Try again when it has finished."
        ),
        RefundRefused.ERASED: _(
            "The payer of <code>{charge}</code> deleted their data, so Telegram cannot be told "
            "whom to refund. Refund it from Telegram's own tools if needed."
        ),
        RefundRefused.NOT_FOUND_AT_TELEGRAM: _(
            "Telegram does not know payment <code>{charge}</code> "
            "(a wrong id, or a payment to another bot)."
        ),
        RefundRefused.TELEGRAM_ERROR: _(
            "Telegram refused to refund <code>{charge}</code>: {error}"
        ),
    }
    return reasons[failure.reason].format(charge=charge, error=html.quote(failure.detail))


def refund_done(charge_id: str, result: Refund) -> str:
    return _(
        "Refunded {stars} ⭐ for <code>{charge}</code> to user <code>{id}</code>; "
        "{credits} credits taken back, their balance is now {balance}."
    ).format(
        stars=result.stars,
        charge=html.quote(charge_id),
        id=result.telegram_id,
        credits=result.credits_taken,
        balance=result.balance,
    )


def error_alert(kind: str, update_id: int, user_id: int | None, error: Exception) -> str:
    """For admins (plain text): an update that failed unexpectedly."""
    return _("⚠️ Error {kind} in update {update_id} (user {user_id}): {error}").format(
        kind=kind, update_id=update_id, user_id=user_id, error=str(error)[:500]
    )
