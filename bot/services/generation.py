"""Generation jobs: choose a ready model, reserve → N8N → apply N8N's status → deliver once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loguru import logger
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.models import LedgerReason, ModelStatus, PortraitModel, Prompt, PromptStatus
from bot.services import credits
from bot.services.n8n import N8NClient, N8NError, N8NRejected

PROMPT_MIN_LENGTH = 3
PROMPT_MAX_LENGTH = 1000
HISTORY_SIZE = 10
FORWARD_FROM: dict[PromptStatus, tuple[PromptStatus, ...]] = {
    PromptStatus.PROCESSING: (PromptStatus.PENDING,),
    PromptStatus.READY: (PromptStatus.PENDING, PromptStatus.PROCESSING),
    PromptStatus.FAILED: (PromptStatus.PENDING, PromptStatus.PROCESSING),
}


class InvalidPrompt(Exception):
    def __init__(self, too_short: bool) -> None:
        super().__init__("too short" if too_short else "too long")
        self.too_short = too_short


class ModelNotAvailable(Exception):
    """Not the user's model, or not ready."""


class AlreadyStarted(Exception):
    def __init__(self, prompt: Prompt) -> None:
        super().__init__(f"job {prompt.request_id} exists")
        self.prompt = prompt


def check_prompt(raw: str) -> str:
    text = raw.strip()
    if len(text) < PROMPT_MIN_LENGTH:
        raise InvalidPrompt(too_short=True)
    if len(text) > PROMPT_MAX_LENGTH:
        raise InvalidPrompt(too_short=False)
    return text


async def models_of(telegram_id: int) -> list[PortraitModel]:
    return await PortraitModel.filter(user_id=telegram_id).order_by("-created_at", "-id")


async def ready_model(telegram_id: int, model_pk: int) -> PortraitModel:
    model = await PortraitModel.get_or_none(
        id=model_pk, user_id=telegram_id, status=ModelStatus.READY
    )
    if model is None or model.model_id is None:
        raise ModelNotAvailable(model_pk)
    return model


async def reserve(
    telegram_id: int, model: PortraitModel, prompt: str, request_id: uuid.UUID, cost: int
) -> Prompt:
    """Create the job row and take its credits in one transaction (one job, one charge)."""
    try:
        async with in_transaction() as connection:
            job = await Prompt.create(
                user_id=telegram_id,
                model_id=model.model_id,
                prompt=prompt,
                request_id=request_id,
                using_db=connection,
            )
            await credits.move_in(
                connection, telegram_id, -cost, LedgerReason.RESERVE_GENERATION, str(request_id)
            )
    except IntegrityError:
        existing = await Prompt.get_or_none(request_id=request_id)
        if existing is None:
            raise
        raise AlreadyStarted(existing) from None
    return job


@dataclass(frozen=True)
class LaunchResult:
    started: bool
    model_expired: bool = False


async def launch(
    n8n: N8NClient, job: Prompt, model: PortraitModel, *, num_images: int, callback_url: str
) -> LaunchResult:
    try:
        prompt_id = await n8n.generate(
            request_id=str(job.request_id),
            telegram_id=model.user_id,
            model_id=str(model.model_id),
            model_type=model.model_type.value,
            prompt=job.prompt,
            num_images=num_images,
            callback_url=callback_url,
        )
    except N8NRejected as error:
        gone = error.status in (404, 410)
        if gone:  # the model no longer exists at Astria
            await PortraitModel.filter(id=model.id).update(status=ModelStatus.EXPIRED)
        await fail(job, str(error))
        return LaunchResult(started=False, model_expired=gone)
    except N8NError as error:
        logger.warning("generation {} was not accepted by N8N: {}", job.request_id, error)
        await fail(job, str(error))
        return LaunchResult(started=False)
    await Prompt.filter(id=job.id, prompt_id__isnull=True).update(prompt_id=prompt_id)
    await Prompt.filter(id=job.id, status=PromptStatus.PENDING).update(
        status=PromptStatus.PROCESSING
    )
    return LaunchResult(started=True)


async def fail(job: Prompt, error: str | None) -> bool:
    """Mark the job failed and return its credits, in one transaction and only if the job was
    still running (a late "failed" after "ready" changes nothing and refunds nothing)."""
    try:
        async with in_transaction() as connection:
            changed = await (
                Prompt.filter(id=job.id, status__in=FORWARD_FROM[PromptStatus.FAILED])
                .using_db(connection)
                .update(status=PromptStatus.FAILED, error=error)
            )
            if changed:
                await credits.release_in(
                    connection, LedgerReason.RESERVE_GENERATION, str(job.request_id)
                )
    except IntegrityError:
        return False
    return bool(changed)


class StatusUnknown(Exception):
    pass


@dataclass(frozen=True)
class StatusChange:
    job: Prompt
    changed: bool


async def find_job(prompt_id: str, request_id: str | None) -> Prompt:
    job = await Prompt.get_or_none(prompt_id=prompt_id)
    if job is None and request_id is not None:
        job = await Prompt.get_or_none(request_id=request_id)
        if job is not None and job.prompt_id is None:
            await Prompt.filter(id=job.id, prompt_id__isnull=True).update(prompt_id=prompt_id)
            job.prompt_id = prompt_id
    if job is None:
        raise StatusUnknown(prompt_id)
    return job


async def apply_status(
    prompt_id: str,
    request_id: str | None,
    status: PromptStatus,
    images: list[str],
    error: str | None,
) -> StatusChange:
    """Apply N8N's report. Only the call that moves the job to `ready` gets changed=True, so
    the images are delivered once however often, and wherever, N8N repeats itself."""
    job = await find_job(prompt_id, request_id)
    if status == PromptStatus.READY and not images:
        status, error = PromptStatus.FAILED, error or "no images"
    if status == PromptStatus.FAILED:
        changed = await fail(job, error)
    elif status == PromptStatus.READY:
        stored: list[dict[str, Any]] = [{"url": url, "file_id": None} for url in images]
        changed = bool(
            await Prompt.filter(id=job.id, status__in=FORWARD_FROM[status]).update(
                status=status, images=stored, delivery_started_at=datetime.now(UTC)
            )
        )
    else:
        changed = bool(
            await Prompt.filter(id=job.id, status__in=FORWARD_FROM[status]).update(status=status)
        )
    await job.refresh_from_db()
    return StatusChange(job=job, changed=changed)


async def remember_file_ids(job: Prompt, file_ids: list[str | None]) -> None:
    images = list(job.images or [])
    for image, file_id in zip(images, file_ids, strict=False):
        if file_id:
            image["file_id"] = file_id
    await Prompt.filter(id=job.id).update(images=images)
    job.images = images


async def mark_delivered(job: Prompt) -> None:
    """The user was answered (images sent, or told they could not be): delivery is over."""
    job.delivered_at = datetime.now(UTC)
    await Prompt.filter(id=job.id).update(delivered_at=job.delivered_at)


async def stalled_deliveries(started_before: datetime) -> list[Prompt]:
    """Ready jobs whose delivery began before `started_before` and never finished: the
    replica delivering them stopped answering."""
    return await Prompt.filter(
        status=PromptStatus.READY, delivered_at__isnull=True, delivery_started_at__lt=started_before
    )


async def claim_redelivery(job: Prompt) -> bool:
    """True for the one caller (of all replicas) that takes this stalled delivery over."""
    now = datetime.now(UTC)
    claimed = await Prompt.filter(
        id=job.id, delivered_at__isnull=True, delivery_started_at=job.delivery_started_at
    ).update(delivery_started_at=now)
    if claimed:
        job.delivery_started_at = now
    return bool(claimed)


async def history(telegram_id: int) -> list[Prompt]:
    return (
        await Prompt.filter(user_id=telegram_id).order_by("-created_at", "-id").limit(HISTORY_SIZE)
    )


async def model_names(model_ids: list[str]) -> dict[str, str]:
    models = await PortraitModel.filter(model_id__in=model_ids)
    return {str(model.model_id): model.name for model in models}


def album_sizes(count: int, largest: int = 10) -> list[int]:
    """Album sizes for `count` images: full albums of `largest`, except that a lone last image
    is avoided by splitting the last two albums evenly (11 → 6 + 5, 12 → 10 + 2, 21 → 10 + 6 + 5).
    A single image overall is sent as a photo."""
    if count <= 0:
        return []
    sizes = [largest] * (count // largest) + ([count % largest] if count % largest else [])
    if len(sizes) >= 2 and sizes[-1] == 1:
        pair = sizes[-2] + sizes[-1]
        sizes[-2:] = [pair - pair // 2, pair // 2]
    return sizes
