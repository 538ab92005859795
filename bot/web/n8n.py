"""Callbacks from N8N. Every request must carry the shared secret in `X-N8N-Secret`.

Answers: 401 bad or missing secret (nothing changes), 400 a body not matching the schema,
404 an unknown job, 200 applied — and 200 again for a repeat, which changes nothing.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.utils.i18n import I18n
from aiohttp import web

from bot.config import Settings
from bot.keyboards.train import generate_keyboard
from bot.models import ModelStatus, User
from bot.services import training
from bot.services.notifications import notify
from bot.views import training as training_views

N8N_PREFIX = "/n8n/"
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)
BOT_KEY: web.AppKey[Bot] = web.AppKey("bot", Bot)
I18N_KEY: web.AppKey[I18n] = web.AppKey("i18n", I18n)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
routes = web.RouteTableDef()


@web.middleware
async def n8n_secret_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(N8N_PREFIX):
        return await handler(request)
    secret = request.app[SETTINGS_KEY].n8n_secret
    if not secret:
        return web.json_response({"error": "N8N callbacks are not configured"}, status=503)
    given = request.headers.get("X-N8N-Secret", "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return web.json_response({"error": "bad or missing X-N8N-Secret"}, status=401)
    return await handler(request)


class BadBody(Exception):
    pass


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise BadBody("body is not JSON") from None
    if not isinstance(body, dict):
        raise BadBody("body must be a JSON object")
    return body


def text_field(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise BadBody(f"{name} is required")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise BadBody(f"{name} must be a non-empty string")
    return value.strip()


def uuid_field(body: dict[str, Any], name: str) -> str | None:
    value = text_field(body, name, required=False)
    if value is None:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise BadBody(f"{name} must be a UUID") from None


MODEL_REPORTS = {
    "training": ModelStatus.TRAINING,
    "ready": ModelStatus.READY,
    "failed": ModelStatus.FAILED,
}


@routes.post("/n8n/model-status")
async def model_status(request: web.Request) -> web.Response:
    try:
        body = await json_object(request)
        model_id = text_field(body, "model_id", required=True)
        request_id = uuid_field(body, "request_id")
        status = MODEL_REPORTS.get(str(body.get("status")))
        if status is None:
            raise BadBody(f"status must be one of {sorted(MODEL_REPORTS)}")
        error = text_field(body, "error", required=False)
    except BadBody as problem:
        return web.json_response({"error": str(problem)}, status=400)
    assert model_id is not None
    try:
        change = await training.apply_status(model_id, request_id, status, error)
    except training.StatusUnknown:
        return web.json_response({"error": "unknown model_id"}, status=404)
    if change.changed and change.model.status in (ModelStatus.READY, ModelStatus.FAILED):
        user = await User.get(telegram_id=change.model.user_id)  # type: ignore[attr-defined]
        model = change.model
        if model.status == ModelStatus.READY:
            await notify(
                request.app[BOT_KEY],
                request.app[I18N_KEY],
                user,
                lambda: (training_views.ready(model), generate_keyboard()),
            )
        else:
            await notify(
                request.app[BOT_KEY],
                request.app[I18N_KEY],
                user,
                lambda: (training_views.failed(model), None),
            )
    return web.json_response(
        {"ok": True, "changed": change.changed, "status": change.model.status.value}
    )
