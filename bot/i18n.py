"""Translations straight from the `.po` files in locales/ (translators edit only those).

Catalogs are compiled in memory at start-up with Babel, so no binary `.mo` file is ever
edited or committed.
"""

from __future__ import annotations

import contextvars
import gettext
import io
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}


class PoI18n(I18n):
    # aiogram's context mixin gives every subclass its own context variable, while its
    # gettext helpers read I18n's: keep using I18n's so `_()` finds this instance.
    @classmethod
    def set_current(cls, value: I18n) -> contextvars.Token[I18n]:
        return I18n.set_current(value)

    @classmethod
    def reset_current(cls, token: contextvars.Token[I18n]) -> None:
        I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for po_path in sorted(self.path.glob(f"*/LC_MESSAGES/{self.domain}.po")):
            locale = po_path.parent.parent.name
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=locale, domain=self.domain)
            buffer = io.BytesIO()
            write_mo(buffer, catalog, use_fuzzy=False)
            buffer.seek(0)
            translations[locale] = gettext.GNUTranslations(buffer)
        return translations


def create_i18n(path: Path = LOCALES_DIR) -> PoI18n:
    return PoI18n(path=path, default_locale=DEFAULT_LOCALE, domain=DOMAIN)


def match_locale(i18n: I18n, language_code: str | None) -> str:
    """The available locale for a Telegram language_code ("ru", "pt-br"), English otherwise."""
    if not language_code:
        return i18n.default_locale
    try:
        locale = Locale.parse(language_code, sep="-")
    except (UnknownLocaleError, ValueError):
        return i18n.default_locale
    for candidate in (str(locale), locale.language):
        if candidate in i18n.available_locales:
            return candidate
    return i18n.default_locale
