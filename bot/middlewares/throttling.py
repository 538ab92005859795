import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject

from bot.services.shared import SharedStore
from bot.views.common import slow_down

NOTICE_PERIOD_SECONDS = 10


class FloodMiddleware(BaseMiddleware):
    """Drops the excess of a user's flood of messages, with at most one "slow down" notice.

    Album items and payments are never dropped (an album arrives as a burst by design);
    button presses are not messages and never pass here.
    """

    def __init__(self, store: SharedStore, messages_per_second: int) -> None:
        self.store = store
        self.limit = messages_per_second

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if (
            not isinstance(event, Message)
            or event.from_user is None
            or event.media_group_id is not None
            or event.successful_payment is not None
            or event.refunded_payment is not None
        ):
            return await handler(event, data)
        user_id = event.from_user.id
        window = int(time.time())
        if await self.store.count(f"flood:{user_id}:{window}", 2) <= self.limit:
            return await handler(event, data)
        if await self.store.claim(f"flood-notice:{user_id}", NOTICE_PERIOD_SECONDS):
            await event.answer(slow_down())
        return None
