"""The harness: a real bot (dispatcher, web app, database, storage) talking HTTP to a fake
Telegram Bot API server. Every test runs on both set-ups:

- `embedded`: SQLite + in-memory FSM, long polling (what `python -m bot` does with only a token);
- `replicas`: PostgreSQL + Redis, webhook (the production set-up).

Each xdist worker gets its own PostgreSQL database and Redis database number.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from loguru import logger
from redis.asyncio import Redis
from tortoise.backends.base.executor import EXECUTOR_CACHE

from bot.app import BotApp, build
from bot.config import Settings
from bot.db import close_database, init_database
from bot.log import route_standard_logging
from tests.fakes.n8n import FakeN8N
from tests.fakes.telegram import FakeTelegram

TOKEN = "123456789:TEST-token-for-the-fake-bot-api"
ADMIN_ID = 900_000_001
WEBHOOK_SECRET = "test-webhook-secret"
PG_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
# Lets two test runs share one PostgreSQL server without touching each other's databases.
DB_PREFIX = os.environ.get("TEST_DB_PREFIX", "portrait_test")

BACKENDS = ("embedded", "replicas")


def worker_number() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def services_reachable() -> str | None:
    """None when PostgreSQL and Redis answer, else what is missing."""
    try:
        connection = await asyncpg.connect(PG_DSN, timeout=3)
        await connection.close()
    except (OSError, asyncpg.PostgresError) as error:
        return f"PostgreSQL at {PG_DSN} is unreachable ({error})"
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()  # type: ignore[misc]
    except Exception as error:
        return f"Redis at {REDIS_URL} is unreachable ({error})"
    finally:
        await redis.aclose()
    return None


async def fresh_postgres_database(name: str) -> str:
    """An empty PostgreSQL database of that name (dropped first); skipped locally, failed on CI,
    when PostgreSQL or Redis is missing. Returns its URL."""
    missing = await services_reachable()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    admin = await asyncpg.connect(PG_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return PG_DSN.rsplit("/", 1)[0] + f"/{name}"


def schema_version() -> str:
    """Changes whenever a migration file changes, so test databases never keep an old schema."""
    digest = hashlib.sha256()
    for path in sorted((Path(__file__).parent.parent / "bot" / "migrations").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


async def worker_database() -> str:
    """This worker's own PostgreSQL database, created once per schema, emptied before each test."""
    prefix = f"{DB_PREFIX}_{worker_number()}_"
    name = prefix + schema_version()
    admin = await asyncpg.connect(PG_DSN)
    try:
        existing = [
            row["datname"]
            for row in await admin.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%"
            )
        ]
        for stale in set(existing) - {name}:
            await admin.execute(f'DROP DATABASE "{stale}" WITH (FORCE)')
        if name not in existing:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = PG_DSN.rsplit("/", 1)[0] + f"/{name}"
    connection = await asyncpg.connect(url)
    try:
        present = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT LIKE 'tortoise%'"
        )
        if present:
            tables = ", ".join(row["tablename"] for row in present)
            await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()
    return url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as fake:
        fake.user(ADMIN_ID, first_name="Admin")  # the admin's chat exists, as in real life
        yield fake


@pytest.fixture
async def base_settings(backend: str, tmp_path: Path, tg: FakeTelegram) -> Settings:
    settings = Settings(
        telegram_bot_token=TOKEN,
        telegram_api_url=tg.base_url,
        host="127.0.0.1",
        port=free_port(),
        admin_ids=frozenset({ADMIN_ID}),
        log_file=None,
        database_url=f"sqlite://{tmp_path}/bot.sqlite3",
    )
    if backend == "embedded":
        tg.delivery = "polling"
        return settings
    missing = await services_reachable()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    redis_db = 1 + worker_number() % 15
    redis = Redis.from_url(f"{REDIS_URL}/{redis_db}")
    await redis.flushdb()
    await redis.aclose()
    tg.delivery = "webhook"
    return replace(
        settings,
        database_url=await worker_database(),
        redis_url=f"{REDIS_URL}/{redis_db}",
        webhook_url=f"http://127.0.0.1:{settings.port}",
        webhook_secret=WEBHOOK_SECRET,
    )


class Replicas:
    """Starts bot replicas (with optional setting overrides) and stops them after the test."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.running: dict[int, tuple[BotApp, asyncio.Task[None] | None]] = {}
        self.database_ready = False

    async def __call__(self, **overrides: Any) -> BotApp:
        settings = replace(self.settings, **overrides) if overrides else self.settings
        if self.running and "port" not in overrides:
            settings = replace(settings, port=free_port())
        if not self.database_ready:
            # Tortoise caches SQL per (connection name, table), not per dialect; tests switch
            # between SQLite and PostgreSQL in one process.
            EXECUTOR_CACHE.clear()
            await init_database(self.settings.database_url)
            self.database_ready = True
        app = build(settings, owns_database=False)
        await app.start()
        polling = None
        if not settings.uses_webhook:
            polling_started = asyncio.Event()

            async def on_startup() -> None:
                polling_started.set()

            app.dispatcher.startup.register(on_startup)
            polling = asyncio.create_task(app.poll())
            await polling_started.wait()
        self.running[id(app)] = (app, polling)
        return app

    async def stop(self, app: BotApp) -> None:
        app, polling = self.running.pop(id(app))
        if polling is not None:
            await app.dispatcher.stop_polling()
            await polling
        await app.stop()

    async def stop_all(self) -> None:
        try:
            for app, _ in list(self.running.values()):
                await self.stop(app)
        finally:
            if self.database_ready:
                await close_database()


StartBot = Replicas


@pytest.fixture
async def start_bot(base_settings: Settings) -> AsyncIterator[Replicas]:
    replicas = Replicas(base_settings)
    yield replicas
    await replicas.stop_all()


@pytest.fixture
async def bot_app(start_bot: StartBot) -> BotApp:
    return await start_bot()


@pytest.fixture
async def n8n() -> AsyncIterator[FakeN8N]:
    async with FakeN8N(secret="n8n-test-secret") as fake:
        yield fake


@pytest.fixture
def trainer_settings(base_settings: Settings, n8n: FakeN8N) -> dict[str, Any]:
    """Overrides that connect a replica to the fake N8N, with quick retries for tests."""
    return {
        "api_base_url": n8n.base_url,
        "n8n_secret": n8n.secret,
        "callback_base_url": f"http://127.0.0.1:{base_settings.port}",
        "n8n_timeout_seconds": 3.0,
        "n8n_backoff_seconds": 0.05,
        "album_settle_seconds": 0.3,
        "flood_messages_per_second": 100,
    }


class LogCapture:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def sink(self, message: Any) -> None:
        self.records.append(message.record)

    def at(self, level: str) -> list[str]:
        return [record["message"] for record in self.records if record["level"].name == level]


@pytest.fixture(autouse=True)
def logs(request: pytest.FixtureRequest) -> Iterator[LogCapture]:
    """Collects log records; a test fails on any ERROR it did not ask for (`expects_errors`)."""
    capture = LogCapture()
    handler_id = logger.add(capture.sink, level="DEBUG")
    yield capture
    logger.remove(handler_id)
    if request.node.get_closest_marker("expects_errors") is None:
        errors = capture.at("ERROR") + capture.at("CRITICAL")
        assert not errors, f"unexpected ERROR log lines: {errors}"


def pytest_configure(config: pytest.Config) -> None:
    route_standard_logging()  # aiogram's and aiohttp's own ERROR lines count too
    config.addinivalue_line(
        "markers", "expects_errors: the test provokes ERROR log lines on purpose"
    )
