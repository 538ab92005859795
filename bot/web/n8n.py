"""Callbacks from N8N. Every request must carry the shared secret in `X-N8N-Secret`.

Answers: 401 bad or missing secret (nothing changes), 400 a body not matching its model
(services/n8n_bodies.py), 404 an unknown job, 200 applied — and 200 again for a repeat, which
changes nothing. A handler reads the body, calls a service, hands any news to the outbound
layer and answers JSON.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.config import Settings
from bot.models import LedgerReason
from bot.outbound import Outbox
from bot.outbound import credits as credit_news
from bot.outbound import jobs as job_news
from bot.services import credits, generation, jobs
from bot.services.n8n_bodies import BadBody, BodyT, GrantRequest, ModelReport, PromptReport, parse

N8N_PREFIX = "/n8n/"
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)
OUTBOX_KEY: web.AppKey[Outbox] = web.AppKey("outbox", Outbox)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
routes = web.RouteTableDef()


@web.middleware
async def n8n_secret_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(N8N_PREFIX):
        return await handler(request)
    secret = request.app[SETTINGS_KEY].n8n_secret.get_secret_value()
    if not secret:
        return web.json_response({"error": "N8N callbacks are not configured"}, status=503)
    given = request.headers.get("X-N8N-Secret", "")
    # aiohttp keeps header bytes that are not UTF-8 as lone surrogates, which encode() refuses
    # (a 500); the secret is ASCII, so a header that is not is simply wrong.
    if not given.isascii() or not hmac.compare_digest(given.encode(), secret.encode()):
        return web.json_response({"error": "bad or missing X-N8N-Secret"}, status=401)
    return await handler(request)


async def read_body(request: web.Request, schema: type[BodyT], settings: Settings) -> BodyT:
    """The request's JSON body as `schema`; raises BadBody."""
    try:
        body = await request.json()
    except (ValueError, LookupError, RecursionError):  # or not UTF-8, unknown charset, too deep
        raise BadBody("body is not JSON") from None
    return parse(schema, body, images_per_prompt=settings.images_per_prompt)


def bad_body(problem: BadBody) -> web.Response:
    return web.json_response({"error": str(problem)}, status=400)


@routes.post("/n8n/model-status")
async def model_status(request: web.Request) -> web.Response:
    try:
        report = await read_body(request, ModelReport, request.app[SETTINGS_KEY])
    except BadBody as problem:
        return bad_body(problem)
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


@routes.post("/n8n/prompt-status")
async def prompt_status(request: web.Request) -> web.Response:
    try:
        report = await read_body(request, PromptReport, request.app[SETTINGS_KEY])
    except BadBody as problem:
        return bad_body(problem)
    try:
        change = await generation.apply_status(
            report.job_id, report.request_id, report.status, report.images, report.error
        )
    except jobs.StatusUnknown:
        return web.json_response({"error": "unknown prompt_id"}, status=404)
    if change.changed:
        await job_news.generation_finished(request.app[OUTBOX_KEY], change.job)
    return web.json_response(
        {"ok": True, "changed": change.changed, "status": change.job.status.value}
    )


@routes.post("/n8n/credits")
async def grant_credits(request: web.Request) -> web.Response:
    """Credits granted by a workflow (a promotion, a support case): once per reference."""
    try:
        grant = await read_body(request, GrantRequest, request.app[SETTINGS_KEY])
    except BadBody as problem:
        return bad_body(problem)
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
