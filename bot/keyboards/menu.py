from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import MenuAction, MenuCallback


def main_menu() -> InlineKeyboardMarkup:
    labels = {
        MenuAction.TRAIN: _("🧠 Train a model"),
        MenuAction.GENERATE: _("🎨 Generate"),
        MenuAction.MODELS: _("🗂 My models"),
        MenuAction.CREDITS: _("💳 Credits"),
        MenuAction.LANGUAGE: _("🌐 Language"),
        MenuAction.HELP: _("❓ Help"),
    }
    builder = InlineKeyboardBuilder()
    for action, label in labels.items():  # MENU itself is not a button of the menu
        builder.button(text=label, callback_data=MenuCallback(action=action))
    builder.adjust(2)
    return builder.as_markup()


def menu_button(action: MenuAction = MenuAction.MENU) -> InlineKeyboardMarkup:
    """A single button back to the main menu (or to one of its entries)."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("☰ Menu"), callback_data=MenuCallback(action=action))
    return builder.as_markup()
