"""Texts both kinds of job share."""

from aiogram.utils.i18n import gettext as _

from bot.services.jobs import INTERNAL_ERROR
from bot.services.reconciler import NOT_STARTED, TIMED_OUT, UNKNOWN_AT_N8N


def reason(error: str | None) -> str:
    """Why a job failed, in the user's words: our own reasons are translated; N8N's and
    Astria's are shown as they came."""
    ours = {
        NOT_STARTED: _("it could not be started"),
        INTERNAL_ERROR: _("something went wrong on our side"),
        TIMED_OUT: _("the AI service took far too long, so I stopped waiting"),
        UNKNOWN_AT_N8N: _("the AI service lost track of it"),
    }
    if error is None:
        return _("no reason given")
    return ours.get(error, error)


def not_started() -> str:
    return _("⚠️ One of your jobs could not be started, so its credits were returned.")
