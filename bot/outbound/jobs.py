"""News of jobs that N8N or the reconciler brings: a model ready or failed, portraits
delivered (again, when their first delivery died with its replica), jobs that never started."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from loguru import logger

from bot.config import Settings
from bot.keyboards.generate import after_delivery_keyboard
from bot.keyboards.train import generate_keyboard
from bot.models import ModelStatus, PortraitModel, Prompt, PromptStatus, User
from bot.outbound.images import ImageUnavailable, send_images
from bot.outbound.outbox import Outbox
from bot.services import generation, reconciler, users
from bot.services.n8n import N8NClient
from bot.views import generation as generation_views
from bot.views import jobs as job_views
from bot.views import training as training_views

RECONCILE_EVERY_SECONDS = 60.0


async def training_finished(outbox: Outbox, model: PortraitModel) -> None:
    """Once, when N8N moved a training to ready or failed."""
    if model.status == ModelStatus.READY:
        await outbox.notify_id(
            model.user_id, lambda: (training_views.ready(model), generate_keyboard())
        )
    elif model.status == ModelStatus.FAILED:
        await outbox.notify_id(model.user_id, lambda: (training_views.failed(model), None))


async def generation_finished(outbox: Outbox, job: Prompt) -> None:
    """Once, when N8N moved a generation to ready or failed. Portraits are delivered in the
    background: N8N gets its answer now, while albums may wait out Telegram's limits."""
    if job.status == PromptStatus.READY:
        outbox.background.spawn(deliver(outbox, job), name=f"delivery {job.request_id}")
    elif job.status == PromptStatus.FAILED:
        await outbox.notify_id(job.user_id, lambda: (generation_views.failed(job), None))


async def deliver(outbox: Outbox, job: Prompt) -> None:
    """Send a ready generation's portraits, then the buttons for what comes next."""
    user = await User.get_or_none(telegram_id=job.user_id)
    if user is None:  # deleted their data meanwhile: nobody to deliver to
        await generation.mark_delivered(job)
        return
    urls = [image["url"] for image in job.images or []]

    async def remember(file_ids: list[str | None]) -> None:
        await generation.remember_file_ids(job, file_ids)

    with outbox.speaking_to(user):
        try:
            await send_images(
                outbox.bot,
                outbox.store,
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
            await outbox.send(user.telegram_id, generation_views.undelivered())
            await generation.mark_delivered(job)
            return
        await outbox.bot.send_message(
            user.telegram_id,
            generation_views.delivered(),
            reply_markup=after_delivery_keyboard(job),
        )
        await generation.mark_delivered(job)


async def release_stuck_jobs(outbox: Outbox, now: datetime | None = None) -> int:
    """Give back the credits of jobs that never started and tell their owners; how many."""
    owners = await reconciler.release_stuck_jobs(now)
    for telegram_id in owners:
        await outbox.notify_id(telegram_id, lambda: (job_views.not_started(), None))
    return len(owners)


async def redeliver_stalled(
    outbox: Outbox, now: datetime | None = None, stopping: asyncio.Event | None = None
) -> int:
    """Deliver again what a dead replica was delivering; how many. Each job is taken over
    just before its delivery (a long pass must not hold jobs it has not reached yet). The user
    may get an album twice, never none."""
    delivered = 0
    for job in await reconciler.stalled_deliveries(now):
        if stopping is not None and stopping.is_set():
            break
        if await reconciler.take_over(job):
            await deliver(outbox, job)
            delivered += 1
    return delivered


async def settle_overdue(
    outbox: Outbox, n8n: N8NClient, settings: Settings, now: datetime | None = None
) -> int:
    """Settle running jobs whose N8N callback never came (asking N8N's /status, or failing
    them past their maximum age) and tell their owners; how many changed."""
    changes = await reconciler.settle_overdue(
        n8n,
        outbox.store,
        training=reconciler.Patience(
            timedelta(minutes=settings.train_status_after),
            timedelta(minutes=settings.train_max_age),
        ),
        generating=reconciler.Patience(
            timedelta(minutes=settings.generate_status_after),
            timedelta(minutes=settings.generate_max_age),
        ),
        images_per_prompt=settings.images_per_prompt,
        now=now,
    )
    for change in changes:
        if isinstance(change.job, PortraitModel):
            await training_finished(outbox, change.job)
        else:
            await generation_finished(outbox, change.job)
    return len(changes)


async def reconcile(
    outbox: Outbox, n8n: N8NClient | None, settings: Settings, stopping: asyncio.Event
) -> None:
    """One pass of the reconciler (a periodic worker)."""
    await release_stuck_jobs(outbox)
    if n8n is not None and not stopping.is_set():
        await settle_overdue(outbox, n8n, settings)
    await redeliver_stalled(outbox, stopping=stopping)
