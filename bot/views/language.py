"""/language."""

from aiogram.utils.i18n import gettext as _


def choose() -> str:
    return _("Choose your language:")


def chosen() -> str:
    """Said in the language just chosen (each translation names its own language)."""
    return _("Done: I will speak English now.")
