from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.callbacks import PrivacyCallback
from bot.models import User, UserStatus
from bot.services.shared import SharedStore
from bot.views.common import banned_notice

NOTICE_EVERY_SECONDS = 24 * 3600
# A ban does not take away the right to see and erase one's data, nor help with a payment.
EXEMPT_COMMANDS = ("/privacy", "/delete", "/paysupport")


def exempt(event: TelegramObject) -> bool:
    """Payments (pre-checkout is refused in words by its handler; a payment that completed
    anyway, banned in between, must still be credited; a refund is recorded), the privacy
    commands and payment support pass."""
    if isinstance(event, CallbackQuery):
        return PrivacyCallback.__prefix__ == (event.data or "").split(":", 1)[0]
    if not isinstance(event, Message):
        return False
    words = (event.text or "").split(maxsplit=1)
    command = words[0].split("@", 1)[0] if words else ""  # "/delete@SomeBot" too
    return (
        event.successful_payment is not None
        or event.refunded_payment is not None
        or command in EXEMPT_COMMANDS
    )


class BannedUserMiddleware(BaseMiddleware):
    """Nothing works for a banned user; they are told so politely, at most once a day
    (across replicas). Only payments, privacy and payment support pass (see `exempt`)."""

    def __init__(self, store: SharedStore) -> None:
        self.store = store

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("user")
        if user is None or user.status != UserStatus.BANNED or exempt(event):
            return await handler(event, data)
        tell = await self.store.claim(f"banned-notice:{user.telegram_id}", NOTICE_EVERY_SECONDS)
        text = banned_notice()
        # An outer middleware: the press never reaches CallbackAnswerMiddleware, so answer it here.
        if isinstance(event, CallbackQuery):
            await event.answer(text if tell else None, show_alert=tell)
        elif isinstance(event, Message) and tell:
            await event.answer(text)
        return None
