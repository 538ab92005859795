"""Sending generated images: albums of 2–10 split evenly (a single image as a photo), the
prompt as the first caption. Telegram fetches the URLs itself; when it refuses one, the image is
downloaded here and uploaded. Flood limits are waited out by the session's RetryMiddleware."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import (
    BufferedInputFile,
    InputFile,
    InputMediaAudio,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
)
from loguru import logger

from bot.services.generation import album_sizes
from bot.services.shared import SharedStore

CAPTION_LIMIT = 1024
# Telegram accepts about one message a second in a chat; an album is sent as one burst.
ALBUM_GAP_SECONDS = 1.0
DOWNLOAD_LIMIT_BYTES = 10 * 2**20  # Telegram's limit for an uploaded photo
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=60)


class ImageUnavailable(Exception):
    """Neither Telegram nor the bot could fetch a generated image."""


async def fetch(url: str) -> bytes:
    try:
        async with (
            aiohttp.ClientSession(timeout=DOWNLOAD_TIMEOUT) as http,
            http.get(url) as response,
        ):
            if response.status != 200:
                raise ImageUnavailable(f"{url}: HTTP {response.status}")
            data = await response.content.read(DOWNLOAD_LIMIT_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise ImageUnavailable(f"{url}: {error}") from error
    if len(data) > DOWNLOAD_LIMIT_BYTES:
        raise ImageUnavailable(f"{url}: larger than 10 MB")
    return data


def largest_file_id(message: Message) -> str | None:
    return message.photo[-1].file_id if message.photo else None


async def _send(
    bot: Bot, chat_id: int, sources: Sequence[str | InputFile], caption: str | None
) -> list[str | None]:
    if len(sources) == 1:
        message = await bot.send_photo(chat_id, sources[0], caption=caption)
        return [largest_file_id(message)]
    media: list[InputMediaAudio | InputMediaDocument | InputMediaPhoto | InputMediaVideo] = [
        InputMediaPhoto(media=source, caption=caption if index == 0 else None)
        for index, source in enumerate(sources)
    ]
    messages = await bot.send_media_group(chat_id, media)  # type: ignore[arg-type]  # aiogram: invariant list[union]
    return [largest_file_id(message) for message in messages]


# What Telegram answers when it cannot fetch a URL itself.
URL_REFUSALS = (
    "wrong file identifier/http url",
    "failed to get http url content",
    "webpage_curl_failed",
    "webpage_media_empty",
    "wrong type of the web page content",
)


def url_refused(error: TelegramBadRequest) -> bool:
    return any(refusal in error.message.lower() for refusal in URL_REFUSALS)


async def _send_patiently(
    bot: Bot, chat_id: int, sources: Sequence[str | InputFile], caption: str | None
) -> list[str | None]:
    """Long flood waits (beyond what the session waits for) are waited out here too: a
    delivery runs in the background, so it may wait as long as Telegram asks."""
    while True:
        try:
            return await _send(bot, chat_id, sources, caption)
        except TelegramRetryAfter as error:
            logger.warning("delivery to {} waits {}s for Telegram", chat_id, error.retry_after)
            await asyncio.sleep(error.retry_after)


async def wait_turn(store: SharedStore, chat_id: int) -> None:
    """One album per chat per ALBUM_GAP_SECONDS, across replicas and across deliveries."""
    # The turn is a key in Redis shared by replicas: there is no local event to wait on.
    while True:
        if await store.claim(f"album-pace:{chat_id}", ALBUM_GAP_SECONDS):
            return
        await asyncio.sleep(ALBUM_GAP_SECONDS / 4)


async def send_images(
    bot: Bot,
    store: SharedStore,
    chat_id: int,
    images: Sequence[str],
    caption: str,
    *,
    by_file_id: bool = False,
    on_album: Callable[[list[str | None]], Awaitable[None]] | None = None,
) -> list[str | None]:
    """Send `images` (URLs, or Telegram file ids with `by_file_id`); returns the file ids.
    `on_album` gets the file ids known so far after each album, so a delivery cut short
    keeps what Telegram already has."""
    file_ids: list[str | None] = []
    offset = 0
    for size in album_sizes(len(images)):
        await wait_turn(store, chat_id)
        chunk = list(images[offset : offset + size])
        first_caption = caption if offset == 0 else None
        offset += size
        try:
            file_ids += await _send_patiently(bot, chat_id, chunk, first_caption)
        except TelegramBadRequest as error:
            if by_file_id or not url_refused(error):
                raise
            logger.warning("Telegram refused image URLs ({}); uploading the bytes", error.message)
            uploads = [
                BufferedInputFile(await fetch(url), filename=f"portrait-{number}.jpg")
                for number, url in enumerate(chunk, start=offset - size + 1)
            ]
            file_ids += await _send_patiently(bot, chat_id, uploads, first_caption)
        if on_album is not None:
            await on_album(file_ids)
    return file_ids
