"""Texts several features share."""

from aiogram.utils.i18n import gettext as _


def stale_button() -> str:
    return _("This button is no longer active.")


def not_understood() -> str:
    return _("I did not understand that. Choose an action below or send /help.")


def not_configured() -> str:
    return _(
        "Training and generation are not configured on this bot yet: its operator has not "
        "connected the AI service. Please try again later."
    )
