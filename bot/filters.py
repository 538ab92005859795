"""Filters shared by several routers."""

from aiogram.filters import Filter
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser

from bot.config import Settings


class IsAdmin(Filter):
    """The update comes from one of ADMIN_TELEGRAM_ID. Everyone else falls through to the
    next routers (in the end, the fallback), so nothing hints that admin commands exist."""

    async def __call__(
        self, event: TelegramObject, settings: Settings, event_from_user: TelegramUser | None
    ) -> bool:
        return event_from_user is not None and event_from_user.id in settings.admin_ids
