"""Callbacks from N8N. Every request must carry the shared secret in `X-N8N-Secret`.

Answers: 401 bad or missing secret (nothing changes), 400 a body not matching the schema,
404 an unknown job, 200 applied — and 200 again for a repeat, which changes nothing.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

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
from bot.web.schemas import BadBody, GrantRequest, ModelReport, PromptReport, read_body

N8N_PREFIX = "/n8n/"
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)
BOT_KEY: web.AppKey[Bot] = web.AppKey("bot", Bot)
I18N_KEY: web.AppKey[I18n] = web.AppKey("i18n", I18n)
BACKGROUND_KEY: web.AppKey[BackgroundTasks] = web.AppKey("background", BackgroundTasks)

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
    # aiohttp keeps header bytes that are not UTF-8 as lone surrogates, which encode() refuses
    # (a 500); the secret is ASCII, so a header that is not is simply wrong.
    if not given.isascii() or not hmac.compare_digest(given.encode(), secret.encode()):
        return web.json_response({"error": "bad or missing X-N8N-Secret"}, status=401)
    return await handler(request)


@routes.post("/n8n/model-status")
async def model_status(request: web.Request) -> web.Response:
    try:
        report = await read_body(request, ModelReport, request.app[SETTINGS_KEY])
    except BadBody as problem:
        return web.json_response({"error": str(problem)}, status=400)
    try:
        change = await training.apply_status(
            report.job_id, report.request_id, report.status, report.error
        )
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


@routes.post("/n8n/prompt-status")
async def prompt_status(request: web.Request) -> web.Response:
    try:
        report = await read_body(request, PromptReport, request.app[SETTINGS_KEY])
        images = report.images
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
        user = await User.get(telegram_id=job.user_id)  # type: ignore[attr-defined]
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
    user = await User.get_or_none(telegram_id=job.user_id)  # type: ignore[attr-defined]
    if user is None:  # deleted their data meanwhile
        await generation.mark_delivered(job)
        return
    await deliver(bot, i18n, store, user, job)


@routes.post("/n8n/credits")
async def grant_credits(request: web.Request) -> web.Response:
    """Credits granted by a workflow (a promotion, a support case): once per reference."""
    try:
        grant = await read_body(request, GrantRequest, request.app[SETTINGS_KEY])
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
    holder: int = earlier.user_id  # type: ignore[attr-defined]
    same_user = holder == grant.telegram_id or holder < 0
    if earlier.delta != grant.amount or not same_user:
        return web.json_response(
            {"error": "reference already used for a different grant"}, status=409
        )
    return web.json_response({"ok": True, "applied": False, "balance": earlier.balance_after})
