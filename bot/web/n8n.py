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

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.utils.i18n import I18n
from aiohttp import web
from loguru import logger

from bot.config import Settings
from bot.keyboards.generate import after_delivery_keyboard
from bot.keyboards.menu import MenuAction, menu_button
from bot.keyboards.train import generate_keyboard
from bot.models import (
    CreditEntry,
    LedgerReason,
    ModelStatus,
    Prompt,
    PromptStatus,
    User,
    UserStatus,
)
from bot.services import credits, generation, training, users
from bot.services.background import BackgroundTasks
from bot.services.delivery import ImageUnavailable, send_images
from bot.services.notifications import locale_of, notify
from bot.services.shared import SharedStore
from bot.views import credits as credits_views
from bot.views import generation as generation_views
from bot.views import training as training_views
from bot.web.health import STORE_KEY

N8N_PREFIX = "/n8n/"
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)
BOT_KEY: web.AppKey[Bot] = web.AppKey("bot", Bot)
I18N_KEY: web.AppKey[I18n] = web.AppKey("i18n", I18n)
BACKGROUND_KEY: web.AppKey[BackgroundTasks] = web.AppKey("background", BackgroundTasks)

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
        change = await training.apply_status(
            report.job_id, report.request_id, report.status, report.error
        )
    except training.StatusUnknown:
        return web.json_response({"error": "unknown model_id"}, status=404)
    if change.changed and change.model.status in (ModelStatus.READY, ModelStatus.FAILED):
        user = await User.get(telegram_id=change.model.user_id)
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
    except generation.StatusUnknown:
        return web.json_response({"error": "unknown prompt_id"}, status=404)
    job = change.job
    if change.changed and job.status in (PromptStatus.READY, PromptStatus.FAILED):
        bot, i18n = request.app[BOT_KEY], request.app[I18N_KEY]
        user = await User.get(telegram_id=job.user_id)
        if job.status == PromptStatus.READY:
            # Answer N8N now; sending albums may wait out Telegram's limits.
            request.app[BACKGROUND_KEY].spawn(
                deliver(bot, i18n, request.app[STORE_KEY], user, job),
                name=f"delivery {job.request_id}",
            )
        else:
            await notify(bot, i18n, user, lambda: (generation_views.failed(job), None))
    return web.json_response({"ok": True, "changed": change.changed, "status": job.status.value})


async def deliver(bot: Bot, i18n: I18n, store: SharedStore, user: User, job: Prompt) -> None:
    urls = [image["url"] for image in job.images or []]

    async def remember(file_ids: list[str | None]) -> None:
        await generation.remember_file_ids(job, file_ids)

    with i18n.context(), i18n.use_locale(locale_of(i18n, user)):
        try:
            await send_images(
                bot,
                store,
                user.telegram_id,
                urls,
                generation_views.caption(job.prompt),
                on_album=remember,
            )
        except TelegramForbiddenError:
            await users.mark_blocked(user.telegram_id)
            await generation.mark_delivered(job)  # nobody to deliver to; /history later
            return
        except (TelegramAPIError, ImageUnavailable) as error:
            logger.warning("could not deliver generation {}: {}", job.request_id, error)
            await notify(bot, i18n, user, lambda: (generation_views.undelivered(), None))
            await generation.mark_delivered(job)
            return
        await bot.send_message(
            user.telegram_id,
            generation_views.delivered(),
            reply_markup=after_delivery_keyboard(job),
        )
        await generation.mark_delivered(job)


async def redeliver(bot: Bot, i18n: I18n, store: SharedStore, job: Prompt) -> None:
    """Deliver a job again whose first delivery died with its replica."""
    user = await User.get_or_none(telegram_id=job.user_id)
    if user is None:  # deleted their data meanwhile
        await generation.mark_delivered(job)
        return
    await deliver(bot, i18n, store, user, job)


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
    earlier = await CreditEntry.get_or_none(
        reason=LedgerReason.N8N_GRANT, reference=grant.reference
    )
    if earlier is not None:
        return repeated_grant(grant, earlier)
    user = await User.get_or_none(telegram_id=grant.telegram_id)
    if user is None or user.status == UserStatus.ERASED:
        return web.json_response({"error": "unknown telegram_id"}, status=404)
    try:
        movement = await credits.move(
            grant.telegram_id, grant.amount, LedgerReason.N8N_GRANT, grant.reference, grant.reason
        )
    except credits.UnknownUser:  # deleted their data a moment ago
        return web.json_response({"error": "unknown telegram_id"}, status=404)
    if not movement.applied:  # the same reference, concurrently
        repeat = await CreditEntry.get(reason=LedgerReason.N8N_GRANT, reference=grant.reference)
        return repeated_grant(grant, repeat)
    await notify(
        request.app[BOT_KEY],
        request.app[I18N_KEY],
        user,
        lambda: (
            credits_views.grant_notice(grant.amount, grant.reason, movement.balance),
            menu_button(MenuAction.CREDITS),
        ),
    )
    return web.json_response({"ok": True, "applied": True, "balance": movement.balance})


def repeated_grant(grant: GrantRequest, earlier: CreditEntry) -> web.Response:
    """A reference seen before: 200 and nothing changes, unless it named another grant. An
    entry held by an erased user (a negative id) was this user's before they used /delete."""
    holder: int = earlier.user_id
    same_user = holder == grant.telegram_id or holder < 0
    if earlier.delta != grant.amount or not same_user:
        return web.json_response(
            {"error": "reference already used for a different grant"}, status=409
        )
    return web.json_response({"ok": True, "applied": False, "balance": earlier.balance_after})
