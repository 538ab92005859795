"""FSM storage for the embedded (single-replica) mode: aiogram's MemoryStorage keeps every
record forever; this one forgets a wizard after the same TTL Redis applies in production."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.storage.base import StateType, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage

PURGE_EVERY_WRITES = 1000


class ExpiringMemoryStorage(MemoryStorage):
    def __init__(self, ttl_seconds: float) -> None:
        super().__init__()
        self.ttl_seconds = ttl_seconds
        self._touched: dict[StorageKey, float] = {}
        self._writes = 0

    def _expire(self, key: StorageKey) -> None:
        touched = self._touched.get(key)
        if touched is not None and time.monotonic() - touched > self.ttl_seconds:
            self.storage.pop(key, None)
            self._touched.pop(key, None)

    def _touch(self, key: StorageKey) -> None:
        record = self.storage.get(key)
        if record is None or (record.state is None and not record.data):
            self.storage.pop(key, None)  # nothing left to remember: free the entry
            self._touched.pop(key, None)
        else:
            self._touched[key] = time.monotonic()
        self._writes += 1
        if self._writes % PURGE_EVERY_WRITES == 0:
            for stale in list(self._touched):
                self._expire(stale)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        self._expire(key)
        await super().set_state(key, state)
        self._touch(key)

    async def get_state(self, key: StorageKey) -> str | None:
        self._expire(key)
        record = self.storage.get(key)
        return record.state if record is not None else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        self._expire(key)
        await super().set_data(key, data)
        self._touch(key)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        self._expire(key)
        record = self.storage.get(key)
        return record.data.copy() if record is not None else {}

    async def get_value(
        self, storage_key: StorageKey, dict_key: str, default: Any | None = None
    ) -> Any | None:
        return (await self.get_data(storage_key)).get(dict_key, default)
