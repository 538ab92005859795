"""Training: the rules of a model's name, the photos of the wizard, and handing a training job
to N8N (its lifecycle is services.jobs, shared with generation)."""

from __future__ import annotations

import io
import unicodedata
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from loguru import logger
from pydantic import BaseModel
from tortoise.functions import Lower

from bot.models import ModelStatus, ModelType, PortraitModel
from bot.services import jobs
from bot.services.jobs import Outcome
from bot.services.n8n import N8NClient, N8NError
from bot.services.photos import (
    PhotoProblem,
    PhotoRejected,
    check_file_size,
    inspect_image_async,
    prepare_image_async,
    to_data_url,
)

NAME_MAX_LENGTH = 40
# getFile answers with TelegramAPIError; the file transfer itself fails with aiohttp's errors.
DOWNLOAD_ERRORS = (TelegramAPIError, aiohttp.ClientError, TimeoutError)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif")


class NameProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_PRINTABLE = "not_printable"
    TAKEN = "taken"


class InvalidName(Exception):
    def __init__(self, problem: NameProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def normalise_name(raw: str) -> str:
    """The name with its whitespace collapsed; raises InvalidName when it cannot be a name."""
    name = " ".join(raw.split())
    if not name:
        raise InvalidName(NameProblem.EMPTY)
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidName(NameProblem.TOO_LONG)
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise InvalidName(NameProblem.NOT_PRINTABLE)
    return name


async def check_name(telegram_id: int, raw: str) -> str:
    """A valid name that none of the user's models has (case-insensitive; failed ones free
    their name)."""
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


class PhotoItem(BaseModel):
    """A photo sent for training, as the wizard keeps it: Telegram's file ids only."""

    file_id: str
    file_unique_id: str
    file_size: int | None = None
    message_id: int
    is_document: bool = False
    file_name: str | None = None
    number: int | None = None  # its place in its album
    problem: PhotoProblem | None = None  # known on arrival (an album item that is no image)


def is_image_document(mime_type: str | None, file_name: str | None) -> bool:
    return (mime_type or "").startswith("image/") or (file_name or "").lower().endswith(
        IMAGE_EXTENSIONS
    )


async def download(bot: Bot, file_id: str) -> bytes:
    buffer = io.BytesIO()
    await bot.download(file_id, destination=buffer)
    return buffer.getvalue()


async def check_photo(bot: Bot, item: PhotoItem) -> PhotoProblem | None:
    """None when the photo is usable, else its problem. A document over Telegram's 20 MB
    download limit is refused from its size alone."""
    if item.problem is not None:
        return item.problem
    try:
        check_file_size(item.file_size)
        await inspect_image_async(await download(bot, item.file_id))
    except PhotoRejected as error:
        return error.problem
    except DOWNLOAD_ERRORS as error:
        logger.warning("could not download {}: {}", item.file_id, error)
        return PhotoProblem.DOWNLOAD
    return None


@dataclass(frozen=True)
class PhotoFailure:
    item: PhotoItem
    problem: PhotoProblem


@dataclass
class PhotoBatch:
    """What became of the photos of one message or album."""

    accepted: int = 0
    refused: list[PhotoFailure] = field(default_factory=list)
    duplicates: int = 0
    over_limit: int = 0
    total: int = 0


def add_photos(
    kept: list[PhotoItem],
    checked: list[tuple[PhotoItem, PhotoProblem | None]],
    max_photos: int,
) -> PhotoBatch:
    """Add the checked photos to `kept` (in place): refused ones are not counted, duplicates
    (same file_unique_id) ignored, and nothing beyond `max_photos` is kept."""
    batch = PhotoBatch()
    known = {photo.file_unique_id for photo in kept}
    for item, problem in checked:
        if problem is not None:
            batch.refused.append(PhotoFailure(item, problem))
        elif item.file_unique_id in known:
            batch.duplicates += 1
        elif len(kept) >= max_photos:
            batch.over_limit += 1
        else:
            kept.append(item)
            known.add(item.file_unique_id)
            batch.accepted += 1
    batch.total = len(kept)
    return batch


async def reserve(
    telegram_id: int, *, name: str, model_type: ModelType, request_id: uuid.UUID, cost: int
) -> PortraitModel:
    return await jobs.reserve(
        jobs.TRAINING, telegram_id, request_id, cost, name=name, model_type=model_type
    )


@dataclass
class TrainingLaunch:
    outcome: Outcome
    failures: list[PhotoFailure] = field(default_factory=list)
    kept_photos: list[PhotoItem] = field(default_factory=list)


async def prepare_photos(
    bot: Bot, photos: list[PhotoItem], long_side: int
) -> tuple[list[str], list[PhotoItem], list[PhotoFailure]]:
    """Download and prepare every photo; returns data URLs, the photos kept, the failures."""
    images: list[str] = []
    kept: list[PhotoItem] = []
    failures: list[PhotoFailure] = []
    for photo in photos:
        try:
            jpeg = await prepare_image_async(
                await download(bot, photo.file_id), long_side=long_side
            )
        except PhotoRejected as error:
            failures.append(PhotoFailure(photo, error.problem))
            continue
        except DOWNLOAD_ERRORS as error:
            logger.warning("could not download {}: {}", photo.file_id, error)
            failures.append(PhotoFailure(photo, PhotoProblem.DOWNLOAD))
            continue
        images.append(to_data_url(jpeg))
        kept.append(photo)
    return images, kept, failures


async def launch(
    bot: Bot,
    n8n: N8NClient,
    model: PortraitModel,
    photos: list[PhotoItem],
    *,
    min_photos: int,
    long_side: int,
    callback_url: str,
) -> TrainingLaunch:
    """Prepare the photos and hand the job to N8N. On any failure the credits go back."""
    images, kept, failures = await prepare_photos(bot, photos, long_side)
    if len(images) < min_photos:  # the job never existed for N8N: drop it
        await jobs.withdraw(jobs.TRAINING, model)
        return TrainingLaunch(Outcome.TOO_FEW_PHOTOS, failures, kept)
    try:
        model_id = await n8n.train(
            request_id=str(model.request_id),
            telegram_id=model.user_id,
            model_name=model.name,
            model_type=model.model_type.value,
            images=images,
            callback_url=callback_url,
        )
    except N8NError as error:
        logger.warning("training {} was not accepted by N8N: {}", model.request_id, error)
        await jobs.fail(jobs.TRAINING, model, str(error))
        return TrainingLaunch(Outcome.REFUSED, failures, kept)
    await jobs.submitted(jobs.TRAINING, model, model_id)
    return TrainingLaunch(Outcome.STARTED, failures, kept)
