from aiogram import F, Router
from aiogram.filters import Command
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuAction, MenuCallback
from bot.commands import user_commands
from bot.keyboards.menu import main_menu
from bot.routers.common import Event, reply


def help_text() -> str:
    lines = [f"/{command.command} — {command.description}" for command in user_commands()]
    return _(
        "<b>What I can do</b>\n\n{commands}\n\nAnything else: /cancel stops what you started."
    ).format(commands="\n".join(lines))


async def show_help(event: Event) -> None:
    await reply(event, help_text(), main_menu())


def create_router() -> Router:
    router = Router(name="help")
    router.message.register(show_help, Command("help"))
    router.callback_query.register(show_help, MenuCallback.filter(F.action == MenuAction.HELP))
    return router
