from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import MenuAction, MenuCallback
from bot.views import buttons


def main_menu() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for action, label in buttons.menu_entries().items():
        builder.button(text=label, callback_data=MenuCallback(action=action))
    builder.adjust(2)
    return builder.as_markup()


def menu_button(action: MenuAction = MenuAction.MENU) -> InlineKeyboardMarkup:
    """A single button back to the main menu (or to one of its entries)."""
    builder = InlineKeyboardBuilder()
    builder.button(text=buttons.menu(), callback_data=MenuCallback(action=action))
    return builder.as_markup()
