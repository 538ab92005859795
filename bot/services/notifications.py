"""Messages that are not replies to an update (N8N callbacks, background jobs): sent in the
user's language, waiting out Telegram's flood limits, marking users who blocked the bot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from loguru import logger

from bot.i18n import match_locale
from bot.models import User
from bot.services import users

MAX_RETRY_AFTER_WAITS = 3

Compose = Callable[[], tuple[str, InlineKeyboardMarkup | None]]


def locale_of(i18n: I18n, user: User) -> str:
    if user.language in i18n.available_locales:
        return str(user.language)
    return match_locale(i18n, user.language_code)


async def send_with_retry(
    bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> bool:
    for _ in range(MAX_RETRY_AFTER_WAITS + 1):
        try:
            await bot.send_message(chat_id, text, reply_markup=markup)
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


async def notify(bot: Bot, i18n: I18n, user: User, compose: Compose) -> bool:
    """Compose the message in the user's language and send it."""
    with i18n.context(), i18n.use_locale(locale_of(i18n, user)):
        text, markup = compose()
    return await send_with_retry(bot, user.telegram_id, text, markup)
