from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.keyboards.menu import MenuAction, MenuCallback
from bot.models import User


def credits_text(user: User, settings: Settings) -> str:
    return _(
        "💳 Your balance: <b>{balance}</b> credits.\n\n"
        "Training a model costs {train_cost} credits; one generation ({images} images) "
        "costs {generate_cost} credits."
    ).format(
        balance=user.credits,
        train_cost=settings.train_cost,
        generate_cost=settings.generate_cost,
        images=settings.images_per_prompt,
    )


async def credits_command(message: Message, user: User, settings: Settings) -> None:
    await message.answer(credits_text(user, settings))


async def credits_button(query: CallbackQuery, user: User, settings: Settings) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(credits_text(user, settings))


def create_router() -> Router:
    router = Router(name="credits")
    router.message.register(credits_command, Command("credits"))
    router.callback_query.register(
        credits_button, MenuCallback.filter(F.action == MenuAction.CREDITS)
    )
    return router
