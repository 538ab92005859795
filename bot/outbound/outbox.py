"""The Outbox: sends a message in the recipient's language, waiting out Telegram's flood
limits and marking users who blocked the bot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from loguru import logger

from bot.i18n import match_locale
from bot.models import User
from bot.services import users
from bot.services.background import BackgroundTasks
from bot.services.shared import SharedStore

MAX_RETRY_AFTER_WAITS = 3

Compose = Callable[[], tuple[str, InlineKeyboardMarkup | None]]


class Outbox:
    def __init__(
        self, bot: Bot, i18n: I18n, store: SharedStore, background: BackgroundTasks
    ) -> None:
        self.bot = bot
        self.i18n = i18n
        self.store = store  # shared pacing of albums across replicas
        # Long sends (albums) run here, tracked so that a stopping replica lets them finish.
        self.background = background

    def locale_of(self, user: User) -> str:
        if user.language in self.i18n.available_locales:
            return str(user.language)
        return match_locale(self.i18n, user.language_code)

    @contextmanager
    def speaking_to(self, user: User) -> Iterator[None]:
        """Texts made inside are in `user`'s language (also outside any update)."""
        with self.i18n.context(), self.i18n.use_locale(self.locale_of(user)):
            yield

    @contextmanager
    def speaking(self, locale: str) -> Iterator[None]:
        with self.i18n.context(), self.i18n.use_locale(locale):
            yield

    async def send(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> bool:
        """True when Telegram took the message. A user who blocked the bot is marked so."""
        for _ in range(MAX_RETRY_AFTER_WAITS + 1):
            try:
                await self.bot.send_message(chat_id, text, reply_markup=markup)
                return True
            except TelegramRetryAfter as error:
                logger.warning(
                    "Telegram asks to wait {}s before messaging {}", error.retry_after, chat_id
                )
                await asyncio.sleep(error.retry_after)
            except TelegramForbiddenError:
                await users.mark_blocked(chat_id)
                return False
            except TelegramAPIError as error:
                logger.warning("could not message {}: {}", chat_id, error)
                return False
        return False

    async def notify(self, user: User, compose: Compose) -> bool:
        """Compose the message in the user's language and send it."""
        with self.speaking_to(user):
            text, markup = compose()
        return await self.send(user.telegram_id, text, markup)

    async def notify_id(self, telegram_id: int, compose: Compose) -> bool:
        """As notify, for a user known by id only; nobody to tell when they are gone."""
        user = await User.get_or_none(telegram_id=telegram_id)
        return user is not None and await self.notify(user, compose)
