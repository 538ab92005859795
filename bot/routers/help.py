from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.commands import user_commands
from bot.keyboards.menu import MenuAction, MenuCallback, main_menu


def help_text() -> str:
    lines = [f"/{command.command} — {command.description}" for command in user_commands()]
    return _(
        "<b>What I can do</b>\n\n{commands}\n\nAnything else: /cancel stops what you started."
    ).format(commands="\n".join(lines))


async def help_command(message: Message) -> None:
    await message.answer(help_text(), reply_markup=main_menu())


async def help_button(query: CallbackQuery) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(help_text(), reply_markup=main_menu())


def create_router() -> Router:
    router = Router(name="help")
    router.message.register(help_command, Command("help"))
    router.callback_query.register(help_button, MenuCallback.filter(F.action == MenuAction.HELP))
    return router
