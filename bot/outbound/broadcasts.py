"""Sending a broadcast: one replica at a time (a lease in the SharedStore), every sender taking
its slot in one schedule shared by all replicas (slots 1/MESSAGES_PER_SECOND apart), and the
admin's one progress message edited as it goes. The records are services.broadcasts'."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from loguru import logger

from bot.models import Broadcast, BroadcastStatus, RecipientStatus, User
from bot.outbound.outbox import Outbox
from bot.services import broadcasts, users
from bot.views import broadcast as views

# Messages in flight at once. One, so that a replica dying mid-send duplicates at most that
# one message; Telegram's ~40-100 ms answers then give 10-25 msg/s.
SENDERS = 1
PROGRESS_EVERY_SECONDS = 2.0
RESUME_EVERY_SECONDS = 10.0
# After a 5xx or network failure (already retried by the session): let Telegram recover.
OUTAGE_PAUSE_SECONDS = 5.0


@dataclass
class _Delivery:
    """One replica's turn at one broadcast, while it holds the lease."""

    broadcast: Broadcast
    outbox: Outbox
    stopping: asyncio.Event
    locale: str
    lost: asyncio.Event = field(default_factory=asyncio.Event)  # another replica took over

    def should_stop(self) -> bool:
        return self.stopping.is_set() or self.lost.is_set()


async def deliver(outbox: Outbox, broadcast_id: int, stopping: asyncio.Event) -> None:
    """Deliver a broadcast unless another replica does. Returns when it is done, or when this
    replica stops (between messages; the lease is released so the next replica resumes)."""
    owner = uuid.uuid4().hex
    key = broadcasts.lease_key(broadcast_id)
    if stopping.is_set() or not await outbox.store.hold(key, owner, broadcasts.LEASE_SECONDS):
        return
    lost = asyncio.Event()
    keeper = asyncio.create_task(_keep_lease(outbox, key, owner, lost))
    try:
        broadcast = await Broadcast.get_or_none(id=broadcast_id, status=BroadcastStatus.RUNNING)
        if broadcast is None:
            return
        admin = await User.get_or_none(telegram_id=broadcast.admin_id)
        locale = outbox.locale_of(admin) if admin is not None else outbox.i18n.default_locale
        delivery = _Delivery(broadcast, outbox, stopping, locale, lost)
        # Holding the lease, any `sending` row is a message the previous holder may or may
        # not have sent before it died.
        await broadcasts.reclaim_interrupted(broadcast_id)
        await _send_all(delivery)
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        if not lost.is_set():
            await outbox.store.release_held(key, owner)


async def resume_all(outbox: Outbox, stopping: asyncio.Event) -> None:
    """Resume the broadcasts whose replica stopped or died (a periodic worker's pass)."""
    for broadcast_id in await broadcasts.running_ids():
        await deliver(outbox, broadcast_id, stopping)


async def _keep_lease(outbox: Outbox, key: str, owner: str, lost: asyncio.Event) -> None:
    while True:
        await asyncio.sleep(broadcasts.LEASE_SECONDS / 3)
        try:
            if not await outbox.store.hold(key, owner, broadcasts.LEASE_SECONDS):
                logger.warning("{}: taken over by another replica, stopping here", key)
                lost.set()
                return
        except Exception as error:  # a store hiccup: the lease may still be renewed in time
            logger.warning("{}: could not renew the lease: {}", key, error)


async def _send_all(delivery: _Delivery) -> None:
    broadcast_id = delivery.broadcast.id
    loop = asyncio.get_running_loop()
    shown_at = loop.time()
    after_id = 0
    while not delivery.should_stop():
        page = await broadcasts.pending_page(broadcast_id, after_id)
        if not page:
            if after_id == 0:
                if await broadcasts.finish(broadcast_id):
                    await _show_progress(delivery, finished=True)
                return
            after_id = 0  # one more pass from the start: rows put back meanwhile
            continue
        for offset in range(0, len(page), SENDERS):
            if delivery.should_stop():
                break
            group = page[offset : offset + SENDERS]
            pauses = await asyncio.gather(
                *(_send_one(delivery, recipient_id, chat_id) for recipient_id, chat_id in group)
            )
            after_id = group[-1][0]
            if loop.time() - shown_at >= PROGRESS_EVERY_SECONDS:
                await _show_progress(delivery, finished=False)
                shown_at = loop.time()
            if pause := max(pauses):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(delivery.stopping.wait(), timeout=pause)
    if not delivery.lost.is_set():
        logger.info("broadcast {}: paused, another replica will resume it", broadcast_id)
        await _show_progress(delivery, finished=False)


async def _send_one(delivery: _Delivery, recipient_id: int, chat_id: int) -> float:
    """Send one copy; returns how long the whole broadcast should pause afterwards."""
    if not await broadcasts.claim_recipient(recipient_id, chat_id):
        return 0.0
    await _take_rate_slot(delivery.outbox)
    pause = 0.0
    try:
        # Flood limits up to a minute are waited out by the session's RetryMiddleware.
        await delivery.outbox.bot.send_message(chat_id, delivery.broadcast.text)
        status = RecipientStatus.SENT
    except TelegramForbiddenError:
        status = RecipientStatus.BLOCKED
        await users.mark_blocked(chat_id)
    except TelegramRetryAfter as error:  # a longer flood wait: this one goes again later
        logger.warning("broadcast: waiting {}s before messaging {}", error.retry_after, chat_id)
        status, pause = RecipientStatus.PENDING, float(error.retry_after)
    except (TelegramServerError, TelegramNetworkError) as error:
        # Already retried by the session; a send that timed out may have arrived, so it is
        # not sent again.
        logger.warning("broadcast: could not message {}: {}", chat_id, error)
        status, pause = RecipientStatus.FAILED, OUTAGE_PAUSE_SECONDS
    except TelegramAPIError as error:  # chat not found, …
        logger.warning("broadcast: could not message {}: {}", chat_id, error)
        status = RecipientStatus.FAILED
    await broadcasts.record(recipient_id, status)
    return pause


async def _take_rate_slot(outbox: Outbox) -> None:
    """Wait for this message's slot in a schedule shared by every replica: slots are
    1/MESSAGES_PER_SECOND apart, so no second-long window ever holds more."""
    delay = await outbox.store.pace("broadcast-pace", 1 / broadcasts.MESSAGES_PER_SECOND)
    if delay > 0:
        await asyncio.sleep(delay)


async def _show_progress(delivery: _Delivery, *, finished: bool) -> None:
    """Edit the admin's one progress message (sent anew only if there is none)."""
    broadcast = delivery.broadcast
    counts = await broadcasts.tally(broadcast.id)
    logger.info(
        "broadcast {}{}: sent {} of {}, blocked {}, failed {}",
        broadcast.id,
        " finished" if finished else "",
        counts.sent,
        broadcast.total,
        counts.blocked,
        counts.failed,
    )
    with delivery.outbox.speaking(delivery.locale):
        text = views.progress_text(
            sent=counts.sent,
            total=broadcast.total,
            blocked=counts.blocked,
            failed=counts.failed,
            finished=finished,
        )
    bot = delivery.outbox.bot
    try:
        if broadcast.progress_chat_id is not None and broadcast.progress_message_id is not None:
            await bot.edit_message_text(
                text,
                chat_id=broadcast.progress_chat_id,
                message_id=broadcast.progress_message_id,
            )
            return
    except TelegramBadRequest as error:
        if "message is not modified" in error.message:
            return
        logger.warning("broadcast {}: progress message not edited: {}", broadcast.id, error)
    except TelegramAPIError as error:
        logger.warning("broadcast {}: progress message not edited: {}", broadcast.id, error)
        return
    # No progress message yet, or it is gone: send one and edit that from now on.
    try:
        message = await bot.send_message(broadcast.admin_id, text)
    except TelegramAPIError as error:
        logger.warning("broadcast {}: progress message not sent: {}", broadcast.id, error)
        return
    await broadcasts.set_progress_message(broadcast, message.chat.id, message.message_id)
