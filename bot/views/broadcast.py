"""Texts of the admin's /broadcast: prompt, preview summary, progress."""

from aiogram.utils.i18n import gettext as _


def prompt_text() -> str:
    return _(
        "📣 Send the message for all users. Formatting (bold, links…) is kept; photos and "
        "files are not supported. Send /cancel to stop."
    )


def not_text() -> str:
    return _("Only a text message can be broadcast. Please send text, or /cancel.")


def too_long(max_length: int) -> str:
    return _("This message is too long: Telegram allows at most {max_length} characters.").format(
        max_length=max_length
    )


def refused(reason: str) -> str:
    return _("Telegram refused this message ({reason}). Please send it again.").format(
        reason=reason
    )


def preview_summary(recipients: int) -> str:
    return _(
        "⬆️ This is exactly what users will get. It will be sent to {count} active users."
    ).format(count=recipients)


def progress_text(*, sent: int, total: int, blocked: int, failed: int, finished: bool) -> str:
    if finished:
        return _(
            "✅ Broadcast finished: sent {sent} of {total}, blocked {blocked}, failed {failed}."
        ).format(sent=sent, total=total, blocked=blocked, failed=failed)
    return _("📣 Broadcast: sent {sent} of {total}, blocked {blocked}, failed {failed}.").format(
        sent=sent, total=total, blocked=blocked, failed=failed
    )


def cancelled() -> str:
    return _("Broadcast cancelled. Nothing was sent.")


def already_started() -> str:
    return _("This broadcast has already started.")


def started() -> str:
    return _("Broadcast started.")
