"""A fake N8N (the webhook workflows that train models and generate images on Astria).

The fake is a real HTTP server (aiohttp, 127.0.0.1, random port) answering like n8n webhook
workflows, so the real bot talks to it over HTTP::

    async with FakeN8N(secret="n8n-test-secret") as fake:
        settings = replace(settings, api_base_url=fake.base_url, n8n_secret=fake.secret)
        ...                                          # the user orders a model in the bot
        train = await fake.wait_request("train")     # what the bot sent (N8NRequest)
        (model_id,) = fake.trainings                 # the job the workflow started
        await fake.complete_training(model_id)       # Astria finished: POST to callback_url

Webhooks (all POST, JSON, header ``X-N8N-Secret``): ``{base_url}/train``, ``/generate``,
``/status``, ``/delete-model``.  Check order: body size (413, n8n's 16 MiB default
``N8N_PAYLOAD_SIZE_MAX``), header auth (403), injected faults and stalls, then the body (400)
and the lookups (404/410).  ``/train`` and ``/generate`` are idempotent on ``request_id``.
Generated image URLs point at ``{root_url}/images/<name>.png`` (real PNGs, no auth).

Faults: ``fail()`` answers an error instead of running the workflow (no job is created);
``stall()`` runs the workflow at once (the job exists, as if Astria was already called) and
holds the answer, so a bot that times out and retries must get the same id back;
``down()``/``up()`` stop and resume listening on the same port (connection refused meanwhile;
open keep-alive connections are aborted too, and requests in flight are dropped).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import hashlib
import hmac
import io
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image
from yarl import URL

JSON = dict[str, Any]
MAX_PAYLOAD = 16 * 1024 * 1024  # n8n's default N8N_PAYLOAD_SIZE_MAX (16 MiB)
ENDPOINTS = ("train", "generate", "status", "delete-model")
MODEL_TYPES = ("man", "woman", "boy", "girl", "dog", "cat")
MAX_NUM_IMAGES = 8
SECRET_HEADER = "X-N8N-Secret"
AUTH_FAILED = "Authorization data is wrong!"
TOO_LARGE = "request entity too large"
FAULT_MESSAGES = {
    500: "Error in workflow",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
    429: "Too many requests",
}
INITIAL_TRAINING_STATUS = "training"
INITIAL_GENERATION_STATUS = "processing"


@functools.lru_cache(maxsize=256)
def png_image(name: str, size: int = 64) -> bytes:
    """The PNG served at ``/images/<name>.png``: a solid colour derived from the name."""
    digest = hashlib.sha256(name.encode()).digest()
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (digest[0], digest[1], digest[2])).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_data_url(color: tuple[int, int, int] = (200, 120, 80), size: int = 32) -> str:
    """A valid ``data:image/jpeg;base64,...`` training image, as the bot sends them."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, "JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


@dataclass
class N8NRequest:
    """One request to a webhook, recorded when its answer is decided (before any stall)."""

    endpoint: str  # "train" | "generate" | "status" | "delete-model"
    body: Any  # parsed JSON, or None when the body was not JSON (or too large to read)
    headers: dict[str, str]
    status: int  # the HTTP status answered (a stalled answer may never reach a client that quit)
    size: int  # bytes of the body (the declared Content-Length when refused unread)
    time: float  # time.monotonic() at arrival


@dataclass
class TrainingJob:
    model_id: str
    request_id: str
    telegram_id: int
    model_name: str
    model_type: str
    callback_url: str
    body: JSON
    images: list[bytes]  # the decoded training images
    status: str = INITIAL_TRAINING_STATUS
    error: str | None = None
    expired: bool = False
    deleted: bool = False

    def state(self) -> JSON:
        """The callback-shaped body (also what ``/status`` answers)."""
        data: JSON = {"model_id": self.model_id, "request_id": self.request_id}
        data["status"] = self.status
        if self.error is not None:
            data["error"] = self.error
        return data


@dataclass
class GenerationJob:
    prompt_id: str
    request_id: str
    telegram_id: int
    model_id: str
    model_type: str
    prompt: str
    num_images: int
    callback_url: str
    body: JSON
    status: str = INITIAL_GENERATION_STATUS
    images: list[str] = field(default_factory=list)  # URLs, set by complete_generation()
    error: str | None = None

    def state(self) -> JSON:
        """The callback-shaped body (also what ``/status`` answers)."""
        data: JSON = {"prompt_id": self.prompt_id, "request_id": self.request_id}
        data["status"] = self.status
        if self.images:
            data["images"] = list(self.images)
        if self.error is not None:
            data["error"] = self.error
        return data


@dataclass
class Callback:
    """One POST the fake made to the bot (``complete_*`` / ``post_callback``)."""

    url: str
    body: Any
    status: int
    answer: str


@dataclass
class _Fault:
    status: int
    body: Any


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"code": status, "message": message}, status=status)


def _require(body: JSON, name: str, kind: type, what: str) -> Any:
    if name not in body:
        raise _Reject(400, f"missing field '{name}'")
    value = body[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Reject(400, f"field '{name}' must be {what}")
    return value


def _text(body: JSON, name: str) -> str:
    value: str = _require(body, name, str, "a non-empty string")
    if not value.strip():
        raise _Reject(400, f"field '{name}' must be a non-empty string")
    return value


def _integer(body: JSON, name: str) -> int:
    value: int = _require(body, name, int, "an integer")
    return value


def _request_id(body: JSON) -> str:
    value = _text(body, "request_id")
    try:
        uuid.UUID(value)
    except ValueError:
        raise _Reject(400, "field 'request_id' must be a UUID") from None
    return value


def _model_type(body: JSON) -> str:
    value = _text(body, "model_type")
    if value not in MODEL_TYPES:
        raise _Reject(400, f"field 'model_type' must be one of {', '.join(MODEL_TYPES)}")
    return value


def _callback_url(body: JSON) -> str:
    value = _text(body, "callback_url")
    try:
        url = URL(value)
    except ValueError:
        url = URL()
    if not url.absolute or url.scheme not in ("http", "https"):
        raise _Reject(400, "field 'callback_url' must be an absolute http(s) URL")
    return value


def _decode_image(value: Any, index: int) -> bytes:
    problem = f"images[{index}] is not a base64 data URL of an image"
    if not isinstance(value, str) or not value.startswith("data:image/"):
        raise _Reject(400, problem)
    header, comma, data = value.partition(",")
    if not comma or not header.endswith(";base64"):
        raise _Reject(400, problem)
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _Reject(400, problem) from None
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.verify()
    except Exception:
        raise _Reject(400, f"images[{index}] is not an image Pillow can open") from None
    return raw


class FakeN8N:
    """The fake server plus the test-side controls (faults, callbacks, recordings)."""

    def __init__(self, secret: str = "n8n-test-secret") -> None:
        self.secret = secret
        self.requests: list[N8NRequest] = []
        self.trainings: dict[str, TrainingJob] = {}
        self.generations: dict[str, GenerationJob] = {}
        self.callbacks: list[Callback] = []
        self.image_downloads: list[str] = []  # names of the images fetched from /images/
        self.port = 0
        self.root_url = ""
        self.base_url = ""
        self._train_ids: dict[str, str] = {}  # request_id -> model_id
        self._generate_ids: dict[str, str] = {}  # request_id -> prompt_id
        self._model_numbers = itertools.count(1001)
        self._prompt_numbers = itertools.count(5001)
        self._faults: dict[str, list[_Fault]] = {endpoint: [] for endpoint in ENDPOINTS}
        self._stalls: dict[str, list[float]] = {endpoint: [] for endpoint in ENDPOINTS}
        self._recorded = asyncio.Condition()
        self._released = asyncio.Event()  # set by stop(): stalled answers go out at once
        self._handlers: dict[str, Callable[[JSON], JSON]] = {
            "train": self._train,
            "generate": self._generate,
            "status": self._status,
            "delete-model": self._delete_model,
        }
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.AbstractServer | None = None
        self._client: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_PAYLOAD)
        for endpoint in ENDPOINTS:
            app.router.add_post(f"/webhook/{endpoint}", functools.partial(self._webhook, endpoint))
        app.router.add_route("*", "/webhook/{path:.*}", self._unregistered)
        app.router.add_get("/images/{name}.png", self._image)
        # handler_cancellation: a stalled answer is dropped when the client gives up.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await self._runner.setup()
        self._released.clear()
        await self.up()
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def stop(self) -> None:
        self._released.set()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeN8N:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def is_up(self) -> bool:
        return self._listener is not None

    def down(self) -> None:
        """Stop listening and drop open connections: the bot gets "connection refused"."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._runner is not None and self._runner.server is not None:
            for connection in self._runner.server.connections:
                if connection.transport is not None:
                    connection.transport.abort()

    async def up(self) -> None:
        """Listen again (on the same port after ``down()``; a random one the first time)."""
        if self._listener is not None:
            return
        if self._runner is None or self._runner.server is None:
            raise RuntimeError("FakeN8N is not started")
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(self._runner.server, "127.0.0.1", self.port)
        if not self.port:
            self.port = int(self._listener.sockets[0].getsockname()[1])
            self.root_url = f"http://127.0.0.1:{self.port}"
            self.base_url = f"{self.root_url}/webhook"

    # ------------------------------------------------------------------ test-side controls
    def fail(self, endpoint: str, *, status: int = 500, times: int = 1, body: Any = None) -> None:
        """The next `times` authorised requests to `endpoint` answer `status` (no job is made).

        `body`: JSON-able (sent as JSON) or str/bytes (sent raw as text/html, like a proxy's
        error page); default ``{"code": status, "message": "Error in workflow"}``.
        """
        self._check(endpoint)
        self._faults[endpoint].extend(_Fault(status, body) for _ in range(times))

    def stall(self, endpoint: str, *, seconds: float, times: int = 1) -> None:
        """The next `times` authorised requests are processed, then answered `seconds` later."""
        self._check(endpoint)
        self._stalls[endpoint].extend([seconds] * times)

    def expire_model(self, model_id: str) -> None:
        """The model is gone at Astria: ``/generate`` answers 410, ``/status`` says expired."""
        job = self._training(model_id)
        job.expired = True
        job.status = "expired"

    def calls(self, endpoint: str) -> list[N8NRequest]:
        """Every recorded request to `endpoint`, whatever it was answered."""
        self._check(endpoint)
        return [request for request in self.requests if request.endpoint == endpoint]

    async def wait_request(
        self, endpoint: str, *, timeout: float = 5.0, count: int = 1
    ) -> N8NRequest:
        """Wait until `count` requests to `endpoint` were recorded; returns the count-th."""
        self._check(endpoint)
        try:
            async with asyncio.timeout(timeout), self._recorded:
                await self._recorded.wait_for(lambda: len(self.calls(endpoint)) >= count)
        except TimeoutError:
            seen = [(request.endpoint, request.status) for request in self.requests]
            raise AssertionError(
                f"expected {count} request(s) to /{endpoint} within {timeout}s; got {seen}"
            ) from None
        return self.calls(endpoint)[count - 1]

    async def complete_training(
        self,
        model_id: str,
        status: str = "ready",
        *,
        error: str | None = None,
        secret: str | None = None,
        body: Any = None,
        include_request_id: bool = True,
    ) -> int:
        """Report the training's end to its callback_url; returns the bot's HTTP status."""
        job = self._training(model_id)
        job.status = status
        job.error = error
        if body is None:
            body = job.state()
            if not include_request_id:
                del body["request_id"]
        return await self.post_callback(job.callback_url, body, secret=secret)

    async def complete_generation(
        self,
        prompt_id: str,
        status: str = "ready",
        *,
        images: list[str] | None = None,
        error: str | None = None,
        secret: str | None = None,
        body: Any = None,
    ) -> int:
        """Report the generation's end to its callback_url; returns the bot's HTTP status.

        `images` defaults to ``num_images`` URLs ``{root_url}/images/<prompt_id>-<n>.png``
        (n from 1) when `status` is "ready", else to none.
        """
        job = self.generations.get(prompt_id)
        if job is None:
            raise KeyError(f"no generation {prompt_id!r}; known: {list(self.generations)}")
        if images is None:
            images = self.image_urls(prompt_id, job.num_images) if status == "ready" else []
        job.status = status
        job.images = list(images)
        job.error = error
        if body is None:
            body = job.state()
        return await self.post_callback(job.callback_url, body, secret=secret)

    async def post_callback(self, url: str, body: Any, *, secret: str | None = None) -> int:
        """POST `body` (JSON-able, or str/bytes sent as is) to the bot with the secret header
        (the fake's own unless `secret` is given; ``""`` sends no header)."""
        if self._client is None:
            raise RuntimeError("FakeN8N is not started")
        token = self.secret if secret is None else secret
        headers = {"Content-Type": "application/json"}
        if token:
            headers[SECRET_HEADER] = token
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        async with self._client.post(url, data=data, headers=headers) as response:
            answer = await response.text()
            self.callbacks.append(Callback(url, body, response.status, answer))
            return response.status

    def image_urls(self, prompt_id: str, count: int) -> list[str]:
        return [f"{self.root_url}/images/{prompt_id}-{n}.png" for n in range(1, count + 1)]

    # ------------------------------------------------------------------ server side
    def _check(self, endpoint: str) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {ENDPOINTS}")

    def _training(self, model_id: str) -> TrainingJob:
        job = self.trainings.get(model_id)
        if job is None:
            raise KeyError(f"no training {model_id!r}; known: {list(self.trainings)}")
        return job

    def _authorized(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER)
        return given is not None and hmac.compare_digest(given.encode(), self.secret.encode())

    async def _webhook(self, endpoint: str, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        size = request.content_length or 0
        raw: bytes | None = None
        if size <= MAX_PAYLOAD:
            try:
                raw = await request.read()
                size = len(raw)
            except web.HTTPRequestEntityTooLarge:
                size = max(size, MAX_PAYLOAD + 1)
        body: Any = None
        if raw is not None:
            try:
                body = json.loads(raw.decode())
            except (UnicodeDecodeError, json.JSONDecodeError):
                body = None
        delay = 0.0
        try:
            if raw is None:
                raise _Reject(413, TOO_LARGE)
            if not self._authorized(request):
                raise _Reject(403, AUTH_FAILED)
            if self._stalls[endpoint]:
                delay = self._stalls[endpoint].pop(0)
            if self._faults[endpoint]:
                response = self._fault_response(self._faults[endpoint].pop(0))
            elif not isinstance(body, dict):
                raise _Reject(400, "body must be a JSON object")
            else:
                response = web.json_response(self._handlers[endpoint](body))
        except _Reject as reject:
            response = _error(reject.status, reject.message)
        headers = dict(request.headers)
        record = N8NRequest(endpoint, body, headers, response.status, size, arrived)
        async with self._recorded:
            self.requests.append(record)
            self._recorded.notify_all()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._released.wait()
        return response

    @staticmethod
    def _fault_response(fault: _Fault) -> web.Response:
        if fault.body is None:
            message = FAULT_MESSAGES.get(fault.status, "Error in workflow")
            return _error(fault.status, message)
        if isinstance(fault.body, str | bytes):
            text = fault.body if isinstance(fault.body, bytes) else fault.body.encode()
            return web.Response(status=fault.status, body=text, content_type="text/html")
        return web.json_response(fault.body, status=fault.status)

    async def _unregistered(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        if path in ENDPOINTS:
            message = (
                f"This webhook is not registered for {request.method} requests. "
                "Did you mean to make a POST request?"
            )
        else:
            message = f'The requested webhook "{request.method} {path}" is not registered.'
        return _error(404, message)

    async def _image(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.image_downloads.append(name)
        return web.Response(body=png_image(name), content_type="image/png")

    # ------------------------------------------------------------------ workflows
    def _train(self, body: JSON) -> JSON:
        request_id = _request_id(body)
        telegram_id = _integer(body, "telegram_id")
        model_name = _text(body, "model_name")
        model_type = _model_type(body)
        callback_url = _callback_url(body)
        images: list[Any] = _require(body, "images", list, "a list of data URLs")
        if not images:
            raise _Reject(400, "field 'images' must not be empty")
        decoded = [_decode_image(value, index) for index, value in enumerate(images)]
        if request_id in self._train_ids:  # a retry: the training already runs
            return {"model_id": self._train_ids[request_id]}
        model_id = f"tune-{next(self._model_numbers)}"
        self.trainings[model_id] = TrainingJob(
            model_id=model_id,
            request_id=request_id,
            telegram_id=telegram_id,
            model_name=model_name,
            model_type=model_type,
            callback_url=callback_url,
            body=body,
            images=decoded,
        )
        self._train_ids[request_id] = model_id
        return {"model_id": model_id}

    def _generate(self, body: JSON) -> JSON:
        request_id = _request_id(body)
        telegram_id = _integer(body, "telegram_id")
        model_id = _text(body, "model_id")
        model_type = _model_type(body)
        prompt = _text(body, "prompt")
        num_images = _integer(body, "num_images")
        if not 1 <= num_images <= MAX_NUM_IMAGES:
            raise _Reject(400, f"field 'num_images' must be between 1 and {MAX_NUM_IMAGES}")
        callback_url = _callback_url(body)
        if request_id in self._generate_ids:  # a retry: the generation already runs
            return {"prompt_id": self._generate_ids[request_id]}
        model = self.trainings.get(model_id)
        if model is None or model.deleted:
            raise _Reject(404, "model not found")
        if model.expired:
            raise _Reject(410, "model expired")
        prompt_id = f"prompt-{next(self._prompt_numbers)}"
        self.generations[prompt_id] = GenerationJob(
            prompt_id=prompt_id,
            request_id=request_id,
            telegram_id=telegram_id,
            model_id=model_id,
            model_type=model_type,
            prompt=prompt,
            num_images=num_images,
            callback_url=callback_url,
            body=body,
        )
        self._generate_ids[request_id] = prompt_id
        return {"prompt_id": prompt_id}

    def _status(self, body: JSON) -> JSON:
        if "model_id" in body:
            model = self.trainings.get(_text(body, "model_id"))
            if model is None or model.deleted:
                raise _Reject(404, "model not found")
            return model.state()
        if "prompt_id" in body:
            generation = self.generations.get(_text(body, "prompt_id"))
            if generation is None:
                raise _Reject(404, "prompt not found")
            return generation.state()
        raise _Reject(400, "missing field 'model_id' or 'prompt_id'")

    def _delete_model(self, body: JSON) -> JSON:
        model = self.trainings.get(_text(body, "model_id"))
        if model is None or model.deleted:
            raise _Reject(404, "model not found")
        model.deleted = True
        return {"deleted": True}
