from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import BroadcastAction, BroadcastCallback
from bot.views import buttons


def confirm_keyboard(token: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=buttons.send_to_everyone(),
        callback_data=BroadcastCallback(action=BroadcastAction.CONFIRM, token=token),
    )
    builder.button(
        text=buttons.cancel(),
        callback_data=BroadcastCallback(action=BroadcastAction.CANCEL, token=token),
    )
    builder.adjust(1)
    return builder.as_markup()
