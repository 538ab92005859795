from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.config import Settings
from bot.keyboards.credits import credits_keyboard
from bot.keyboards.menu import MenuAction, MenuCallback
from bot.models import User
from bot.services import credits
from bot.views.credits import balance_text


async def credits_message(user: User, settings: Settings) -> str:
    entries = await credits.recent_entries(user.telegram_id)
    return balance_text(await credits.balance_of(user.telegram_id), entries, settings)


async def credits_command(message: Message, user: User, settings: Settings) -> None:
    await message.answer(
        await credits_message(user, settings),
        reply_markup=credits_keyboard(can_buy=bool(settings.credit_packages)),
    )


async def credits_button(query: CallbackQuery, user: User, settings: Settings) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(
            await credits_message(user, settings),
            reply_markup=credits_keyboard(can_buy=bool(settings.credit_packages)),
        )


def create_router() -> Router:
    router = Router(name="credits")
    router.message.register(credits_command, Command("credits"))
    router.callback_query.register(
        credits_button, MenuCallback.filter(F.action == MenuAction.CREDITS)
    )
    return router
