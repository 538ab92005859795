"""Small shared-state primitives that every replica sees (Redis), or an in-process
stand-in for the single-replica embedded mode."""

from __future__ import annotations

import time
from typing import Protocol

from redis.asyncio import Redis

HOLD_SCRIPT = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
end
return 0
"""


class SharedStore(Protocol):
    async def claim(self, key: str, ttl_seconds: float) -> bool:
        """Set `key` if absent (SET NX with expiry). True for the one caller that set it."""

    async def count(self, key: str, ttl_seconds: float) -> int:
        """Increment a counter that expires `ttl_seconds` after its first increment."""

    async def hold(self, key: str, owner: str, ttl_seconds: float) -> bool:
        """Take or renew a lease: set `key` to `owner` with expiry unless another owner holds
        it. True while `owner` holds the lease (one holder at a time)."""

    async def release(self, key: str) -> None:
        """Forget `key`."""

    async def release_held(self, key: str, owner: str) -> None:
        """End a lease taken with `hold`, only if `owner` still holds it."""

    async def pace(self, key: str, interval_seconds: float) -> float:
        """Reserve the next slot of a schedule shared by every caller, slots `interval_seconds`
        apart; returns how long to wait until that slot (0 when it is now)."""

    async def get(self, key: str) -> str | None:
        """The value stored with `put`, if any."""

    async def put(self, key: str, value: str) -> None:
        """Store a value without expiry."""

    async def ping(self) -> bool:
        """Whether the store is reachable."""


# Deletes the lease only if its value is still this holder's (compare and delete, atomically).
RELEASE_HELD_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


# The next free slot of a shared schedule, in microseconds of Redis's clock (one clock for all
# replicas); the key expires once the schedule is idle.
PACE_SCRIPT = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now_us then slot = now_us end
redis.call('SET', KEYS[1], string.format('%.0f', slot + tonumber(ARGV[1])), 'PX', 60000)
return slot - now_us
"""


class RedisStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        return bool(await self.redis.set(self.prefix + key, 1, nx=True, px=int(ttl_seconds * 1000)))

    async def count(self, key: str, ttl_seconds: float) -> int:
        full_key = self.prefix + key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(full_key)
            pipe.pexpire(full_key, int(ttl_seconds * 1000), nx=True)
            value, _ = await pipe.execute()
        return int(value)

    async def hold(self, key: str, owner: str, ttl_seconds: float) -> bool:
        # One script: reading the holder and renewing must not interleave with another replica.
        held = await self.redis.eval(  # type: ignore[misc]  # redis-py: eval() -> Awaitable[str] | str
            HOLD_SCRIPT, 1, self.prefix + key, owner, int(ttl_seconds * 1000)
        )
        return bool(held)

    async def release(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)

    async def release_held(self, key: str, owner: str) -> None:
        await self.redis.eval(RELEASE_HELD_SCRIPT, 1, self.prefix + key, owner)  # type: ignore[misc]  # redis-py: eval() -> Awaitable[str] | str

    async def pace(self, key: str, interval_seconds: float) -> float:
        wait_us = await self.redis.eval(  # type: ignore[misc]  # redis-py: eval() -> Awaitable[str] | str
            PACE_SCRIPT, 1, self.prefix + key, int(interval_seconds * 1_000_000)
        )
        return int(wait_us) / 1_000_000

    async def get(self, key: str) -> str | None:
        value = await self.redis.get(self.prefix + key)
        return value.decode() if isinstance(value, bytes) else value

    async def put(self, key: str, value: str) -> None:
        await self.redis.set(self.prefix + key, value)

    async def ping(self) -> bool:
        return bool(await self.redis.ping())  # type: ignore[misc]  # redis-py: Awaitable[bool] | bool


class MemoryStore:
    """Single-process stand-in: bounded, expiring; only for the one-replica embedded mode."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._values: dict[str, tuple[int, float]] = {}
        self._texts: dict[str, str] = {}
        self._slots: dict[str, float] = {}  # pace(): one entry per schedule, a handful at most
        self._max_keys = max_keys

    def _live(self, key: str) -> tuple[int, float] | None:
        entry = self._values.get(key)
        if entry is not None and entry[1] <= time.monotonic():
            del self._values[key]
            return None
        return entry

    def _make_room(self) -> None:
        if len(self._values) < self._max_keys:
            return
        now = time.monotonic()
        for key in [k for k, (_, expires) in self._values.items() if expires <= now]:
            del self._values[key]
        while len(self._values) >= self._max_keys:  # still full: drop the oldest entries
            del self._values[next(iter(self._values))]

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        if self._live(key) is not None:
            return False
        self._make_room()
        self._values[key] = (1, time.monotonic() + ttl_seconds)
        return True

    async def count(self, key: str, ttl_seconds: float) -> int:
        entry = self._live(key)
        if entry is None:
            self._make_room()
            entry = (0, time.monotonic() + ttl_seconds)
        value = entry[0] + 1
        self._values[key] = (value, entry[1])
        return value

    async def hold(self, key: str, owner: str, ttl_seconds: float) -> bool:
        # The expiry lives in _values, the holder's name in _texts (release forgets both).
        if self._live(key) is not None and self._texts.get(key) != owner:
            return False
        self._make_room()
        self._values[key] = (1, time.monotonic() + ttl_seconds)
        self._texts[key] = owner
        return True

    async def release(self, key: str) -> None:
        self._values.pop(key, None)
        self._texts.pop(key, None)

    async def release_held(self, key: str, owner: str) -> None:
        if self._texts.get(key) == owner:
            await self.release(key)

    async def pace(self, key: str, interval_seconds: float) -> float:
        now = time.monotonic()
        slot = max(now, self._slots.get(key, 0.0))
        self._slots[key] = slot + interval_seconds
        return slot - now

    async def get(self, key: str) -> str | None:
        return self._texts.get(key)

    async def put(self, key: str, value: str) -> None:
        self._texts[key] = value

    async def ping(self) -> bool:
        return True
