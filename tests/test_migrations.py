"""Upgrades: a database holding data under the first schema migrates to the latest one (a new
column without a database default would fail here on PostgreSQL, not on an empty database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise import Tortoise, connections
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from bot.db import close_database, migrate_schema, tortoise_config
from bot.models import Prompt, User
from tests.conftest import DB_PREFIX, fresh_postgres_database, worker_number

FIRST = MigrationTarget(app_label="models", name="0001_initial")


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "embedded":
        yield f"sqlite://{tmp_path}/upgrade.sqlite3"
        return
    yield await fresh_postgres_database(f"{DB_PREFIX}_upgrade_{worker_number()}")


async def test_a_database_with_data_upgrades_from_the_first_schema(database_url: str) -> None:
    EXECUTOR_CACHE.clear()
    config = tortoise_config(database_url)
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        connection = connections.get("default")
        await MigrationExecutor(connection, config["apps"]).migrate(targets=[FIRST])
        # Rows as the first release wrote them (raw SQL: today's models have more columns).
        await connection.execute_script(
            "INSERT INTO telegram_users (telegram_id, status, credits, created_at, last_active) "
            "VALUES (42, 'active', 5, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);"
            "INSERT INTO telegram_prompts (telegram_user_id, model_id, prompt, request_id, "
            "status, created_at, updated_at) VALUES (42, 'm-1', 'me', "
            "'6b8f3c1e-0b7a-4c53-9d47-2f1d5e9a1c11', 'ready', CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP)"
        )
        await migrate_schema(config)
        user = await User.get(telegram_id=42)
        assert (user.credits, user.banned_when_erased, user.erased_key) == (5, False, None)
        job = await Prompt.get(user_id=42)
        # Delivered before delivery was tracked: the redelivery sweep must leave it alone.
        assert job.delivered_at is not None and job.delivery_started_at is not None
    finally:
        await close_database()
