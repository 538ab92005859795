"""Training jobs: name rules, reserve → prepare photos → submit to N8N → apply N8N's status.

A button press and an N8N callback that change a job both come through here.
"""

from __future__ import annotations

import io
import unicodedata
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from loguru import logger
from tortoise.exceptions import IntegrityError
from tortoise.functions import Lower
from tortoise.transactions import in_transaction

from bot.models import LedgerReason, ModelStatus, ModelType, PortraitModel
from bot.services import credits
from bot.services.n8n import N8NClient, N8NError
from bot.services.photos import (
    PhotoRejected,
    check_file_size,
    inspect_image_async,
    prepare_image_async,
    to_data_url,
)

NAME_MAX_LENGTH = 40
# getFile answers with TelegramAPIError; the file transfer itself fails with aiohttp's errors.
DOWNLOAD_ERRORS = (TelegramAPIError, aiohttp.ClientError, TimeoutError)
# Where a status may come from: it only ever moves forward.
FORWARD_FROM: dict[ModelStatus, tuple[ModelStatus, ...]] = {
    ModelStatus.TRAINING: (ModelStatus.PENDING,),
    ModelStatus.READY: (ModelStatus.PENDING, ModelStatus.TRAINING),
    ModelStatus.FAILED: (ModelStatus.PENDING, ModelStatus.TRAINING),
}


class NameProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_PRINTABLE = "not_printable"
    TAKEN = "taken"


class InvalidName(Exception):
    def __init__(self, problem: NameProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


class AlreadyStarted(Exception):
    def __init__(self, model: PortraitModel) -> None:
        super().__init__(f"job {model.request_id} exists")
        self.model = model


def normalise_name(raw: str) -> str:
    """The model name as typed, whitespace collapsed; raises InvalidName when it is empty, too
    long or has characters that are not printable. The rules that need no database."""
    name = " ".join(raw.split())
    if not name:
        raise InvalidName(NameProblem.EMPTY)
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidName(NameProblem.TOO_LONG)
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise InvalidName(NameProblem.NOT_PRINTABLE)
    return name


async def check_name(telegram_id: int, raw: str) -> str:
    """normalise_name, and the name must not be one of the user's models already (in any case;
    a failed model's name may be reused)."""
    name = normalise_name(raw)
    taken = (
        await PortraitModel.filter(user_id=telegram_id)
        .exclude(status=ModelStatus.FAILED)
        .annotate(lower_name=Lower("name"))
        .filter(lower_name=name.lower())
        .exists()
    )
    if taken:
        raise InvalidName(NameProblem.TAKEN)
    return name


async def reserve(
    telegram_id: int, *, name: str, model_type: ModelType, request_id: uuid.UUID, cost: int
) -> PortraitModel:
    """Create the job row and take its credits in one transaction. Raises InsufficientCredits,
    or AlreadyStarted when this request was reserved before (a double tap, another replica)."""
    try:
        async with in_transaction() as connection:
            model = await PortraitModel.create(
                user_id=telegram_id,
                name=name,
                model_type=model_type,
                request_id=request_id,
                using_db=connection,
            )
            await credits.move_in(
                connection, telegram_id, -cost, LedgerReason.RESERVE_TRAINING, str(request_id)
            )
    except IntegrityError:
        existing = await PortraitModel.get_or_none(request_id=request_id)
        if existing is None:
            raise
        raise AlreadyStarted(existing) from None
    return model


@dataclass(frozen=True)
class PhotoFailure:
    label: str
    problem: str  # a PhotoProblem value, or "download"


@dataclass
class LaunchResult:
    started: bool
    failures: list[PhotoFailure] = field(default_factory=list)
    kept_photos: list[dict[str, Any]] = field(default_factory=list)
    too_few_photos: bool = False


async def download(bot: Bot, file_id: str) -> bytes:
    buffer = io.BytesIO()
    await bot.download(file_id, destination=buffer)
    return buffer.getvalue()


async def prepare_photos(
    bot: Bot, photos: list[dict[str, Any]], long_side: int
) -> tuple[list[str], list[dict[str, Any]], list[PhotoFailure]]:
    """Download and prepare every photo; returns data URLs, the photos kept, the failures."""
    images: list[str] = []
    kept: list[dict[str, Any]] = []
    failures: list[PhotoFailure] = []
    for photo in photos:
        try:
            data = await download(bot, photo["file_id"])
            jpeg = await prepare_image_async(data, long_side=long_side)
        except PhotoRejected as error:
            failures.append(PhotoFailure(photo["label"], error.problem.value))
            continue
        except DOWNLOAD_ERRORS as error:
            logger.warning("could not download {}: {}", photo["file_id"], error)
            failures.append(PhotoFailure(photo["label"], "download"))
            continue
        images.append(to_data_url(jpeg))
        kept.append(photo)
    return images, kept, failures


async def launch(
    bot: Bot,
    n8n: N8NClient,
    model: PortraitModel,
    photos: list[dict[str, Any]],
    *,
    min_photos: int,
    long_side: int,
    callback_url: str,
) -> LaunchResult:
    """Prepare the photos and hand the job to N8N. On any failure the credits go back."""
    images, kept, failures = await prepare_photos(bot, photos, long_side)
    if len(images) < min_photos:
        async with in_transaction() as connection:  # the job never existed for N8N: drop it
            dropped = await (
                PortraitModel.filter(id=model.id, status=ModelStatus.PENDING)
                .using_db(connection)
                .delete()
            )
            if dropped:
                await credits.release_in(
                    connection, LedgerReason.RESERVE_TRAINING, str(model.request_id)
                )
        return LaunchResult(started=False, failures=failures, kept_photos=kept, too_few_photos=True)
    try:
        model_id = await n8n.train(
            request_id=str(model.request_id),
            telegram_id=model.user_id,  # type: ignore[attr-defined]
            model_name=model.name,
            model_type=model.model_type.value,
            images=images,
            callback_url=callback_url,
        )
    except N8NError as error:
        logger.warning("training {} was not accepted by N8N: {}", model.request_id, error)
        await fail(model, str(error))
        return LaunchResult(started=False, failures=failures, kept_photos=kept)
    # A status callback may have overtaken this answer: only fill in what is still missing.
    await PortraitModel.filter(id=model.id, model_id__isnull=True).update(model_id=model_id)
    await PortraitModel.filter(id=model.id, status=ModelStatus.PENDING).update(
        status=ModelStatus.TRAINING
    )
    return LaunchResult(started=True, failures=failures, kept_photos=kept)


async def fail(model: PortraitModel, error: str | None) -> bool:
    """Mark a job failed and give its credits back, in one transaction and only if the job
    was still running (a late "failed" after "ready" changes nothing and refunds nothing)."""
    try:
        async with in_transaction() as connection:
            changed = await (
                PortraitModel.filter(id=model.id, status__in=FORWARD_FROM[ModelStatus.FAILED])
                .using_db(connection)
                .update(status=ModelStatus.FAILED, error=error)
            )
            if changed:
                await credits.release_in(
                    connection, LedgerReason.RESERVE_TRAINING, str(model.request_id)
                )
    except IntegrityError:  # another replica applied the same failure at the same moment
        return False
    return bool(changed)


class StatusUnknown(Exception):
    """No job with that model_id or request_id."""


@dataclass(frozen=True)
class StatusChange:
    model: PortraitModel
    changed: bool  # False for a repeat or a step backwards: nothing happened


async def find_job(model_id: str, request_id: str | None) -> PortraitModel:
    model = await PortraitModel.get_or_none(model_id=model_id)
    if model is None and request_id is not None:
        model = await PortraitModel.get_or_none(request_id=request_id)
        if model is not None and model.model_id is None:
            await PortraitModel.filter(id=model.id, model_id__isnull=True).update(model_id=model_id)
            model.model_id = model_id
    if model is None:
        raise StatusUnknown(model_id)
    return model


async def apply_status(
    model_id: str, request_id: str | None, status: ModelStatus, error: str | None
) -> StatusChange:
    """Apply N8N's report. Idempotent: a repeat or an out-of-order report changes nothing."""
    model = await find_job(model_id, request_id)
    if status == ModelStatus.FAILED:
        changed = await fail(model, error)
    else:
        changed = bool(
            await PortraitModel.filter(id=model.id, status__in=FORWARD_FROM[status]).update(
                status=status
            )
        )
    await model.refresh_from_db()
    return StatusChange(model=model, changed=changed)


# --- Photos arriving during the wizard -------------------------------------------------------

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif")


def is_image_document(mime_type: str | None, file_name: str | None) -> bool:
    return (mime_type or "").startswith("image/") or (file_name or "").lower().endswith(
        IMAGE_EXTENSIONS
    )


async def check_photo(bot: Bot, item: dict[str, Any]) -> str | None:
    """None when the photo is usable, else the problem (a PhotoProblem value or "download").
    A document over Telegram's 20 MB download limit is refused from its size alone."""
    if item.get("problem"):
        return str(item["problem"])
    try:
        check_file_size(item.get("file_size"))
        await inspect_image_async(await download(bot, item["file_id"]))
    except PhotoRejected as error:
        return error.problem.value
    except DOWNLOAD_ERRORS as error:
        logger.warning("could not download {}: {}", item["file_id"], error)
        return "download"
    return None


@dataclass
class PhotoBatch:
    """What became of the photos of one message or album."""

    accepted: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (label, problem)
    duplicates: int = 0
    over_limit: int = 0
    total: int = 0


def add_photos(
    kept: list[dict[str, Any]],
    checked: list[tuple[dict[str, Any], str | None]],
    max_photos: int,
) -> PhotoBatch:
    """Add the checked photos to `kept` (in place): refused ones are not counted, duplicates
    (same file_unique_id) ignored, and nothing beyond `max_photos` is kept."""
    batch = PhotoBatch()
    known = {photo["file_unique_id"] for photo in kept}
    for item, problem in checked:
        if problem is not None:
            batch.refused.append((item["label"], problem))
        elif item["file_unique_id"] in known:
            batch.duplicates += 1
        elif len(kept) >= max_photos:
            batch.over_limit += 1
        else:
            kept.append(item)
            known.add(item["file_unique_id"])
            batch.accepted += 1
    batch.total = len(kept)
    return batch
