"""Broadcasts: an admin's message to every active user. This module keeps their records;
bot.outbound.broadcasts sends them.

- One replica at a time delivers a broadcast: it holds a lease in the SharedStore
  (`lease_key`), renewed while sending; another replica resumes a broadcast nobody holds.
- Each recipient is marked `sending` before its message and `sent` after, so a replica dying
  mid-message duplicates at most the message in flight: whoever takes over puts the `sending`
  rows back to `pending`.
- All replicas together stay within MESSAGES_PER_SECOND (Telegram allows about 30).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

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

MESSAGES_PER_SECOND = 25  # all replicas together
PAGE_SIZE = 200  # recipients read per query
LEASE_SECONDS = 15.0  # how long a dead replica's broadcast waits before another takes it over
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


async def started_by(nonce: str, admin_id: int) -> bool:
    """Whether this admin already started the broadcast of this preview."""
    return await Broadcast.filter(nonce=nonce, admin_id=admin_id).exists()


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


async def running_ids() -> list[int]:
    return [
        broadcast.id
        for broadcast in await Broadcast.filter(status=BroadcastStatus.RUNNING).order_by("id")
    ]


async def reclaim_interrupted(broadcast_id: int) -> int:
    """Put back the `sending` rows: messages the previous holder of the lease may or may not
    have sent before it died. Sending them again duplicates at most one message."""
    reclaimed = await BroadcastRecipient.filter(
        broadcast_id=broadcast_id, status=RecipientStatus.SENDING
    ).update(status=RecipientStatus.PENDING)
    if reclaimed:
        logger.info("broadcast {}: {} interrupted sends go again", broadcast_id, reclaimed)
    return reclaimed


async def pending_page(broadcast_id: int, after_id: int) -> list[tuple[int, int]]:
    """The next recipients to send to, as (row id, chat id), by a keyset cursor (every page
    is one indexed range read)."""
    return list(
        await BroadcastRecipient.filter(
            broadcast_id=broadcast_id, status=RecipientStatus.PENDING, id__gt=after_id
        )
        .order_by("id")
        .limit(PAGE_SIZE)
        .values_list("id", "telegram_id")
    )


async def claim_recipient(recipient_id: int, chat_id: int) -> bool:
    """Mark the recipient `sending` (so a replica dying mid-message duplicates at most it);
    False when it was taken, or when its user is no longer active (banned, blocked or gone
    since the broadcast began: no message, and for someone gone no trace of their id)."""
    claimed = await BroadcastRecipient.filter(
        id=recipient_id, status=RecipientStatus.PENDING
    ).update(status=RecipientStatus.SENDING)
    if not claimed:
        return False
    status_now = await User.filter(telegram_id=chat_id).first().values_list("status", flat=True)
    if status_now == UserStatus.ACTIVE:
        return True
    gone = status_now is None  # unique per broadcast: the row's own id stands in for theirs
    await BroadcastRecipient.filter(id=recipient_id).update(
        status=RecipientStatus.BLOCKED
        if status_now == UserStatus.BLOCKED
        else RecipientStatus.FAILED,
        **({"telegram_id": -recipient_id} if gone else {}),
    )
    return False


async def record(recipient_id: int, status: RecipientStatus) -> None:
    await BroadcastRecipient.filter(id=recipient_id).update(status=status)


async def finish(broadcast_id: int) -> bool:
    """True for the one caller that marks the broadcast done."""
    return bool(
        await Broadcast.filter(id=broadcast_id, status=BroadcastStatus.RUNNING).update(
            status=BroadcastStatus.DONE, finished_at=datetime.now(UTC)
        )
    )


async def set_progress_message(broadcast: Broadcast, chat_id: int, message_id: int) -> None:
    broadcast.progress_chat_id, broadcast.progress_message_id = chat_id, message_id
    await Broadcast.filter(id=broadcast.id).update(
        progress_chat_id=chat_id, progress_message_id=message_id
    )
