from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import BuyCallback, MenuAction, MenuCallback
from bot.config import CreditPackage
from bot.views import buttons


def credits_keyboard(can_buy: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if can_buy:
        builder.button(text=buttons.buy_credits(), callback_data=BuyCallback(credits=0))
    builder.button(text=buttons.menu(), callback_data=MenuCallback(action=MenuAction.MENU))
    builder.adjust(1)
    return builder.as_markup()


def packages_keyboard(packages: tuple[CreditPackage, ...]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for package in packages:
        builder.button(
            text=buttons.package(package), callback_data=BuyCallback(credits=package.credits)
        )
    builder.adjust(1)
    return builder.as_markup()
