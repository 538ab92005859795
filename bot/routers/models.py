from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.keyboards.menu import MenuAction, MenuCallback
from bot.models import User
from bot.services.generation import models_of
from bot.views.models import models_text


async def models_command(message: Message, user: User) -> None:
    await message.answer(models_text(await models_of(user.telegram_id)))


async def models_button(query: CallbackQuery, user: User) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(models_text(await models_of(user.telegram_id)))


def create_router() -> Router:
    router = Router(name="models")
    router.message.register(models_command, Command("models"))
    router.callback_query.register(
        models_button, MenuCallback.filter(F.action == MenuAction.MODELS)
    )
    return router
