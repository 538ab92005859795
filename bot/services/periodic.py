"""One loop for the background workers that do a pass every so often (the reconciler's sweep,
resuming broadcasts, retrying model deletions), optionally on one replica at a time."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from loguru import logger

from bot.services.shared import SharedStore

# The turn lasts a little less than a period, so that it is free again when the next one begins.
TURN_SHARE = 0.9


@dataclass
class PeriodicWorker:
    """Runs `work` at once, then `every_seconds` after each pass ends, until `stopping` is set.

    `work` receives `stopping` and may end its pass early once it is set; a pass under way is
    never cancelled (cancelling it mid-query could leak a connection), and waiting between
    passes ends the moment `stopping` is set. A pass that raises is logged as a warning and the
    loop goes on. With `turn_key`, only the replica holding that lease in `store` works in a
    period; the lease is released when the loop ends, so a replica starting now takes it at once.
    """

    name: str  # for logs
    every_seconds: float
    work: Callable[[asyncio.Event], Awaitable[object]]
    store: SharedStore | None = None
    turn_key: str | None = None
    # Who holds the turn: one random id per worker, so two replicas never share a lease.
    owner: str = field(default_factory=lambda: uuid.uuid4().hex, init=False)

    def __post_init__(self) -> None:
        if self.every_seconds <= 0:
            raise ValueError("every_seconds must be positive")
        if self.turn_key is not None and self.store is None:
            raise ValueError("turn_key needs a store")

    async def run_until(self, stopping: asyncio.Event) -> None:
        may_hold = False
        try:
            while not stopping.is_set():
                try:
                    may_hold = True  # until `hold` answers: releasing is harmless, owner-checked
                    may_hold = await self._take_turn()
                    if may_hold and not stopping.is_set():
                        await self.work(stopping)
                except Exception as error:  # a hiccup (database, Redis) must not end the loop
                    logger.warning("{} failed: {}", self.name, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=self.every_seconds)
        finally:
            if may_hold:
                await self._release_turn()

    async def _take_turn(self) -> bool:
        """Whether this worker works in this period (always, without a turn_key)."""
        if self.turn_key is None or self.store is None:
            return self.turn_key is None
        return await self.store.hold(self.turn_key, self.owner, self.every_seconds * TURN_SHARE)

    async def _release_turn(self) -> None:
        if self.turn_key is None or self.store is None:
            return
        # A replica that starts now (a rolling restart) takes the turn at once; if the store is
        # unreachable, the lease simply expires.
        with contextlib.suppress(Exception):
            await self.store.release_held(self.turn_key, self.owner)
