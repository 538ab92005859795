from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.services.privacy import Erasure, Footprint


def privacy_text(fsm_ttl_hours: int) -> str:
    return _(
        "<b>Your data and privacy</b>\n\n"
        "<b>What I store and for how long</b>\n"
        "• Your Telegram id, name, username and language — to talk to you, until you delete "
        "your data.\n"
        "• Training photos — only as Telegram file ids, inside the set-up wizard's temporary "
        "data, which expires {hours} h after your last step. When you start a training, the "
        "photos are sent to our AI service (N8N / Astria) to train your model.\n"
        "• Your models — name, status and the AI service's model id, until you delete your "
        "data.\n"
        "• Your generations — the prompts and the links to the images, until you delete your "
        "data.\n"
        "• Credit movements and Telegram Stars payments (amounts, Telegram's charge ids) — "
        "kept for accounting.\n\n"
        "<b>How to delete it</b>\n"
        "Send /delete or press the button below. Your models are deleted at the AI service "
        "too, and your profile, models, generations and wizard data here. Payment and credit "
        "records are kept for accounting, without your name, username or Telegram id."
    ).format(hours=fsm_ttl_hours)


def busy_text(footprint: Footprint) -> str:
    lines = []
    if footprint.training:
        names = ", ".join(html.quote(name) for name in footprint.training)
        lines.append(_("A model is being trained right now: {names}.").format(names=names))
    if footprint.generating:
        lines.append(
            _("Portraits are being generated right now ({count} in progress).").format(
                count=footprint.generating
            )
        )
    lines.append(
        _(
            "Your data cannot be deleted while a job runs. "
            "Please wait until it finishes, then send /delete again."
        )
    )
    return "\n".join(lines)


def confirm_text(footprint: Footprint) -> str:
    return _(
        "<b>Delete all your data?</b>\n\n"
        "This deletes:\n"
        "• models: {models} (at the AI service too)\n"
        "• generations: {generations}, with their prompts and image links\n"
        "• your profile and any unfinished set-up\n\n"
        "⚠️ Your remaining balance of <b>{credits}</b> credits is lost.\n"
        "Records of your payments and credit movements are kept for accounting, "
        "without your name, username or Telegram id.\n\n"
        "This cannot be undone."
    ).format(models=footprint.models, generations=footprint.generations, credits=footprint.credits)


def erased_text(erasure: Erasure) -> str:
    text = _(
        "✅ Your data has been deleted (models: {models}, generations: {generations}), "
        "with your profile and any unfinished set-up. Payment records are kept anonymously."
    ).format(models=erasure.models, generations=erasure.generations)
    if erasure.queued:
        text += "\n\n" + _(
            "Your models are being deleted at the AI service now; if it cannot be reached, "
            "this is retried automatically until it succeeds."
        )
    return text + "\n\n" + _("If you write to me again, you start as a new user.")


def kept_text() -> str:
    return _("Nothing was deleted. Your data stays as it was.")


def stale_text() -> str:
    return _("This confirmation is no longer valid. Send /delete to start again.")


def deleting() -> str:
    return _("Deleting your data…")
