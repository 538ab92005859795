from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import LanguageCallback
from bot.i18n import LANGUAGE_NAMES
from bot.views import buttons


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        builder.button(
            text=buttons.language(name, chosen=code == current),
            callback_data=LanguageCallback(code=code),
        )
    builder.adjust(2)
    return builder.as_markup()
