"""Outgoing Telegram requests: flood limits waited out, transient failures retried.

Telegram's 429 means "not executed, try after N seconds", so it is always safe to wait and
send again. A 5xx or a network error is retried a couple of times with backoff; each retry
logs a WARNING, and only a failure that outlasts them reaches the error handler.
"""

from __future__ import annotations

import asyncio

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from loguru import logger

MAX_RETRY_AFTER_SECONDS = 60


class RetryMiddleware(BaseRequestMiddleware):
    def __init__(self, attempts: int = 3, backoff_seconds: float = 0.5) -> None:
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ == "getUpdates":  # the polling loop has its own backoff
            return await make_request(bot, method)
        failures = 0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if error.retry_after > MAX_RETRY_AFTER_SECONDS:
                    raise
                logger.warning(
                    "Telegram flood limit on {}: waiting {}s",
                    method.__api_method__,
                    error.retry_after,
                )
                await asyncio.sleep(error.retry_after)
            except (TelegramServerError, TelegramNetworkError) as error:
                failures += 1
                # A send that timed out may have been carried out: sending it again could
                # give the user a duplicate, so only a 5xx is retried for send* methods.
                ambiguous = isinstance(error, TelegramNetworkError) and (
                    method.__api_method__.startswith("send")
                )
                if failures >= self.attempts or ambiguous:
                    raise
                delay = self.backoff_seconds * 2 ** (failures - 1)
                logger.warning(
                    "Telegram {} failed ({}); retry {}/{} in {:.1f}s",
                    method.__api_method__,
                    error,
                    failures,
                    self.attempts - 1,
                    delay,
                )
                await asyncio.sleep(delay)
