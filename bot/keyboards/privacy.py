from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder


class PrivacyAction(StrEnum):
    DELETE = "delete"  # from /privacy: ask to confirm, as /delete does
    CONFIRM = "confirm"
    KEEP = "keep"


class PrivacyCallback(CallbackData, prefix="privacy"):
    action: PrivacyAction
    # Which confirmation made the button: an old or already used one is stale.
    nonce: str = ""


def privacy_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("🗑 Delete my data"), callback_data=PrivacyCallback(action=PrivacyAction.DELETE)
    )
    return builder.as_markup()


def confirm_delete_keyboard(nonce: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("🗑 Yes, delete everything"),
        callback_data=PrivacyCallback(action=PrivacyAction.CONFIRM, nonce=nonce),
    )
    builder.button(
        text=_("✖️ No, keep my data"),
        callback_data=PrivacyCallback(action=PrivacyAction.KEEP, nonce=nonce),
    )
    builder.adjust(1)
    return builder.as_markup()
