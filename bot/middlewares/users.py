from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TelegramUser

from bot.config import Settings
from bot.services import users


def starts_conversation(update: Update) -> bool:
    return update.message is not None or update.pre_checkout_query is not None


class UserMiddleware(BaseMiddleware):
    """Registers the user on first contact and keeps the row fresh; handlers get `user`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: TelegramUser | None = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return await handler(event, data)
        # Only something the person sends (a message, a payment) registers them: an old button
        # pressed after /delete, or blocking the bot, must not bring a profile back.
        may_create = not isinstance(event, Update) or starts_conversation(event)
        user, created = await users.register(
            tg_user,
            start_credits=self.settings.start_credits,
            erasure_key=self.settings.telegram_bot_token.get_secret_value(),
            create=may_create,
        )
        if user is None:
            # The press stops here, before CallbackAnswerMiddleware: stop its spinner ourselves.
            if isinstance(event, Update) and event.callback_query is not None:
                await event.callback_query.answer()
            return None
        if isinstance(event, Update) and event.message is not None:
            await users.mark_active(user)
        data["user"] = user
        data["user_created"] = created
        return await handler(event, data)
