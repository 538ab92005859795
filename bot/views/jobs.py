"""Texts both kinds of job share."""

from aiogram.utils.i18n import gettext as _


def not_started() -> str:
    return _("⚠️ One of your jobs could not be started, so its credits were returned.")
