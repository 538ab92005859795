"""Throughput of the update pipeline (dedup → user → locale → flood → router → reply) against
the fake Bot API, on the embedded set-up and on PostgreSQL + Redis when they answer.

    python bench/updates.py [--users 200] [--rounds 3]

Prints updates per second and reply latency percentiles for each set-up.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from tortoise.backends.base.executor import EXECUTOR_CACHE

from bot.app import build
from bot.config import Settings
from bot.db import close_database, init_database
from tests.fakes.telegram import FakeTelegram

TOKEN = "123456789:BENCH-token-for-the-fake-bot-api"
PG = "postgres://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def fresh_bench_database() -> str | None:
    """An empty PostgreSQL database for a bench run, or None (said) when PostgreSQL is down."""
    try:
        admin = await asyncpg.connect(PG)
        await admin.execute('DROP DATABASE IF EXISTS "portrait_bench" WITH (FORCE)')
        await admin.execute('CREATE DATABASE "portrait_bench"')
        await admin.close()
    except OSError as error:
        print(f"PostgreSQL unavailable, skipped: {error}")
        return None
    return PG.rsplit("/", 1)[0] + "/portrait_bench"


async def measure(name: str, settings: Settings, tg: FakeTelegram, users: int, rounds: int) -> None:
    EXECUTOR_CACHE.clear()
    await init_database(settings.database_url)
    app = build(settings, owns_database=False)
    await app.start()
    polling = None if settings.uses_webhook else asyncio.create_task(app.poll())
    latencies: list[float] = []
    started = time.perf_counter()
    base = 10_000_000 * (1 + len(name))
    for round_number in range(rounds):

        async def one(index: int, round_number: int = round_number) -> None:
            user = tg.user(base + round_number * users + index)
            sent = time.perf_counter()
            await user.send_text("/help")
            await user.expect("sendMessage", timeout=60)
            latencies.append(time.perf_counter() - sent)

        await asyncio.gather(*(one(index) for index in range(users)))
    elapsed = time.perf_counter() - started
    if polling is not None:
        await app.dispatcher.stop_polling()
        await polling
    await app.stop()
    await close_database()
    total = users * rounds
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"{name:>22}: {total / elapsed:7.1f} updates/s over {total} updates "
        f"(new users each); reply latency p50 {quantiles[49] * 1000:6.1f} ms, "
        f"p95 {quantiles[94] * 1000:6.1f} ms"
    )


async def main(users: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegram(token=TOKEN) as tg:
            tg.delivery = "polling"
            embedded = Settings(
                telegram_bot_token=TOKEN,
                telegram_api_url=tg.base_url,
                database_url=f"sqlite://{tmp}/bench.sqlite3",
                host="127.0.0.1",
                port=free_port(),
                log_file=None,
                flood_messages_per_second=1000,
            )
            await measure("SQLite+memory, polling", embedded, tg, users, rounds)
        bench_database = await fresh_bench_database()
        if bench_database is None:
            return
        async with FakeTelegram(token=TOKEN) as tg:
            tg.delivery = "webhook"
            port = free_port()
            replicas = Settings(
                telegram_bot_token=TOKEN,
                telegram_api_url=tg.base_url,
                database_url=bench_database,
                redis_url="redis://127.0.0.1:6379/15",
                webhook_url=f"http://127.0.0.1:{port}",
                webhook_secret="bench",
                host="127.0.0.1",
                port=port,
                log_file=None,
                flood_messages_per_second=1000,
            )
            from redis.asyncio import Redis

            redis = Redis.from_url("redis://127.0.0.1:6379/15")
            await redis.flushdb()
            await redis.aclose()
            await measure("PostgreSQL+Redis, hook", replicas, tg, users, rounds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    asyncio.run(main(arguments.users, arguments.rounds))
