"""Self-tests of the fake N8N, driven by a plain aiohttp client over HTTP."""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image

from tests.fakes.n8n import MAX_PAYLOAD, FakeN8N, jpeg_data_url, png_image

SECRET = "n8n-test-secret"
AUTH = {"X-N8N-Secret": SECRET}
CALLBACK = "http://127.0.0.1:9/n8n/callback"


@pytest.fixture
async def fake() -> AsyncIterator[FakeN8N]:
    async with FakeN8N(secret=SECRET) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
        yield client


class Receiver:
    """A tiny stand-in for the bot's callback endpoint."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.json_response({"ok": self.status < 300}, status=self.status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver()
    app = web.Application()
    app.router.add_post("/n8n/{kind}", target.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    target.url = f"http://127.0.0.1:{runner.addresses[0][1]}/n8n"
    yield target
    await runner.cleanup()


def train_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "request_id": str(uuid.uuid4()),
        "telegram_id": 42,
        "model_name": "Ann",
        "model_type": "woman",
        "images": [jpeg_data_url(), jpeg_data_url((10, 20, 30))],
        "callback_url": f"{CALLBACK}/train",
    }
    body.update(overrides)
    return body


def generate_body(model_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "request_id": str(uuid.uuid4()),
        "telegram_id": 42,
        "model_id": model_id,
        "model_type": "woman",
        "prompt": "a portrait in the style of Rembrandt",
        "num_images": 4,
        "callback_url": f"{CALLBACK}/generate",
    }
    body.update(overrides)
    return body


async def post(
    session: aiohttp.ClientSession,
    fake: FakeN8N,
    endpoint: str,
    body: Any,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    async with session.post(
        f"{fake.base_url}/{endpoint}", json=body, headers=AUTH if headers is None else headers
    ) as response:
        return response.status, await response.json(content_type=None)


async def train(session: aiohttp.ClientSession, fake: FakeN8N, **overrides: Any) -> str:
    status, data = await post(session, fake, "train", train_body(**overrides))
    assert status == 200, data
    return str(data["model_id"])


async def test_urls(fake: FakeN8N) -> None:
    assert fake.base_url == f"{fake.root_url}/webhook"
    assert fake.root_url == f"http://127.0.0.1:{fake.port}"


async def test_missing_or_wrong_secret_is_403(
    fake: FakeN8N, session: aiohttp.ClientSession
) -> None:
    for headers in ({}, {"X-N8N-Secret": "wrong"}):
        status, data = await post(session, fake, "train", train_body(), headers=headers)
        assert status == 403
        assert data == {"code": 403, "message": "Authorization data is wrong!"}
    assert not fake.trainings
    assert [request.status for request in fake.calls("train")] == [403, 403]


async def test_train_is_idempotent_on_request_id(
    fake: FakeN8N, session: aiohttp.ClientSession
) -> None:
    body = train_body()
    first = await post(session, fake, "train", body)
    again = await post(session, fake, "train", body)
    assert first == again == (200, {"model_id": "tune-1001"})
    assert list(fake.trainings) == ["tune-1001"]
    job = fake.trainings["tune-1001"]
    assert (job.request_id, job.telegram_id, job.model_type) == (body["request_id"], 42, "woman")
    assert job.status == "training" and len(job.images) == 2 and job.body == body
    assert await train(session, fake) == "tune-1002"
    recorded = fake.calls("train")
    assert len(recorded) == 3 and recorded[0].body == body and recorded[0].size > 0
    assert recorded[0].headers["X-N8N-Secret"] == SECRET


async def test_too_large_body_is_413(fake: FakeN8N, session: aiohttp.ClientSession) -> None:
    big = io.BytesIO(b"x" * (MAX_PAYLOAD + 1))  # with a Content-Length: refused unread
    url = f"{fake.base_url}/train"
    async with session.post(url, data=big, headers=AUTH) as response:
        assert response.status == 413
        assert await response.json() == {"code": 413, "message": "request entity too large"}

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: caught while reading
        for _ in range(17):
            yield b"y" * (1024 * 1024)

    async with session.post(url, data=chunks(), headers=AUTH) as response:
        assert response.status == 413
    assert [request.status for request in fake.calls("train")] == [413, 413]
    assert all(request.size > MAX_PAYLOAD for request in fake.calls("train"))
    assert not fake.trainings


async def test_bad_bodies_are_400(fake: FakeN8N, session: aiohttp.ClientSession) -> None:
    async with session.post(f"{fake.base_url}/train", data=b"{not json", headers=AUTH) as bad:
        assert bad.status == 400
        assert (await bad.json())["code"] == 400
    model_id = await train(session, fake)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("train", train_body(request_id="not-a-uuid")),
        ("train", train_body(telegram_id="42")),
        ("train", train_body(model_type="horse")),
        ("train", train_body(images=[])),
        ("train", train_body(images=["data:image/jpeg;base64,bm90IGFuIGltYWdl"])),
        ("train", train_body(images=["https://example.com/a.jpg"])),
        ("train", {k: v for k, v in train_body().items() if k != "callback_url"}),
        ("generate", generate_body(model_id, num_images=9)),
        ("generate", generate_body(model_id, num_images=True)),
        ("generate", generate_body(model_id, prompt="")),
        ("status", {}),
        ("delete-model", {"model_id": 5}),
    ]
    for endpoint, body in cases:
        status, data = await post(session, fake, endpoint, body)
        assert status == 400, (endpoint, body, data)
        assert data["code"] == 400 and data["message"]
    assert list(fake.trainings) == [model_id] and not fake.generations


async def test_fail_then_success(fake: FakeN8N, session: aiohttp.ClientSession) -> None:
    fake.fail("train", times=2)
    body = train_body()
    assert await post(session, fake, "train", body) == (
        500,
        {"code": 500, "message": "Error in workflow"},
    )
    assert (await post(session, fake, "train", body))[0] == 500
    assert not fake.trainings
    assert await post(session, fake, "train", body) == (200, {"model_id": "tune-1001"})
    assert [request.status for request in fake.calls("train")] == [500, 500, 200]

    fake.fail("status", status=502, body="<html>502 Bad Gateway</html>")
    async with session.post(
        f"{fake.base_url}/status", json={"model_id": "tune-1001"}, headers=AUTH
    ) as response:
        assert response.status == 502
        assert "Bad Gateway" in await response.text()


async def test_stall_times_the_client_out_and_the_retry_gets_the_same_id(
    fake: FakeN8N, session: aiohttp.ClientSession
) -> None:
    fake.stall("train", seconds=30)
    body = train_body()
    with pytest.raises(TimeoutError):
        async with session.post(
            f"{fake.base_url}/train",
            json=body,
            headers=AUTH,
            timeout=aiohttp.ClientTimeout(total=0.3),
        ):
            pass
    assert list(fake.trainings) == ["tune-1001"]  # the workflow had started Astria
    assert await post(session, fake, "train", body) == (200, {"model_id": "tune-1001"})
    assert len(fake.trainings) == 1


async def test_stop_does_not_wait_for_a_stalled_answer(session: aiohttp.ClientSession) -> None:
    server = FakeN8N(secret=SECRET)
    await server.start()
    server.stall("status", seconds=60)
    pending = asyncio.create_task(post(session, server, "status", {"model_id": "tune-1"}))
    await server.wait_request("status")
    started = time.monotonic()
    await server.stop()
    assert time.monotonic() - started < 3
    assert (await pending)[0] == 404  # answered normally when released


async def test_down_refuses_connections_then_up_on_the_same_port(
    fake: FakeN8N, session: aiohttp.ClientSession
) -> None:
    await train(session, fake)  # leaves a keep-alive connection in the session's pool
    port = fake.port
    fake.down()
    assert not fake.is_up
    with pytest.raises(aiohttp.ClientConnectionError):
        await post(session, fake, "status", {"model_id": "tune-1001"})
    with pytest.raises(aiohttp.ClientConnectorError):
        await post(session, fake, "status", {"model_id": "tune-1001"})
    await fake.up()
    assert fake.port == port and fake.is_up
    assert (await post(session, fake, "status", {"model_id": "tune-1001"}))[0] == 200


async def test_stop_while_down(session: aiohttp.ClientSession) -> None:
    server = FakeN8N(secret=SECRET)
    await server.start()
    server.down()
    server.down()  # idempotent
    await server.stop()
    await server.stop()
    assert not server.is_up


async def test_down_drops_a_stalled_request(fake: FakeN8N, session: aiohttp.ClientSession) -> None:
    fake.stall("status", seconds=30)
    pending = asyncio.create_task(post(session, fake, "status", {"model_id": "tune-1"}))
    await fake.wait_request("status")
    fake.down()
    with pytest.raises(aiohttp.ClientConnectionError):
        await pending
    await fake.up()
    assert (await post(session, fake, "status", {"model_id": "tune-1"}))[0] == 404


async def test_status(fake: FakeN8N, session: aiohttp.ClientSession) -> None:
    assert await post(session, fake, "status", {"model_id": "tune-1"}) == (
        404,
        {"code": 404, "message": "model not found"},
    )
    assert (await post(session, fake, "status", {"prompt_id": "prompt-1"}))[0] == 404
    body = train_body()
    model_id = await train(session, fake, **body)
    assert await post(session, fake, "status", {"model_id": model_id}) == (
        200,
        {"model_id": model_id, "request_id": body["request_id"], "status": "training"},
    )
    status, data = await post(session, fake, "generate", generate_body(model_id))
    prompt_id = data["prompt_id"]
    assert (status, prompt_id) == (200, "prompt-5001")
    assert (await post(session, fake, "status", {"prompt_id": prompt_id}))[1]["status"] == (
        "processing"
    )


async def test_generate_unknown_expired_and_idempotent(
    fake: FakeN8N, session: aiohttp.ClientSession
) -> None:
    assert await post(session, fake, "generate", generate_body("tune-404")) == (
        404,
        {"code": 404, "message": "model not found"},
    )
    model_id = await train(session, fake)
    body = generate_body(model_id, num_images=2)
    assert await post(session, fake, "generate", body) == (200, {"prompt_id": "prompt-5001"})
    assert await post(session, fake, "generate", body) == (200, {"prompt_id": "prompt-5001"})
    job = fake.generations["prompt-5001"]
    assert (job.model_id, job.num_images, job.prompt) == (model_id, 2, body["prompt"])
    fake.expire_model(model_id)
    status, data = await post(session, fake, "generate", generate_body(model_id))
    assert (status, data["code"]) == (410, 410)
    assert list(fake.generations) == ["prompt-5001"]


async def test_delete_model(fake: FakeN8N, session: aiohttp.ClientSession) -> None:
    model_id = await train(session, fake)
    assert await post(session, fake, "delete-model", {"model_id": model_id}) == (
        200,
        {"deleted": True},
    )
    assert fake.trainings[model_id].deleted
    assert (await post(session, fake, "delete-model", {"model_id": model_id}))[0] == 404
    assert (await post(session, fake, "generate", generate_body(model_id)))[0] == 404


async def test_complete_training_posts_to_the_callback(
    fake: FakeN8N, session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    body = train_body(callback_url=f"{receiver.url}/train")
    model_id = await train(session, fake, **body)
    assert await fake.complete_training(model_id) == 200
    headers, raw = receiver.received[-1]
    assert headers["X-N8N-Secret"] == SECRET
    assert headers["Content-Type"] == "application/json"
    expected = {"model_id": model_id, "request_id": body["request_id"], "status": "ready"}
    assert json.loads(raw) == expected
    assert fake.trainings[model_id].status == "ready"

    receiver.status = 401
    assert await fake.complete_training(model_id, "failed", error="boom", secret="") == 401
    headers, raw = receiver.received[-1]
    assert "X-N8N-Secret" not in headers
    assert fake.callbacks[-1].body == {**expected, "status": "failed", "error": "boom"}
    assert fake.trainings[model_id].status == "failed"

    receiver.status = 200
    await fake.complete_training(model_id, include_request_id=False, secret="nope")
    headers, raw = receiver.received[-1]
    assert headers["X-N8N-Secret"] == "nope" and b"request_id" not in raw
    await fake.complete_training(model_id, body="{broken")
    assert receiver.received[-1][1] == b"{broken"


async def test_complete_generation_and_images_are_png(
    fake: FakeN8N, session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    model_id = await train(session, fake)
    body = generate_body(model_id, num_images=3, callback_url=f"{receiver.url}/generate")
    status, data = await post(session, fake, "generate", body)
    prompt_id = data["prompt_id"]
    assert status == 200
    assert await fake.complete_generation(prompt_id) == 200
    sent = fake.callbacks[-1].body
    assert sent["prompt_id"] == prompt_id and sent["request_id"] == body["request_id"]
    assert sent["status"] == "ready" and "error" not in sent
    assert sent["images"] == [f"{fake.root_url}/images/{prompt_id}-{n}.png" for n in (1, 2, 3)]
    assert (await post(session, fake, "status", {"prompt_id": prompt_id}))[1] == sent

    for url in sent["images"]:
        async with session.get(url) as response:
            assert response.status == 200
            assert response.content_type == "image/png"
            raw = await response.read()
            image = Image.open(io.BytesIO(raw))
            assert (image.format, image.size) == ("PNG", (64, 64))
            assert raw == png_image(url.rsplit("/", 1)[1].removesuffix(".png"))
    assert fake.image_downloads == [f"{prompt_id}-{n}" for n in (1, 2, 3)]

    assert await fake.complete_generation(prompt_id, "failed", error="NSFW") == 200
    assert fake.callbacks[-1].body == {
        "prompt_id": prompt_id,
        "request_id": body["request_id"],
        "status": "failed",
        "error": "NSFW",
    }


async def test_wait_request(fake: FakeN8N, session: aiohttp.ClientSession) -> None:
    waiter = asyncio.create_task(fake.wait_request("status", count=2))
    await post(session, fake, "status", {"model_id": "a"})
    assert not waiter.done()
    await post(session, fake, "status", {"model_id": "b"})
    second = await waiter
    assert second.body == {"model_id": "b"} and second.status == 404
    with pytest.raises(AssertionError, match="delete-model"):
        await fake.wait_request("delete-model", timeout=0.1)
    with pytest.raises(ValueError, match="unknown endpoint"):
        fake.calls("trian")


async def test_unregistered_webhooks_are_404(fake: FakeN8N, session: aiohttp.ClientSession) -> None:
    async with session.post(f"{fake.base_url}/nope", json={}, headers=AUTH) as response:
        assert response.status == 404
        assert "not registered" in (await response.json())["message"]
    async with session.get(f"{fake.base_url}/train", headers=AUTH) as response:
        assert response.status == 404
        assert "POST" in (await response.json())["message"]
    assert fake.requests == []
