"""One periodic worker for the background loops every replica runs (the reconciler, broadcast
resumption, model deletion retries)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from loguru import logger

from bot.services.shared import SharedStore


@dataclass
class PeriodicWorker:
    name: str  # for logs
    every_seconds: float
    work: Callable[[asyncio.Event], Awaitable[object]]  # gets `stopping`; may end a pass early
    store: SharedStore | None = None
    # When set, only the replica holding this lease in `store` works in a period.
    turn_key: str | None = None
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)

    async def run_until(self, stopping: asyncio.Event) -> None:
        """A pass now, then every `every_seconds` until `stopping` is set. A pass under way
        finishes first: cancelling it mid-query could leak a connection."""
        holding = False
        while not stopping.is_set():
            try:
                holding = await self._take_turn()
                if holding:
                    await self.work(stopping)
            except Exception as error:  # a hiccup (database, Redis) must not end the worker
                logger.warning("{} failed: {}", self.name, error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=self.every_seconds)
        if holding and self.store is not None and self.turn_key is not None:
            # A replica starting now (a rolling restart) takes the turn at once.
            with contextlib.suppress(Exception):
                await self.store.release_held(self.turn_key, self.owner)

    async def _take_turn(self) -> bool:
        if self.store is None or self.turn_key is None:
            return True
        return await self.store.hold(self.turn_key, self.owner, self.every_seconds * 0.9)
