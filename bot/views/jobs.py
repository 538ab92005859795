"""Texts both kinds of job share."""

from datetime import UTC, datetime

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


def running_time(started: datetime, expected: str, now: datetime | None = None) -> str:
    """How long a job has been running, beside how long such a job usually takes."""
    minutes = max(int(((now or datetime.now(UTC)) - started).total_seconds() // 60), 0)
    # "min" needs no plural form in either language.
    return _("⏱ running {minutes} min, usually {expected}").format(
        minutes=minutes, expected=expected
    )


def usual_training_time() -> str:
    return _("20–40 min")


def usual_generation_time() -> str:
    return _("1–2 min")


def not_started() -> str:
    return _("⚠️ One of your jobs could not be started, so its credits were returned.")
