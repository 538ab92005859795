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


def something_went_wrong() -> str:
    return _("Sorry, something went wrong on my side. Please try again in a minute.")


def banned_notice() -> str:
    return _(
        "Your access to this bot has been suspended by its team. "
        "If you think this is a mistake, please contact them."
    )


def slow_down() -> str:
    return _("You are sending messages too fast. Please slow down a little.")


# --- /cancel (and the wizards' Cancel buttons) ------------------------------------------------


def training_cancelled() -> str:
    return _("Model training set-up cancelled. Your photos were not sent anywhere.")


def generation_cancelled() -> str:
    return _("Portrait generation set-up cancelled. No credits were spent.")


def cancelled() -> str:
    return _("Cancelled.")


def nothing_to_cancel() -> str:
    return _("There is nothing to cancel.")
