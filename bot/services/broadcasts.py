"""Broadcasts: an admin's message to every active user, delivered in the background.

- One replica at a time delivers a broadcast: it holds a lease in the SharedStore, renewed
  while sending. A replica that stops releases it; one that dies lets it expire. The periodic
  worker of every replica picks up running broadcasts nobody holds.
- Each recipient is marked `sending` before its message and `sent` after, so a replica dying
  mid-message duplicates at most the one message in flight (SENDERS): whoever takes over puts
  the `sending` row back to `pending`.
- Every sender takes its slot in one schedule shared by all replicas (slots
  1/MESSAGES_PER_SECOND apart), so together they stay within MESSAGES_PER_SECOND in any
  second (Telegram allows about 30 per second).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.utils.i18n import I18n
from loguru import logger
from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from bot.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientStatus,
    User,
    UserStatus,
)
from bot.services import users
from bot.services.notifications import locale_of
from bot.services.shared import SharedStore
from bot.views import broadcast as views

MESSAGES_PER_SECOND = 25  # all replicas together
# Messages in flight at once. One, so that a replica dying mid-send duplicates at most that
# one message (the promise); Telegram's ~40-100 ms answers then give 10-25 msg/s.
SENDERS = 1
PAGE_SIZE = 200  # recipients read per query
LEASE_SECONDS = 15.0  # how long a dead replica's broadcast waits before another takes it over
PROGRESS_EVERY_SECONDS = 2.0
RESUME_EVERY_SECONDS = 10.0
# After a 5xx or network failure (already retried by the session): let Telegram recover.
OUTAGE_PAUSE_SECONDS = 5.0
MAX_TEXT_LENGTH = 4096  # Telegram's limit for one message

# Integers and enum constants only are inlined: one statement for any number of users.
FILL_RECIPIENTS_SQL = (
    "INSERT INTO broadcast_recipients (broadcast_id, telegram_id, status) "
    "SELECT {broadcast_id}, telegram_id, '{pending}' FROM telegram_users "
    "WHERE status = '{active}' ORDER BY telegram_id"
)


class AlreadyStarted(Exception):
    """A broadcast with this nonce exists: the confirm button was pressed before."""


@dataclass(frozen=True)
class Tally:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    pending: int = 0


async def active_user_count() -> int:
    return await User.filter(status=UserStatus.ACTIVE).count()


async def exists(nonce: str) -> bool:
    return await Broadcast.filter(nonce=nonce).exists()


async def start(
    *,
    admin_id: int,
    nonce: str,
    text: str,
    progress_chat_id: int | None,
    progress_message_id: int | None,
) -> Broadcast:
    """Create the broadcast and its recipients (every active user) in one transaction."""
    try:
        async with in_transaction() as connection:
            broadcast = await Broadcast.create(
                admin_id=admin_id,
                nonce=nonce,
                text=text,
                progress_chat_id=progress_chat_id,
                progress_message_id=progress_message_id,
                using_db=connection,
            )
            await connection.execute_query(
                FILL_RECIPIENTS_SQL.format(
                    broadcast_id=int(broadcast.id),
                    pending=RecipientStatus.PENDING.value,
                    active=UserStatus.ACTIVE.value,
                )
            )
            total = (
                await BroadcastRecipient.filter(broadcast_id=broadcast.id)
                .using_db(connection)
                .count()
            )
            await Broadcast.filter(id=broadcast.id).using_db(connection).update(total=total)
    except IntegrityError as error:
        raise AlreadyStarted(nonce) from error
    broadcast.total = total
    logger.info("broadcast {} started by {} for {} users", broadcast.id, admin_id, total)
    return broadcast


async def tally(broadcast_id: int) -> Tally:
    rows = (
        await BroadcastRecipient.filter(broadcast_id=broadcast_id)
        .annotate(count=Count("id"))
        .group_by("status")
        .values_list("status", "count")
    )
    counts = {RecipientStatus(status): int(count) for status, count in rows}
    return Tally(
        sent=counts.get(RecipientStatus.SENT, 0),
        blocked=counts.get(RecipientStatus.BLOCKED, 0),
        failed=counts.get(RecipientStatus.FAILED, 0),
        pending=counts.get(RecipientStatus.PENDING, 0) + counts.get(RecipientStatus.SENDING, 0),
    )


def lease_key(broadcast_id: int) -> str:
    return f"broadcast-lease:{broadcast_id}"


@dataclass
class _Delivery:
    """One replica's turn at one broadcast, while it holds the lease."""

    broadcast: Broadcast
    bot: Bot
    i18n: I18n
    store: SharedStore
    stopping: asyncio.Event
    locale: str
    lost: asyncio.Event = field(default_factory=asyncio.Event)  # another replica took over

    def should_stop(self) -> bool:
        return self.stopping.is_set() or self.lost.is_set()


async def deliver(
    broadcast_id: int, bot: Bot, i18n: I18n, store: SharedStore, stopping: asyncio.Event
) -> None:
    """Deliver a broadcast unless another replica does. Returns when it is done, or when this
    replica stops (between messages; the lease is released so the next replica resumes)."""
    owner = uuid.uuid4().hex
    key = lease_key(broadcast_id)
    if stopping.is_set() or not await store.hold(key, owner, LEASE_SECONDS):
        return
    lost = asyncio.Event()
    keeper = asyncio.create_task(_keep_lease(store, key, owner, lost))
    try:
        broadcast = await Broadcast.get_or_none(id=broadcast_id, status=BroadcastStatus.RUNNING)
        if broadcast is None:
            return
        admin = await User.get_or_none(telegram_id=broadcast.admin_id)
        locale = locale_of(i18n, admin) if admin is not None else i18n.default_locale
        delivery = _Delivery(broadcast, bot, i18n, store, stopping, locale, lost)
        # Holding the lease, any `sending` row is a message the previous holder may or may
        # not have sent before it died: sending it again duplicates at most that one.
        reclaimed = await BroadcastRecipient.filter(
            broadcast_id=broadcast_id, status=RecipientStatus.SENDING
        ).update(status=RecipientStatus.PENDING)
        if reclaimed:
            logger.info("broadcast {}: {} interrupted sends go again", broadcast_id, reclaimed)
        await _send_all(delivery)
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        if not lost.is_set():
            await store.release_held(key, owner)


async def _keep_lease(store: SharedStore, key: str, owner: str, lost: asyncio.Event) -> None:
    while True:
        await asyncio.sleep(LEASE_SECONDS / 3)
        try:
            if not await store.hold(key, owner, LEASE_SECONDS):
                logger.warning("{}: taken over by another replica, stopping here", key)
                lost.set()
                return
        except Exception as error:  # a store hiccup: the lease may still be renewed in time
            logger.warning("{}: could not renew the lease: {}", key, error)


async def _send_all(delivery: _Delivery) -> None:
    broadcast_id = delivery.broadcast.id
    loop = asyncio.get_running_loop()
    shown_at = loop.time()
    after_id = 0  # a keyset cursor: every page is one indexed range read
    while not delivery.should_stop():
        page = (
            await BroadcastRecipient.filter(
                broadcast_id=broadcast_id, status=RecipientStatus.PENDING, id__gt=after_id
            )
            .order_by("id")
            .limit(PAGE_SIZE)
            .values_list("id", "telegram_id")
        )
        if not page:
            if after_id == 0:
                await _finish(delivery)
                return
            after_id = 0  # one more pass from the start: rows put back meanwhile
            continue
        for offset in range(0, len(page), SENDERS):
            if delivery.should_stop():
                break
            group = page[offset : offset + SENDERS]
            results = await asyncio.gather(
                *(_send_one(delivery, recipient_id, chat_id) for recipient_id, chat_id in group),
                return_exceptions=True,
            )
            after_id = group[-1][0]
            pauses: list[float] = []
            for result in results:
                if isinstance(result, BaseException):
                    raise result
                pauses.append(result)
            pause = max(pauses)
            if loop.time() - shown_at >= PROGRESS_EVERY_SECONDS:
                await _show_progress(delivery, finished=False)
                shown_at = loop.time()
            if pause:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(delivery.stopping.wait(), timeout=pause)
    if not delivery.lost.is_set():
        logger.info("broadcast {}: paused, another replica will resume it", broadcast_id)
        await _show_progress(delivery, finished=False)


async def _send_one(delivery: _Delivery, recipient_id: int, chat_id: int) -> float:
    """Send one copy; returns how long the whole broadcast should pause afterwards."""
    claimed = await BroadcastRecipient.filter(
        id=recipient_id, status=RecipientStatus.PENDING
    ).update(status=RecipientStatus.SENDING)
    if not claimed:
        return 0.0
    status_now = await User.filter(telegram_id=chat_id).first().values_list("status", flat=True)
    if status_now != UserStatus.ACTIVE:
        # Banned, blocked or gone (/delete) since the broadcast began: no message, and for
        # someone gone, no trace of their id either (unique per broadcast: the row's own id).
        gone = status_now is None
        await BroadcastRecipient.filter(id=recipient_id).update(
            status=RecipientStatus.BLOCKED
            if status_now == UserStatus.BLOCKED
            else RecipientStatus.FAILED,
            **({"telegram_id": -recipient_id} if gone else {}),
        )
        return 0.0
    await _take_rate_slot(delivery.store)
    pause = 0.0
    try:
        # Flood limits up to a minute are waited out by the session's RetryMiddleware.
        await delivery.bot.send_message(chat_id, delivery.broadcast.text)
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
    await BroadcastRecipient.filter(id=recipient_id).update(status=status)
    return pause


async def _take_rate_slot(store: SharedStore) -> None:
    """Wait for this message's slot in a schedule shared by every replica: slots are
    1/MESSAGES_PER_SECOND apart, so no second-long window ever holds more."""
    delay = await store.pace("broadcast-pace", 1 / MESSAGES_PER_SECOND)
    if delay > 0:
        await asyncio.sleep(delay)


async def _finish(delivery: _Delivery) -> None:
    broadcast = delivery.broadcast
    finished = await Broadcast.filter(id=broadcast.id, status=BroadcastStatus.RUNNING).update(
        status=BroadcastStatus.DONE, finished_at=datetime.now(UTC)
    )
    if finished:
        await _show_progress(delivery, finished=True)


async def _show_progress(delivery: _Delivery, *, finished: bool) -> None:
    """Edit the admin's one progress message (sent anew only if there is none)."""
    broadcast = delivery.broadcast
    counts = await tally(broadcast.id)
    logger.info(
        "broadcast {}{}: sent {} of {}, blocked {}, failed {}",
        broadcast.id,
        " finished" if finished else "",
        counts.sent,
        broadcast.total,
        counts.blocked,
        counts.failed,
    )
    with delivery.i18n.context(), delivery.i18n.use_locale(delivery.locale):
        text = views.progress_text(
            sent=counts.sent,
            total=broadcast.total,
            blocked=counts.blocked,
            failed=counts.failed,
            finished=finished,
        )
    bot = delivery.bot
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
    broadcast.progress_chat_id = message.chat.id
    broadcast.progress_message_id = message.message_id
    await Broadcast.filter(id=broadcast.id).update(
        progress_chat_id=message.chat.id, progress_message_id=message.message_id
    )


async def resume_broadcasts_until(
    stopping: asyncio.Event, bot: Bot, i18n: I18n, store: SharedStore
) -> None:
    """Resume broadcasts whose replica stopped or died, until `stopping` is set."""
    while not stopping.is_set():
        try:
            running = await Broadcast.filter(status=BroadcastStatus.RUNNING).order_by("id")
            for broadcast in running:
                await deliver(broadcast.id, bot, i18n, store, stopping)
        except Exception as error:  # a hiccup (database, Redis) must not end the worker
            logger.warning("resuming broadcasts failed: {}", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=RESUME_EVERY_SECONDS)
