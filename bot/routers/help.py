from aiogram import F, Router
from aiogram.filters import Command

from bot.callbacks import MenuAction, MenuCallback
from bot.keyboards.menu import main_menu
from bot.routers.common import Event, reply
from bot.views.commands import help_text


async def show_help(event: Event) -> None:
    await reply(event, help_text(), main_menu())


def create_router() -> Router:
    router = Router(name="help")
    router.message.register(show_help, Command("help"))
    router.callback_query.register(show_help, MenuCallback.filter(F.action == MenuAction.HELP))
    return router
