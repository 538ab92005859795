from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import LanguageCallback
from bot.i18n import LANGUAGE_NAMES


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        mark = "✅ " if code == current else ""
        builder.button(text=f"{mark}{name}", callback_data=LanguageCallback(code=code))
    builder.adjust(2)
    return builder.as_markup()
