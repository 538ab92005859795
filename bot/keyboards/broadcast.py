from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import BroadcastAction, BroadcastCallback


def confirm_keyboard(token: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("✅ Send to everyone"),
        callback_data=BroadcastCallback(action=BroadcastAction.CONFIRM, token=token),
    )
    builder.button(
        text=_("✖️ Cancel"),
        callback_data=BroadcastCallback(action=BroadcastAction.CANCEL, token=token),
    )
    builder.adjust(1)
    return builder.as_markup()
