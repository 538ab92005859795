"""Collecting the items of an album (media group) that arrive as separate updates.

In production the items land on different replicas at the same moment. Every replica
appends its item to a Redis list; the first to claim the album becomes its owner and, in a
background task (never under the user's isolation lock), waits until no new item has arrived
for a moment, then takes all items at once. Taking the items and releasing ownership is one
transaction, so a straggler either is in that batch or starts a new one: nothing is lost.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Protocol

from redis.asyncio import Redis

ALBUM_TTL_SECONDS = 300
MAX_SETTLE_ROUNDS = 20


class AlbumCollector(Protocol):
    async def add(self, album_key: str, item: dict[str, Any]) -> bool:
        """Store `item`; True when the caller became the owner who must call `collect`."""

    async def collect(self, album_key: str, settle_seconds: float) -> list[dict[str, Any]]:
        """Wait until the album settles, then take (and forget) its items."""


class RedisAlbumCollector:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def _keys(self, album_key: str) -> tuple[str, str]:
        return f"{self.prefix}album:{album_key}:items", f"{self.prefix}album:{album_key}:owner"

    async def add(self, album_key: str, item: dict[str, Any]) -> bool:
        items, owner = self._keys(album_key)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(items, json.dumps(item))
            pipe.expire(items, ALBUM_TTL_SECONDS)
            pipe.set(owner, 1, nx=True, ex=ALBUM_TTL_SECONDS)
            _, _, claimed = await pipe.execute()
        return bool(claimed)

    async def collect(self, album_key: str, settle_seconds: float) -> list[dict[str, Any]]:
        items, owner = self._keys(album_key)
        seen = -1
        for _ in range(MAX_SETTLE_ROUNDS):
            count = int(await self.redis.llen(items))  # type: ignore[misc]  # redis-py: Awaitable[int] | int
            if count == seen:
                break
            seen = count
            await asyncio.sleep(settle_seconds)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrange(items, 0, -1)
            pipe.delete(items)
            pipe.delete(owner)
            raw, _, _ = await pipe.execute()
        return [json.loads(entry) for entry in raw]


class MemoryAlbumCollector:
    """Single-replica stand-in (embedded mode)."""

    def __init__(self) -> None:
        self._items: dict[str, list[dict[str, Any]]] = {}

    async def add(self, album_key: str, item: dict[str, Any]) -> bool:
        owned = album_key in self._items
        self._items.setdefault(album_key, []).append(item)
        return not owned

    async def collect(self, album_key: str, settle_seconds: float) -> list[dict[str, Any]]:
        seen = -1
        for _ in range(MAX_SETTLE_ROUNDS):
            count = len(self._items.get(album_key, []))
            if count == seen:
                break
            seen = count
            await asyncio.sleep(settle_seconds)
        return self._items.pop(album_key, [])
