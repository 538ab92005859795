"""Short alerts to the admins, at most one per kind of error per minute across replicas."""

from __future__ import annotations

from collections.abc import Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from loguru import logger

from bot.services.shared import SharedStore

ALERT_PERIOD_SECONDS = 60


class AdminAlerts:
    def __init__(
        self, bot: Bot, store: SharedStore, admin_ids: Iterable[int], secrets: Iterable[str]
    ) -> None:
        self.bot = bot
        self.store = store
        self.admin_ids = tuple(admin_ids)
        self.secrets = tuple(secret for secret in secrets if secret)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    async def alert(self, kind: str, text: str) -> bool:
        """Send `text` to every admin unless an alert of this kind went out in the last minute."""
        if not self.admin_ids or not await self.store.claim(f"alert:{kind}", ALERT_PERIOD_SECONDS):
            return False
        text = self.scrub(text)
        for admin_id in self.admin_ids:
            try:
                await self.bot.send_message(admin_id, text, parse_mode=None)
            except TelegramAPIError as error:
                logger.warning("could not alert admin {}: {}", admin_id, error)
        return True
