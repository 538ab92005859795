from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from loguru import logger

from bot.services.shared import SharedStore

# Telegram gives up redelivering an update well within a day.
DEDUP_TTL_SECONDS = 24 * 3600


class UpdateDedupMiddleware(BaseMiddleware):
    """A redelivered update_id acts once, whichever replica receives it."""

    def __init__(self, store: SharedStore) -> None:
        self.store = store

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update) and not await self.store.claim(
            f"update:{event.update_id}", DEDUP_TTL_SECONDS
        ):
            logger.info("update {} was delivered again; ignored", event.update_id)
            return None
        return await handler(event, data)
