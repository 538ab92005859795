"""Wizard state expires after FSM_TTL_HOURS in both set-ups."""

from __future__ import annotations

import time

import pytest
from aiogram.fsm.storage.base import StorageKey
from redis.asyncio import Redis

from bot.fsm import ExpiringMemoryStorage
from bot.states import TrainModel
from tests.conftest import StartBot

KEY = StorageKey(bot_id=1, chat_id=2, user_id=2)


async def test_memory_state_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    storage = ExpiringMemoryStorage(ttl_seconds=3600)
    await storage.set_state(KEY, TrainModel.photos)
    await storage.set_data(KEY, {"photos": ["a"]})
    assert await storage.get_state(KEY) == TrainModel.photos.state
    later = time.monotonic() + 3601
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {}
    assert KEY not in storage.storage


async def test_cleared_records_are_freed() -> None:
    storage = ExpiringMemoryStorage(ttl_seconds=3600)
    await storage.set_state(KEY, TrainModel.name)
    await storage.set_state(KEY, None)
    await storage.set_data(KEY, {})
    assert KEY not in storage.storage


async def test_redis_state_has_the_configured_ttl(backend: str, start_bot: StartBot) -> None:
    if backend == "embedded":
        pytest.skip("Redis only")
    app = await start_bot(fsm_ttl_hours=2)
    key = StorageKey(bot_id=app.bot.id, chat_id=5, user_id=5)
    await app.dispatcher.storage.set_state(key, TrainModel.photos)
    await app.dispatcher.storage.set_data(key, {"photos": ["a"]})
    assert app.redis is not None
    redis: Redis = app.redis
    keys = await redis.keys("fsm:*:5:5:*")
    assert keys
    for name in keys:
        assert 7000 < await redis.ttl(name) <= 7200
