"""Broadcast delivery rate against the fake Bot API with a simulated Telegram answer time,
on SQLite + memory, and on PostgreSQL + Redis with two replicas both asked to deliver (one
holds the lease at a time) when they answer.

    python bench/broadcast.py [--users 500] [--latency-ms 0 40 100]

Prints messages per second (the cap is broadcasts.MESSAGES_PER_SECOND across replicas) and
the largest number of messages Telegram received within any one wall-clock second.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis
from tortoise.backends.base.executor import EXECUTOR_CACHE

from bench.updates import TOKEN, free_port, fresh_bench_database
from bot.app import BotApp, build
from bot.config import Settings
from bot.db import close_database, init_database
from bot.models import Broadcast, BroadcastStatus, User
from bot.outbound import broadcasts as outbound_broadcasts
from bot.services import broadcasts
from tests.fakes.telegram import FakeTelegram

REDIS = "redis://127.0.0.1:6379/14"
ADMIN = 1


def slow_send_message(tg: FakeTelegram, latency: float) -> None:
    original = tg._handlers["sendMessage"]

    async def send(params: Any, call: Any) -> Any:
        await asyncio.sleep(latency)
        return await original(params, call)

    tg.on("sendMessage", send)


async def measure(name: str, settings: Settings, users: int, latency: float, replicas: int) -> None:
    async with FakeTelegram(token=TOKEN) as tg:
        tg.delivery = "webhook" if settings.webhook_url else "polling"
        settings = Settings(**{**settings.__dict__, "telegram_api_url": tg.base_url})
        EXECUTOR_CACHE.clear()
        await init_database(settings.database_url)
        await User.all().delete()
        await Broadcast.all().delete()
        await User.bulk_create([User(telegram_id=ADMIN + n) for n in range(users)])
        for n in range(users):
            tg.user(ADMIN + n)
        slow_send_message(tg, latency)
        apps: list[BotApp] = []
        for index in range(replicas):
            port = settings.port if index == 0 else free_port()
            app = build(Settings(**{**settings.__dict__, "port": port}), owns_database=False)
            await app.start()
            apps.append(app)
        broadcast = await broadcasts.start(
            admin_id=ADMIN,
            nonce=uuid.uuid4().hex,
            text="Bench",
            progress_chat_id=None,
            progress_message_id=None,
        )
        started = time.perf_counter()
        await asyncio.gather(
            *(outbound_broadcasts.deliver(app.outbox, broadcast.id, app.stopping) for app in apps)
        )
        elapsed = time.perf_counter() - started
        # deliver() returns when done on the replica holding the lease (at once on the other).
        assert (await Broadcast.get(id=broadcast.id)).status == BroadcastStatus.DONE
        sends = [
            call
            for call in tg.calls
            if call.method == "sendMessage" and call.params.get("text") == "Bench"
        ]
        busiest = max(Counter(int(call.time) for call in sends).values())
        for app in apps:
            await app.stop()
        await close_database()
        print(
            f"{name:>26}, Telegram answers in {latency * 1000:5.0f} ms: "
            f"{len(sends) / elapsed:5.1f} messages/s over {len(sends)} users, "
            f"busiest second {busiest} (cap {broadcasts.MESSAGES_PER_SECOND})"
        )


async def main(users: int, latencies: list[float]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        embedded = Settings(
            telegram_bot_token=TOKEN,
            database_url=f"sqlite://{tmp}/bench.sqlite3",
            host="127.0.0.1",
            port=free_port(),
            log_file=None,
        )
        for latency in latencies:
            await measure("SQLite+memory, 1 replica", embedded, users, latency, 1)
    bench_database = await fresh_bench_database()
    if bench_database is None:
        return
    port = free_port()
    shared = Settings(
        telegram_bot_token=TOKEN,
        database_url=bench_database,
        redis_url=REDIS,
        webhook_url=f"http://127.0.0.1:{port}",
        webhook_secret="bench",
        host="127.0.0.1",
        port=port,
        log_file=None,
    )
    for latency in latencies:
        redis = Redis.from_url(REDIS)
        await redis.flushdb()
        await redis.aclose()
        await measure("PostgreSQL+Redis, 2 replicas", shared, users, latency, 2)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0, 40, 100])
    arguments = parser.parse_args()
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    asyncio.run(main(arguments.users, [ms / 1000 for ms in arguments.latency_ms]))
