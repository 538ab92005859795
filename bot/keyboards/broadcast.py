from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder


class BroadcastAction(StrEnum):
    CONFIRM = "confirm"
    CANCEL = "cancel"


class BroadcastCallback(CallbackData, prefix="bcast"):
    action: BroadcastAction
    nonce: str  # this preview's nonce: the Broadcast row is unique by it


def confirm_keyboard(nonce: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("✅ Send to everyone"),
        callback_data=BroadcastCallback(action=BroadcastAction.CONFIRM, nonce=nonce),
    )
    builder.button(
        text=_("✖️ Cancel"),
        callback_data=BroadcastCallback(action=BroadcastAction.CANCEL, nonce=nonce),
    )
    builder.adjust(1)
    return builder.as_markup()
