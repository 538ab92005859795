"""Small readers of what the fake Telegram recorded, as a user would see it."""

from __future__ import annotations

from typing import Any


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
