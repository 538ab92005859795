"""Database lifecycle: Tortoise set-up, schema migrations at start-up, readiness ping."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from loguru import logger
from tortoise import Tortoise, connections
from tortoise.migrations.executor import MigrationExecutor

from bot.config import DEFAULT_DATABASE_URL

APP_LABEL = "models"
# Any fixed 64-bit number: every replica takes this PostgreSQL advisory lock while migrating.
MIGRATION_LOCK_ID = 0x504F525452414954  # "PORTRAIT"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
        "apps": {
            APP_LABEL: {
                "models": ["bot.models"],
                "migrations": "bot.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# Read by `python -m tortoise makemigrations / migrate` through [tool.tortoise] in pyproject.toml.
TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgres://", "postgresql://", "asyncpg://", "psycopg://"))


def _ensure_sqlite_directory(database_url: str) -> None:
    if not database_url.startswith("sqlite://"):
        return
    path = database_url.removeprefix("sqlite://").split("?", 1)[0]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


async def init_database(database_url: str) -> None:
    """Connect and bring the schema up to date (safe when several replicas start at once)."""
    _ensure_sqlite_directory(database_url)
    config = tortoise_config(database_url)
    # Global fallback: handlers run in tasks that aiohttp and aiogram create, not in this one.
    await Tortoise.init(config=config, _enable_global_fallback=True)
    await migrate_schema(config)


async def migrate_schema(config: dict[str, Any]) -> None:
    connection = connections.get("default")
    executor = MigrationExecutor(connection, config["apps"])
    if not is_postgres(config["connections"]["default"]):
        await executor.migrate()
        return
    # Two `migrate` runs at once on an empty database collide on tortoise_migrations,
    # so replicas queue on an advisory lock held by one dedicated connection.
    async with connection.acquire_connection() as lock_connection:
        await lock_connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
        try:
            await executor.migrate()
        finally:
            await lock_connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
    logger.debug("database schema is up to date")


async def close_database() -> None:
    await Tortoise.close_connections()


async def ping_database() -> bool:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as error:
        logger.warning("database ping failed: {}", error)
        return False
    return True
