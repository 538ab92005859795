from aiogram import F, Router
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import MenuAction, MenuCallback
from bot.keyboards.menu import main_menu
from bot.models import User
from bot.routers.common import reply
from bot.views.start import greeting


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
