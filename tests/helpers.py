"""Small readers of what the fake Telegram recorded, as a user would see it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp


def button_texts(event: Any) -> list[str]:
    markup = event.reply_markup or {}
    return [button["text"] for row in markup.get("inline_keyboard", []) for button in row]


async def expect_text(user: Any, fragment: str, method: str = "sendMessage") -> Any:
    """The next bot message containing `fragment`, skipping others (e.g. a redelivered update's
    reply after a restart, as Telegram redelivers unconfirmed updates)."""
    seen: list[str] = []
    while True:
        try:
            event = await user.expect(method)
        except AssertionError as error:
            raise AssertionError(f"no {method} with {fragment!r}; saw {seen}") from error
        if fragment in (event.body or ""):
            return event
        seen.append(event.body)


async def post_update(app: Any, update: dict[str, object]) -> int:
    """POST an update straight to one replica's webhook, as Telegram would."""
    url = f"http://127.0.0.1:{app.settings.port}/webhook"
    headers = {"X-Telegram-Bot-Api-Secret-Token": app.settings.webhook_secret.get_secret_value()}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=update, headers=headers) as response,
    ):
        return response.status


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Wait until an observable state (e.g. a database row) is reached: for what the fakes
    cannot signal."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"state not reached within {timeout}s")
        await asyncio.sleep(0.02)
