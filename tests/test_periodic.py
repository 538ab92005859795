"""PeriodicWorker: the loop behind the background workers, with and without a shared turn."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.services.periodic import PeriodicWorker
from bot.services.shared import MemoryStore, RedisStore, SharedStore
from tests.conftest import REDIS_URL, LogCapture, worker_number

QUICK = 0.05  # seconds between passes when a test wants several
SLOW = 60.0  # a period no test waits for: any second pass would be a bug
PROMPT = 5.0  # how long a test waits for what should happen at once (generous: CI may be busy)


class Record:
    """What happened, in order; `reached(n)` returns once n things have."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._grown = asyncio.Event()

    def add(self, item: Any = None) -> None:
        self.items.append(item)
        self._grown.set()

    async def reached(self, count: int, timeout: float = PROMPT) -> None:
        async with asyncio.timeout(timeout):
            while len(self.items) < count:
                self._grown.clear()
                await self._grown.wait()

    async def __call__(self, stopping: asyncio.Event) -> None:
        """Used as a worker's `work`: records one pass."""
        self.add()


Running = tuple[asyncio.Event, asyncio.Task[None]]  # (its `stopping`, the loop's task)


@contextlib.asynccontextmanager
async def running(worker: PeriodicWorker) -> AsyncIterator[Running]:
    """The worker's loop as a task; stopped (and awaited) when the block ends."""
    stopping = asyncio.Event()
    task = asyncio.create_task(worker.run_until(stopping))
    try:
        yield stopping, task
    finally:
        stopping.set()
        await asyncio.wait_for(task, PROMPT)


def record_holds(store: SharedStore, monkeypatch: pytest.MonkeyPatch) -> Record:
    """Every answer of `store.hold`, as (owner, held)."""
    holds = Record()
    original = store.hold

    async def hold(key: str, owner: str, ttl_seconds: float) -> bool:
        held = await original(key, owner, ttl_seconds)
        holds.add((owner, held))
        return held

    monkeypatch.setattr(store, "hold", hold)
    return holds


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[SharedStore]:
    """An in-process store, or a RedisStore under a prefix of its own (skipped locally, failed on
    CI, when Redis is unreachable)."""
    if request.param == "memory":
        yield MemoryStore()
        return
    redis = Redis.from_url(f"{REDIS_URL}/{1 + worker_number() % 15}")
    try:
        await redis.ping()  # type: ignore[misc]
    except Exception as error:
        await redis.aclose()
        missing = f"Redis at {REDIS_URL} is unreachable ({error})"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    prefix = f"periodic-test-{uuid.uuid4().hex}:"
    try:
        yield RedisStore(redis, prefix)
    finally:
        keys = [key async for key in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


class FlakyStore(MemoryStore):
    """A store whose first `hold` calls fail (Redis unreachable), and whose release may fail."""

    def __init__(self, failing_holds: int = 0, failing_release: bool = False) -> None:
        super().__init__()
        self.failing_holds = failing_holds
        self.failing_release = failing_release
        self.holds = 0

    async def hold(self, key: str, owner: str, ttl_seconds: float) -> bool:
        self.holds += 1
        if self.failing_holds:
            self.failing_holds -= 1
            raise ConnectionError("store unreachable")
        return await super().hold(key, owner, ttl_seconds)

    async def release_held(self, key: str, owner: str) -> None:
        if self.failing_release:
            raise ConnectionError("store unreachable")
        await super().release_held(key, owner)


# --- The loop ---------------------------------------------------------------------------------


async def test_the_first_pass_runs_at_once() -> None:
    passes = Record()
    async with running(PeriodicWorker("sweep", SLOW, passes)):
        await passes.reached(1)
    assert len(passes.items) == 1


async def test_passes_repeat_every_period() -> None:
    passes = Record()
    async with running(PeriodicWorker("sweep", QUICK, passes)):
        await passes.reached(3)


async def test_setting_stopping_ends_the_wait_between_passes_at_once() -> None:
    passes = Record()
    async with running(PeriodicWorker("sweep", SLOW, passes)) as (stopping, task):
        await passes.reached(1)
        stopping.set()
        await asyncio.wait_for(task, PROMPT)
    assert len(passes.items) == 1


async def test_a_pass_under_way_finishes_before_the_loop_ends() -> None:
    started = asyncio.Event()
    proceed = asyncio.Event()
    outcome: list[str] = []

    async def work(stopping: asyncio.Event) -> None:
        started.set()
        try:
            await proceed.wait()  # ignores `stopping`, as a query under way would
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        outcome.append("finished")

    async with running(PeriodicWorker("sweep", QUICK, work)) as (stopping, task):
        await started.wait()
        stopping.set()
        done, _ = await asyncio.wait({task}, timeout=QUICK * 2)
        assert not done, "the loop ended while its pass was under way"
        proceed.set()
        await asyncio.wait_for(task, PROMPT)
    assert outcome == ["finished"]  # and no pass after stopping


async def test_a_pass_can_end_early_when_stopping_is_set() -> None:
    started = asyncio.Event()
    seen: list[bool] = []

    async def work(stopping: asyncio.Event) -> None:
        started.set()
        await stopping.wait()  # e.g. a broadcast between two messages
        seen.append(stopping.is_set())

    async with running(PeriodicWorker("broadcasts", SLOW, work)) as (stopping, task):
        await started.wait()
        stopping.set()
        await asyncio.wait_for(task, PROMPT)
    assert seen == [True]


async def test_a_failing_pass_is_logged_and_the_loop_goes_on(logs: LogCapture) -> None:
    passes = Record()

    async def work(stopping: asyncio.Event) -> None:
        if not passes.items:
            passes.add("failed")
            raise RuntimeError("database down")
        passes.add("worked")

    async with running(PeriodicWorker("nightly sweep", QUICK, work)):
        await passes.reached(3)
    assert passes.items[:3] == ["failed", "worked", "worked"]
    assert logs.at("WARNING") == ["nightly sweep failed: database down"]


async def test_a_store_failure_skips_that_pass_and_the_loop_goes_on(logs: LogCapture) -> None:
    store = FlakyStore(failing_holds=1)
    passes = Record()

    async def work(stopping: asyncio.Event) -> None:
        passes.add(store.holds)

    async with running(PeriodicWorker("retries", QUICK, work, store, turn_key="turn")):
        await passes.reached(1)
    assert passes.items[0] == 2  # no pass without the turn: the first pass followed the 2nd hold
    assert logs.at("WARNING") == ["retries failed: store unreachable"]


async def test_a_failing_release_does_not_fail_the_end_of_the_loop() -> None:
    store = FlakyStore(failing_release=True)
    passes = Record()
    async with running(PeriodicWorker("retries", SLOW, passes, store, turn_key="turn")) as (
        stopping,
        task,
    ):
        await passes.reached(1)
        stopping.set()
        await asyncio.wait_for(task, PROMPT)  # would raise ConnectionError if not suppressed


@pytest.mark.parametrize(
    ("every_seconds", "with_store", "turn_key"),
    [(0, False, None), (-1.0, False, None), (1.0, False, "turn")],
    ids=["zero-period", "negative-period", "turn-without-store"],
)
def test_a_worker_refuses_settings_it_cannot_run(
    every_seconds: float, with_store: bool, turn_key: str | None
) -> None:
    with pytest.raises(ValueError):
        PeriodicWorker(
            "sweep",
            every_seconds,
            Record(),
            MemoryStore() if with_store else None,
            turn_key=turn_key,
        )


def test_each_worker_holds_the_turn_under_an_owner_of_its_own() -> None:
    store = MemoryStore()
    first = PeriodicWorker("sweep", SLOW, Record(), store, turn_key="turn")
    second = PeriodicWorker("sweep", SLOW, Record(), store, turn_key="turn")
    assert first.owner != second.owner


# --- One turn across replicas (in-process store and Redis) -------------------------------------


async def test_only_the_replica_holding_the_turn_works_in_a_period(
    store: SharedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    holds = record_holds(store, monkeypatch)
    first_passes, second_passes = Record(), Record()
    first = PeriodicWorker("sweep", SLOW, first_passes, store, turn_key="turn")
    second = PeriodicWorker("sweep", SLOW, second_passes, store, turn_key="turn")
    async with running(first), running(second):
        await holds.reached(2)
        await (first_passes if dict(holds.items)[first.owner] else second_passes).reached(1)
    assert sorted(held for _, held in holds.items) == [False, True]
    holder = next(owner for owner, held in holds.items if held)
    assert (len(first_passes.items), len(second_passes.items)) == (
        (1, 0) if holder == first.owner else (0, 1)
    )


async def test_the_turn_is_released_when_the_loop_ends_so_a_new_replica_takes_it_at_once(
    store: SharedStore,
) -> None:
    old_passes, new_passes = Record(), Record()
    old = PeriodicWorker("sweep", SLOW, old_passes, store, turn_key="turn")
    async with running(old):
        await old_passes.reached(1)
    # Unreleased, the turn would stay with the old replica for most of a minute.
    new = PeriodicWorker("sweep", SLOW, new_passes, store, turn_key="turn")
    async with running(new):
        await new_passes.reached(1)
        assert not await store.hold("turn", "someone else", 1.0)


async def test_a_replica_without_the_turn_leaves_the_holders_lease_when_it_stops(
    store: SharedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    holds = record_holds(store, monkeypatch)
    holder_passes = Record()
    holder = PeriodicWorker("sweep", SLOW, holder_passes, store, turn_key="turn")
    other = PeriodicWorker("sweep", SLOW, Record(), store, turn_key="turn")
    async with running(holder):
        await holder_passes.reached(1)
        async with running(other):
            await holds.reached(2)
        assert holds.items[1] == (other.owner, False)
        assert not await store.hold("turn", "someone else", 1.0)
