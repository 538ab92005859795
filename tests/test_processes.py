"""`python -m bot` as an operator runs it: the embedded default with only a token, and two
production replicas starting at the same moment on an empty PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import asyncpg
from redis.asyncio import Redis

from tests.conftest import (
    DB_PREFIX,
    REDIS_URL,
    TOKEN,
    free_port,
    fresh_postgres_database,
    worker_number,
)
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent


def bot_environment(**settings: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.isupper()}
    environment.update(PATH=os.environ.get("PATH", ""), HOME=os.environ.get("HOME", "/tmp"))
    environment.update(PYTHONPATH=str(ROOT), TELEGRAM_BOT_TOKEN=TOKEN, LOG_FILE="", **settings)
    return environment


async def spawn(cwd: Path, **settings: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=cwd,
        env=bot_environment(**settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop(process: asyncio.subprocess.Process) -> str:
    """SIGTERM, as docker does; returns what the process logged."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    return stderr.decode()


async def wait_healthy(port: int, process: asyncio.subprocess.Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise AssertionError(f"bot exited with {process.returncode}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)  # waiting on another process: nothing to await but its port
    raise AssertionError(f"/healthz on port {port} did not answer within {timeout}s")


async def test_embedded_default_runs_with_only_a_token(tmp_path: Path) -> None:
    async with FakeTelegram(token=TOKEN) as tg:
        tg.delivery = "polling"
        port = free_port()
        process = await spawn(
            tmp_path, TELEGRAM_API_URL=tg.base_url, PORT=str(port), HOST="127.0.0.1"
        )
        try:
            await tg.wait_call("getMe", timeout=30)
            await tg.wait_call("getUpdates", timeout=30)
            await wait_healthy(port, process)
            user = tg.user(7001, first_name="Olga")
            await user.send_text("/start")
            assert "Hi, Olga!" in (await user.expect("sendMessage", timeout=15)).body
        finally:
            log = await stop(process)
        assert process.returncode == 0, log
        assert (tmp_path / "data" / "bot.sqlite3").exists()
        assert "only ONE replica" in log  # the warning about running without Redis
        assert "ERROR" not in log and "Traceback" not in log, log


async def test_two_replicas_start_at_once_on_an_empty_postgres(tmp_path: Path) -> None:
    database_url = await fresh_postgres_database(f"{DB_PREFIX}_boot_{worker_number()}")
    redis_url = f"{REDIS_URL}/{1 + worker_number() % 15}"
    redis = Redis.from_url(redis_url)
    await redis.flushdb()  # update ids restart with every fake server: forget earlier ones
    await redis.aclose()

    async with FakeTelegram(token=TOKEN) as tg:
        ports = [free_port(), free_port()]
        processes = [
            await spawn(
                tmp_path,
                TELEGRAM_API_URL=tg.base_url,
                DATABASE_URL=database_url,
                REDIS_URL=redis_url,
                WEBHOOK_URL=f"http://127.0.0.1:{port}",
                WEBHOOK_SECRET="boot-secret",
                HOST="127.0.0.1",
                PORT=str(port),
            )
            for port in ports
        ]
        logs: list[str] = []
        try:
            for port, process in zip(ports, processes, strict=True):
                await wait_healthy(port, process)
            await tg.wait_call("setWebhook", timeout=30)  # set once the web app listens
            tg.delivery = "webhook"
            user = tg.user(7002, first_name="Pavel")
            await user.send_text("/start")
            assert "Hi, Pavel!" in (await user.expect("sendMessage", timeout=15)).body
        finally:
            for process in processes:
                logs.append(await stop(process))
    for process, log in zip(processes, logs, strict=True):
        assert process.returncode == 0, log
        assert "Traceback" not in log, log

    connection = await asyncpg.connect(database_url)
    try:
        applied = await connection.fetch("SELECT app, name FROM tortoise_migrations")
        users = await connection.fetchval("SELECT count(*) FROM telegram_users")
    finally:
        await connection.close()
    migration_files = sorted(path.stem for path in (ROOT / "bot" / "migrations").glob("0*.py"))
    assert sorted(row["name"] for row in applied) == migration_files  # each applied once
    assert users == 1


async def test_a_token_telegram_rejects_stops_with_one_clear_line(tmp_path: Path) -> None:
    async with FakeTelegram(token=TOKEN) as tg:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env={
                **bot_environment(TELEGRAM_API_URL=tg.base_url, PORT=str(free_port())),
                "TELEGRAM_BOT_TOKEN": "987654321:revoked-token-of-another-bot-xx",
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    log = stderr.decode()
    assert process.returncode == 2, log
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in log.splitlines()[-1]
    assert "Traceback" not in log
