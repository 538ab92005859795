from aiogram import F, Router
from aiogram.filters import Command

from bot.callbacks import MenuAction, MenuCallback
from bot.config import Settings
from bot.keyboards.credits import credits_keyboard
from bot.models import User
from bot.routers.common import Event, reply
from bot.services import credits
from bot.views.credits import balance_text


async def show_credits(event: Event, user: User, settings: Settings) -> None:
    entries = await credits.recent_entries(user.telegram_id)
    balance = await credits.balance_of(user.telegram_id)
    await reply(
        event,
        balance_text(balance, entries, settings),
        credits_keyboard(can_buy=bool(settings.credit_packages)),
    )


def create_router() -> Router:
    router = Router(name="credits")
    router.message.register(show_credits, Command("credits"))
    router.callback_query.register(
        show_credits, MenuCallback.filter(F.action == MenuAction.CREDITS)
    )
    return router
