from aiogram import F, Router, html
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuAction, MenuCallback
from bot.keyboards.menu import main_menu
from bot.models import User
from bot.routers.common import reply


def greeting(user: User, *, returning: bool) -> str:
    name = html.quote(user.first_name or user.username or "")
    if returning:
        return _("Welcome back, {name}! What shall we do?").format(name=name)
    return _(
        "Hi, {name}! I turn your selfies into AI portraits.\n\n"
        "1. <b>Train</b> a personal model on 10–20 of your photos.\n"
        "2. <b>Generate</b> portraits of you from a prompt or a style.\n\n"
        "Your balance: <b>{credits}</b> credits."
    ).format(name=name, credits=user.credits)


async def start(message: Message, user: User, user_created: bool, state: FSMContext) -> None:
    await state.clear()
    await message.answer(greeting(user, returning=not user_created), reply_markup=main_menu())


async def show_menu(query: CallbackQuery, user: User) -> None:
    await reply(query, greeting(user, returning=True), main_menu())


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(start, CommandStart())
    router.callback_query.register(show_menu, MenuCallback.filter(F.action == MenuAction.MENU))
    return router
