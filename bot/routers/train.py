from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.keyboards.menu import MenuAction, MenuCallback


def not_configured_text() -> str:
    return _(
        "Training and generation are not configured on this bot yet: its operator has not "
        "connected the AI service. Please try again later."
    )


def train_entry_text(settings: Settings) -> str:
    if not settings.n8n_enabled:
        return not_configured_text()
    return _("Training new models opens soon. Your balance and credits are safe meanwhile.")


async def train_command(message: Message, settings: Settings) -> None:
    await message.answer(train_entry_text(settings))


async def train_button(query: CallbackQuery, settings: Settings) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(train_entry_text(settings))


def create_router() -> Router:
    router = Router(name="train")
    router.message.register(train_command, Command("train"))
    router.callback_query.register(train_button, MenuCallback.filter(F.action == MenuAction.TRAIN))
    return router
