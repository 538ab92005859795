from aiogram import F, Router
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.callbacks import MenuAction, MenuCallback
from bot.keyboards.menu import main_menu
from bot.models import User
from bot.routers.common import Event, reply
from bot.views.start import greeting


async def show_menu(event: Event, user: User, user_created: bool, state: FSMContext) -> None:
    """/start and the Menu button. /start also starts over: whatever wizard ran is dropped."""
    if isinstance(event, Message):
        await state.clear()
    await reply(event, greeting(user, returning=not user_created), main_menu())


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(show_menu, CommandStart())
    router.callback_query.register(show_menu, MenuCallback.filter(F.action == MenuAction.MENU))
    return router
