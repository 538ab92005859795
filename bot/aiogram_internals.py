"""The only place that touches aiogram's private parts, so an aiogram upgrade that moves them
breaks here, in one small file.

Why: a replica that stops (a rolling restart) must let the updates it already took finish,
but aiogram 3 offers no public way to see its handler tasks; and polling's own shutdown
closes the FSM storage before in-flight handlers are done unless our hooks run first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler


def handler_tasks(
    dispatcher: Dispatcher, webhook: SimpleRequestHandler | None
) -> set[asyncio.Task[Any]]:
    """Updates being handled right now (polling's and the webhook's)."""
    tasks = set(dispatcher._handle_update_tasks)
    if webhook is not None:
        tasks |= webhook._background_feed_update_tasks
    return tasks


def run_first_on_shutdown(dispatcher: Dispatcher, hook: Callable[[], Awaitable[None]]) -> None:
    """Register `hook` to run before every shutdown hook registered so far."""
    dispatcher.shutdown.register(hook)
    dispatcher.shutdown.handlers.insert(0, dispatcher.shutdown.handlers.pop())
