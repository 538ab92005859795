from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import PrivacyAction, PrivacyCallback


def privacy_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("🗑 Delete my data"), callback_data=PrivacyCallback(action=PrivacyAction.DELETE)
    )
    return builder.as_markup()


def confirm_delete_keyboard(token: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("🗑 Yes, delete everything"),
        callback_data=PrivacyCallback(action=PrivacyAction.CONFIRM, token=token),
    )
    builder.button(
        text=_("✖️ No, keep my data"),
        callback_data=PrivacyCallback(action=PrivacyAction.KEEP, token=token),
    )
    builder.adjust(1)
    return builder.as_markup()
