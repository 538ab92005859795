from typing import Any

from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import I18nMiddleware

from bot.i18n import match_locale
from bot.models import User


class UserLocaleMiddleware(I18nMiddleware):
    """The language picked with /language wins; until then each update's language_code."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("user")
        if user is not None and user.language in self.i18n.available_locales:
            return user.language
        tg_user: TelegramUser | None = data.get("event_from_user")
        return match_locale(self.i18n, tg_user.language_code if tg_user else None)
