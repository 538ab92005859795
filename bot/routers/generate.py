from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.keyboards.menu import MenuAction, MenuCallback
from bot.routers.train import not_configured_text  # shared wording


def generate_entry_text(settings: Settings) -> str:
    if not settings.n8n_enabled:
        return not_configured_text()
    return _("Generation opens soon. Your balance and credits are safe meanwhile.")


async def generate_command(message: Message, settings: Settings) -> None:
    await message.answer(generate_entry_text(settings))


async def generate_button(query: CallbackQuery, settings: Settings) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(generate_entry_text(settings))


def create_router() -> Router:
    router = Router(name="generate")
    router.message.register(generate_command, Command("generate"))
    router.callback_query.register(
        generate_button, MenuCallback.filter(F.action == MenuAction.GENERATE)
    )
    return router
