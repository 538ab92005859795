from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import PrivacyAction, PrivacyCallback
from bot.views import buttons


def privacy_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=buttons.delete_my_data(), callback_data=PrivacyCallback(action=PrivacyAction.DELETE)
    )
    return builder.as_markup()


def confirm_delete_keyboard(token: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=buttons.confirm_delete(),
        callback_data=PrivacyCallback(action=PrivacyAction.CONFIRM, token=token),
    )
    builder.button(
        text=buttons.keep_my_data(),
        callback_data=PrivacyCallback(action=PrivacyAction.KEEP, token=token),
    )
    builder.adjust(1)
    return builder.as_markup()
