"""Callbacks from N8N. Every request must carry the shared secret in `X-N8N-Secret`.

Answers: 401 bad or missing secret (nothing changes), 400 a body not matching the schema,
404 an unknown job, 200 applied — and 200 again for a repeat, which changes nothing.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiohttp import web

from bot.config import Settings
from bot.models import LedgerReason, ModelStatus, PromptStatus
from bot.outbound import Outbox
from bot.outbound import credits as credit_news
from bot.outbound import jobs as job_news
from bot.services import credits, generation, jobs

N8N_PREFIX = "/n8n/"
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)
OUTBOX_KEY: web.AppKey[Outbox] = web.AppKey("outbox", Outbox)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
StatusT = TypeVar("StatusT")
routes = web.RouteTableDef()


@web.middleware
async def n8n_secret_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(N8N_PREFIX):
        return await handler(request)
    secret = request.app[SETTINGS_KEY].n8n_secret.get_secret_value()
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


@dataclass(frozen=True)
class Report(Generic[StatusT]):
    """The common part of N8N's status callbacks."""

    job_id: str
    request_id: str | None
    status: StatusT
    error: str | None
    body: dict[str, Any]


async def read_report(
    request: web.Request, id_field: str, statuses: dict[str, StatusT]
) -> Report[StatusT]:
    body = await json_object(request)
    job_id = text_field(body, id_field, required=True)
    status = statuses.get(str(body.get("status")))
    if status is None:
        raise BadBody(f"status must be one of {sorted(statuses)}")
    return Report(
        job_id=str(job_id),
        request_id=uuid_field(body, "request_id"),
        status=status,
        error=text_field(body, "error", required=False),
        body=body,
    )


MODEL_REPORTS = {
    "training": ModelStatus.TRAINING,
    "ready": ModelStatus.READY,
    "failed": ModelStatus.FAILED,
}


@routes.post("/n8n/model-status")
async def model_status(request: web.Request) -> web.Response:
    try:
        report = await read_report(request, "model_id", MODEL_REPORTS)
    except BadBody as problem:
        return web.json_response({"error": str(problem)}, status=400)
    try:
        change = await jobs.apply_status(
            jobs.TRAINING, report.job_id, report.request_id, report.status, report.error
        )
    except jobs.StatusUnknown:
        return web.json_response({"error": "unknown model_id"}, status=404)
    if change.changed:
        await job_news.training_finished(request.app[OUTBOX_KEY], change.job)
    return web.json_response(
        {"ok": True, "changed": change.changed, "status": change.job.status.value}
    )


PROMPT_REPORTS = {
    "processing": PromptStatus.PROCESSING,
    "ready": PromptStatus.READY,
    "failed": PromptStatus.FAILED,
}


def image_urls(body: dict[str, Any]) -> list[str]:
    images = body.get("images")
    if images is None:
        return []
    if not isinstance(images, list) or not all(
        isinstance(url, str) and url.startswith(("http://", "https://")) for url in images
    ):
        raise BadBody("images must be a list of http(s) URLs")
    return images


@routes.post("/n8n/prompt-status")
async def prompt_status(request: web.Request) -> web.Response:
    try:
        report = await read_report(request, "prompt_id", PROMPT_REPORTS)
        images = image_urls(report.body)
    except BadBody as problem:
        return web.json_response({"error": str(problem)}, status=400)
    try:
        change = await generation.apply_status(
            report.job_id, report.request_id, report.status, images, report.error
        )
    except jobs.StatusUnknown:
        return web.json_response({"error": "unknown prompt_id"}, status=404)
    if change.changed:
        await job_news.generation_finished(request.app[OUTBOX_KEY], change.job)
    return web.json_response(
        {"ok": True, "changed": change.changed, "status": change.job.status.value}
    )


MAX_GRANT_CREDITS = 1_000_000
MAX_REFERENCE_LENGTH = 128
MAX_REASON_LENGTH = 200


@dataclass(frozen=True)
class GrantRequest:
    telegram_id: int
    amount: int
    reference: str
    reason: str | None


def read_grant(body: dict[str, Any]) -> GrantRequest:
    telegram_id, amount = body.get("telegram_id"), body.get("amount")
    if isinstance(telegram_id, str) and telegram_id.strip().isdigit():
        telegram_id = int(telegram_id)
    if (
        not isinstance(telegram_id, int)
        or isinstance(telegram_id, bool)
        or not 0 < telegram_id < 2**63  # BIGINT
    ):
        raise BadBody("telegram_id must be a positive integer")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise BadBody("amount must be an integer")
    if not 1 <= amount <= MAX_GRANT_CREDITS:
        raise BadBody(f"amount must be between 1 and {MAX_GRANT_CREDITS}")
    reference = str(text_field(body, "reference", required=True))
    if len(reference) > MAX_REFERENCE_LENGTH:
        raise BadBody(f"reference must be at most {MAX_REFERENCE_LENGTH} characters")
    reason = text_field(body, "reason", required=False)
    return GrantRequest(
        telegram_id, amount, reference, reason[:MAX_REASON_LENGTH] if reason else None
    )


@routes.post("/n8n/credits")
async def grant_credits(request: web.Request) -> web.Response:
    """Credits granted by a workflow (a promotion, a support case): once per reference."""
    try:
        grant = read_grant(await json_object(request))
    except BadBody as problem:
        return web.json_response({"error": str(problem)}, status=400)
    try:
        result = await credits.grant_once(
            grant.telegram_id, grant.amount, LedgerReason.N8N_GRANT, grant.reference, grant.reason
        )
    except credits.UnknownUser:
        return web.json_response({"error": "unknown telegram_id"}, status=404)
    except credits.GrantConflict:
        return web.json_response(
            {"error": "reference already used for a different grant"}, status=409
        )
    if result.applied:
        await credit_news.granted_by_workflow(
            request.app[OUTBOX_KEY], grant.telegram_id, grant.amount, grant.reason, result.balance
        )
    return web.json_response({"ok": True, "applied": result.applied, "balance": result.balance})
