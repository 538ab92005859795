"""Generation: choosing a ready model, the prompt's rules, handing a generation job to N8N and
the bookkeeping of its delivery (its lifecycle is services.jobs, shared with training)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loguru import logger

from bot.models import ModelStatus, PortraitModel, Prompt, PromptStatus
from bot.services import jobs
from bot.services.jobs import Outcome
from bot.services.n8n import N8NClient, N8NError, N8NRejected

PROMPT_MIN_LENGTH = 3
PROMPT_MAX_LENGTH = 1000
HISTORY_SIZE = 10


class InvalidPrompt(Exception):
    def __init__(self, too_short: bool) -> None:
        super().__init__("too short" if too_short else "too long")
        self.too_short = too_short


class ModelNotAvailable(Exception):
    """Not the user's model, or not ready."""


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
    return await jobs.reserve(
        jobs.GENERATION, telegram_id, request_id, cost, model_id=model.model_id, prompt=prompt
    )


@dataclass(frozen=True)
class GenerationLaunch:
    outcome: Outcome
    model: PortraitModel | None = None  # with MODEL_EXPIRED: the model that is gone


async def launch(
    n8n: N8NClient, job: Prompt, model: PortraitModel, *, num_images: int, callback_url: str
) -> GenerationLaunch:
    """Hand the job to N8N. On any failure the credits go back."""
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
        await jobs.fail(jobs.GENERATION, job, str(error))
        return (
            GenerationLaunch(Outcome.MODEL_EXPIRED, model)
            if gone
            else GenerationLaunch(Outcome.REFUSED)
        )
    except N8NError as error:
        logger.warning("generation {} was not accepted by N8N: {}", job.request_id, error)
        await jobs.fail(jobs.GENERATION, job, str(error))
        return GenerationLaunch(Outcome.REFUSED)
    await jobs.submitted(jobs.GENERATION, job, prompt_id)
    return GenerationLaunch(Outcome.STARTED)


async def apply_status(
    prompt_id: str,
    request_id: str | None,
    status: PromptStatus,
    images: list[str],
    error: str | None,
) -> jobs.StatusChange[Prompt]:
    """N8N's report on a generation: `ready` stores the images and claims their delivery
    (the one call that moves the job to ready delivers them); `ready` without images fails."""
    if status == PromptStatus.READY and not images:
        status, error = PromptStatus.FAILED, error or "no images"
    stored: list[dict[str, Any]] = [{"url": url, "file_id": None} for url in images]
    return await jobs.apply_status(
        jobs.GENERATION,
        prompt_id,
        request_id,
        status,
        error,
        images=stored,
        delivery_started_at=datetime.now(UTC),
    )


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
