"""Jobs whose start was cut off (a replica died between reserving credits and hearing back
from N8N) stay `pending` with their credits reserved. A periodic sweep, run by one replica at a
time, fails them and gives the credits back, so no reservation outlives its job. The same sweep
hands ready jobs whose delivery died with its replica to `redeliver` (wired by the app: the
messages belong to the web layer)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from aiogram import Bot
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from loguru import logger

from bot.models import ModelStatus, PortraitModel, Prompt, PromptStatus, User
from bot.services import generation, training
from bot.services.notifications import notify
from bot.services.shared import SharedStore

# Far longer than a start can take (N8N: 3 attempts of at most 2 minutes, plus backoff).
STUCK_AFTER = timedelta(minutes=15)
# Far longer than a delivery takes, flood waits included.
DELIVERY_STALLED_AFTER = timedelta(minutes=15)
SWEEP_EVERY_SECONDS = 60.0
NOT_STARTED = "the job could not be started"


async def release_stuck_jobs(bot: Bot, i18n: I18n, now: datetime | None = None) -> int:
    """Fail every job still `pending` past STUCK_AFTER; returns how many were released."""
    cutoff = (now or datetime.now(UTC)) - STUCK_AFTER
    released = 0
    for model in await PortraitModel.filter(status=ModelStatus.PENDING, created_at__lt=cutoff):
        if await training.fail(model, NOT_STARTED):
            released += 1
            await _tell(bot, i18n, model.user_id)
    for job in await Prompt.filter(status=PromptStatus.PENDING, created_at__lt=cutoff):
        if await generation.fail(job, NOT_STARTED):
            released += 1
            await _tell(bot, i18n, job.user_id)
    if released:
        logger.warning("released {} jobs that never started", released)
    return released


Redeliver = Callable[[Prompt], Awaitable[None]]


async def redeliver_stalled(redeliver: Redeliver, now: datetime | None = None) -> int:
    """Deliver again every ready job whose delivery began long ago and never finished (its
    replica died); returns how many. The user may get an album twice, never none."""
    cutoff = (now or datetime.now(UTC)) - DELIVERY_STALLED_AFTER
    taken = 0
    for job in await generation.stalled_deliveries(cutoff):
        if await generation.claim_redelivery(job):
            taken += 1
            logger.warning("generation {}: delivery was cut off; delivering again", job.id)
            await redeliver(job)
    return taken


async def _tell(bot: Bot, i18n: I18n, telegram_id: int) -> None:
    user = await User.get_or_none(telegram_id=telegram_id)
    if user is not None:
        await notify(
            bot,
            i18n,
            user,
            lambda: (
                _("⚠️ One of your jobs could not be started, so its credits were returned."),
                None,
            ),
        )


async def sweep_until(
    stopping: asyncio.Event,
    bot: Bot,
    i18n: I18n,
    store: SharedStore,
    redeliver: Redeliver | None = None,
) -> None:
    """Every minute, on whichever replica claims the turn first, until `stopping` is set (a
    sweep under way finishes first: cancelling it mid-query could leak a connection)."""
    while not stopping.is_set():
        try:
            if await store.claim("reconciler-turn", SWEEP_EVERY_SECONDS * 0.9):
                await release_stuck_jobs(bot, i18n)
                if redeliver is not None:
                    await redeliver_stalled(redeliver)
        except Exception as error:  # a hiccup (database, Redis) must not end the sweeps
            logger.warning("reconciler sweep failed: {}", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=SWEEP_EVERY_SECONDS)
