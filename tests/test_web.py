"""The web app: health, readiness, the webhook's secret, the N8N routes' secret."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from bot.models import User
from bot.services.shared import RedisStore
from bot.web import health
from tests.conftest import WEBHOOK_SECRET, StartBot
from tests.fakes.telegram import FakeTelegram


def base_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


async def test_health_and_readiness(start_bot: StartBot) -> None:
    app = await start_bot()
    async with aiohttp.ClientSession(base_url(app.settings.port)) as http:
        async with http.get("/healthz") as response:
            assert response.status == 200
        async with http.get("/readyz") as response:
            assert response.status == 200
            assert await response.json() == {"status": "ok", "database": True, "store": True}


async def test_readiness_fails_when_redis_is_unreachable(start_bot: StartBot) -> None:
    await start_bot()  # the database is up
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    web_app = web.Application()
    web_app[health.STORE_KEY] = RedisStore(unreachable, prefix="test:")
    web_app.add_routes(health.routes)
    async with TestClient(TestServer(web_app)) as http:
        response = await http.get("/readyz")
        assert response.status == 503
        assert await response.json() == {"status": "unavailable", "database": True, "store": False}
    await unreachable.aclose()


async def test_webhook_with_a_wrong_secret_is_refused(
    backend: str, start_bot: StartBot, tg: FakeTelegram
) -> None:
    if backend == "embedded":
        pytest.skip("polling mode serves no webhook")
    await start_bot()
    intruder = {
        "update_id": tg.next_update_id(),
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": 5001, "type": "private", "first_name": "Mallory"},
            "from": {"id": 5001, "is_bot": False, "first_name": "Mallory"},
            "text": "/start",
        },
    }
    assert await tg.post_webhook(intruder, secret="not-the-secret") == 401
    assert await tg.post_webhook(intruder, secret=None) == 401
    witness = tg.user(5002)
    await witness.send_text("/start")
    await witness.expect("sendMessage")
    assert await User.get_or_none(telegram_id=5001) is None
    assert tg.events(5001) == []


async def test_webhook_is_set_once_and_never_dropped(
    backend: str, start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot()
    if backend == "embedded":
        assert [call.method for call in tg.calls if "ebhook" in call.method] == ["deleteWebhook"]
        delete = next(call for call in tg.calls if call.method == "deleteWebhook")
        assert delete.params.get("drop_pending_updates") in (None, False)
        return
    await start_bot()  # a second replica, same configuration: it must not set it again
    sets = [call for call in tg.calls if call.method == "setWebhook"]
    assert len(sets) == 1
    assert sets[0].params["url"].endswith("/webhook")
    assert sets[0].params.get("drop_pending_updates") in (None, False)
    assert sets[0].params["secret_token"] == WEBHOOK_SECRET
    assert not [call for call in tg.calls if call.method == "deleteWebhook"]


async def test_n8n_routes_need_the_secret(start_bot: StartBot) -> None:
    closed = await start_bot()
    async with (
        aiohttp.ClientSession(base_url(closed.settings.port)) as http,
        http.post("/n8n/model-status", json={}) as response,
    ):
        assert response.status == 503
    await start_bot.stop(closed)  # one poller per token, as with real Telegram
    opened = await start_bot(n8n_secret="n8n-shared-secret")
    async with aiohttp.ClientSession(base_url(opened.settings.port)) as http:
        async with http.post(
            "/n8n/model-status", json={}, headers={"X-N8N-Secret": "guess"}
        ) as response:
            assert response.status == 401
        async with http.post("/n8n/model-status", json={}) as response:
            assert response.status == 401


N8N_SECRET = "n8n-shared-secret"
N8N_PATHS = ("/n8n/model-status", "/n8n/prompt-status", "/n8n/credits")


async def post_n8n(http: aiohttp.ClientSession, path: str, **options: Any) -> tuple[int, Any]:
    """POST with the right secret (`json=` or `data=`, `headers=` added); status and JSON answer."""
    headers = {"X-N8N-Secret": N8N_SECRET, **options.pop("headers", {})}
    async with http.post(path, headers=headers, **options) as response:
        return response.status, await response.json()


def bad(message: str) -> tuple[int, Any]:
    return 400, {"error": message}


async def raw_post(port: int, path: str, secret: bytes, body: bytes) -> tuple[int, Any]:
    """POST with the secret header's bytes exactly as given (aiohttp's client would encode)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n".encode()
        + b"X-N8N-Secret: "
        + secret
        + b"\r\n\r\n"
        + body
    )
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, payload = response.partition(b"\r\n\r\n")
    try:
        answer = json.loads(payload)
    except ValueError:  # aiohttp's own plain-text 500 page
        answer = payload.decode(errors="replace")
    return int(head.split(b" ")[1]), answer


async def test_a_secret_header_that_is_not_ascii_is_401(start_bot: StartBot) -> None:
    """aiohttp passes header bytes that are not UTF-8 on as lone surrogates; comparing them
    must not fail with a 500 (an ERROR line would fail this test too)."""
    app = await start_bot(n8n_secret=N8N_SECRET)
    port = app.settings.port
    secret = N8N_SECRET.encode()
    for given in (
        b"\xff\xfe",
        b"\x80",
        secret + b"\xff",
        b"\xc3" + secret,
        "n8n-shared-sécret".encode(),
        secret + "é".encode(),
        "n8n-shared-sécret".encode("latin-1"),
    ):
        for path in N8N_PATHS:
            answer = await raw_post(port, path, given, b"{}")
            assert answer == (401, {"error": "bad or missing X-N8N-Secret"}), (given, path)
    answer = await raw_post(port, "/n8n/model-status", secret, b"{}")
    assert answer == (400, {"error": "model_id: Field required; status: Field required"})


async def test_a_bad_n8n_body_is_400_naming_the_field(start_bot: StartBot) -> None:
    app = await start_bot(n8n_secret=N8N_SECRET, images_per_prompt=2)
    url = "https://images.example.org/a.png"
    model = {"model_id": "tune-1", "status": "ready"}
    prompt = {"prompt_id": "prompt-1", "status": "ready"}
    grant = {"telegram_id": 8006, "amount": 40, "reference": "promo-42"}
    async with aiohttp.ClientSession(base_url(app.settings.port)) as http:

        async def post(path: str, body: Any) -> tuple[int, Any]:
            return await post_n8n(http, path, json=body)

        assert await post("/n8n/model-status", {**model, "model_id": "m" * 129}) == bad(
            "model_id: String should have at most 128 characters"
        )
        assert await post("/n8n/model-status", {**model, "model_id": "m" * 128}) == (
            404,
            {"error": "unknown model_id"},
        )
        assert await post(
            "/n8n/model-status", {**model, "status": "done", "request_id": "nope"}
        ) == bad(
            "request_id: Input should be a valid UUID; "
            "status: Input should be 'training', 'ready' or 'failed'"
        )
        assert await post(
            "/n8n/model-status", {**model, "status": "failed", "error": "e" * 1001}
        ) == bad("error: String should have at most 1000 characters")

        # IMAGES_PER_PROMPT is 2 here: up to 4 images pass, 5 do not.
        assert await post("/n8n/prompt-status", {**prompt, "images": [url] * 5}) == bad(
            "images: List should have at most 4 items, not 5"
        )
        assert await post("/n8n/prompt-status", {**prompt, "images": [url] * 4}) == (
            404,
            {"error": "unknown prompt_id"},
        )
        assert await post(
            "/n8n/prompt-status", {**prompt, "images": [url, "ftp://example.org/b.png"]}
        ) == bad("images[1]: Input should be an http(s) URL")
        assert await post(
            "/n8n/prompt-status", {**prompt, "images": ["https://" + "a" * 2041]}
        ) == bad("images[0]: String should have at most 2048 characters")
        assert await post("/n8n/prompt-status", {**prompt, "prompt_id": " "}) == bad(
            "prompt_id: String should have at least 1 character"
        )

        assert await post(
            "/n8n/credits", {"telegram_id": True, "amount": "40", "reference": " "}
        ) == bad(
            "telegram_id: Input should be a valid integer; amount: Input should be a valid "
            "integer; reference: String should have at least 1 character"
        )
        assert await post("/n8n/credits", {**grant, "reference": "r" * 129}) == bad(
            "reference: String should have at most 128 characters"
        )
        assert await post("/n8n/credits", {**grant, "amount": 1_000_001}) == bad(
            "amount: Input should be less than or equal to 1000000"
        )

        unknown_charset = {"Content-Type": "application/json; charset=no-such-charset"}
        for path in N8N_PATHS:
            assert await post(path, [model]) == bad("body must be a JSON object"), path
            assert await post(path, "text") == bad("body must be a JSON object"), path
            for data in (b"not json", b"", b"\xff{}", b"[" * 100_000):
                answer = await post_n8n(http, path, data=data)
                assert answer == bad("body is not JSON"), (path, data[:10])
            answer = await post_n8n(http, path, data=b"{}", headers=unknown_charset)
            assert answer == bad("body is not JSON"), path


async def test_a_rotated_webhook_secret_reaches_telegram(
    backend: str, start_bot: StartBot, tg: FakeTelegram
) -> None:
    if backend == "embedded":
        pytest.skip("polling mode sets no webhook")
    old = await start_bot()
    await start_bot.stop(old)  # the redeploy with a new secret replaces the replica
    await start_bot(webhook_secret="rotated-secret")  # getWebhookInfo cannot show a secret
    sets = [call for call in tg.calls if call.method == "setWebhook"]
    assert [call.params["secret_token"] for call in sets] == [WEBHOOK_SECRET, "rotated-secret"]
    user = tg.user(5003)
    await user.send_text("/help")
    assert "What I can do" in (await user.expect("sendMessage")).body


async def test_a_stopping_replica_reports_not_ready(start_bot: StartBot) -> None:
    app = await start_bot()
    app.lifecycle.draining = True  # what stop() sets first, before it stops listening
    async with (
        aiohttp.ClientSession(base_url(app.settings.port)) as http,
        http.get("/readyz") as response,
    ):
        assert response.status == 503
        assert (await response.json())["draining"] is True
