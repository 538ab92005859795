"""Deleting a user's data (/delete) and retrying the model deletions N8N refused.

Models are deleted at N8N first (Astria holds the trained weights); the database then forgets
the user in one transaction. Money history is kept for accounting, moved to an anonymous user
row whose telegram_id is an opaque negative key (Telegram user ids are positive).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from loguru import logger
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from bot.models import (
    RUNNING_MODEL_STATUSES,
    RUNNING_PROMPT_STATUSES,
    BroadcastRecipient,
    CreditEntry,
    LedgerReason,
    Payment,
    PendingModelDeletion,
    PortraitModel,
    Prompt,
    RecipientStatus,
    User,
    UserStatus,
)
from bot.services.n8n import N8NClient, N8NError, N8NRejected
from bot.services.users import erased_reference

NOT_CONFIGURED = "N8N is not configured (API_BASE_URL unset)"

DELETION_RETRY_SECONDS = 60.0
TURN_KEY = "model-deletions-turn"
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=1)
BATCH_SIZE = 50  # rows per pass: a long N8N outage must not make one pass endless


@dataclass(frozen=True)
class Footprint:
    """What /delete would delete, and what still runs (and blocks it)."""

    models: int
    generations: int
    credits: int
    training: list[str] = field(default_factory=list)  # names of models being trained
    generating: int = 0  # generations under way

    @property
    def busy(self) -> bool:
        return bool(self.training or self.generating)


@dataclass(frozen=True)
class Erasure:
    models: int
    generations: int
    queued: list[str]  # Astria model ids to delete at N8N (pending_model_deletions rows)


class JobsRunning(Exception):
    def __init__(self, footprint: Footprint) -> None:
        super().__init__("a training or generation is running")
        self.footprint = footprint


async def footprint_of(telegram_id: int, connection: BaseDBAsyncClient | None = None) -> Footprint:
    models = PortraitModel.filter(user_id=telegram_id).using_db(connection)
    prompts = Prompt.filter(user_id=telegram_id).using_db(connection)
    user = await User.filter(telegram_id=telegram_id).using_db(connection).first()
    training = await models.filter(status__in=RUNNING_MODEL_STATUSES).values_list("name", flat=True)
    return Footprint(
        models=await models.count(),
        generations=await prompts.count(),
        credits=user.credits if user is not None else 0,
        training=[str(name) for name in training],
        generating=await prompts.filter(status__in=RUNNING_PROMPT_STATUSES).count(),
    )


async def delete_remote(n8n: N8NClient | None, model_id: str) -> str | None:
    """Delete one model at N8N; None when it is gone (404 included), else why not."""
    if n8n is None:
        return NOT_CONFIGURED
    try:
        await n8n.delete_model(model_id)
    except N8NRejected as error:
        if error.status == 404:  # already gone at Astria: that is what we wanted
            return None
        return str(error)
    except N8NError as error:
        return str(error) or type(error).__name__
    return None


def opaque_key() -> int:
    # Negative, so it never collides with a Telegram user id; 62 bits stay within BIGINT.
    return -(secrets.randbits(62) + 1)


async def erase(telegram_id: int, *, erasure_key: str) -> Erasure:
    """Delete everything about the user except money history, which is anonymised, in one
    transaction; their models are queued for deletion at N8N (`delete_queued` tries them at
    once, the worker retries). Raises JobsRunning when a training or generation is under way.
    Nothing slow happens here: the user's isolation lock is held meanwhile."""
    async with in_transaction() as connection:
        # The row lock makes the "nothing runs" check and the deletion one step.
        user = (
            await User.filter(telegram_id=telegram_id)
            .using_db(connection)
            .select_for_update()
            .first()
        )
        footprint = await footprint_of(telegram_id, connection)
        if footprint.busy:
            raise JobsRunning(footprint)
        model_ids = [
            str(model_id)
            for model_id in await PortraitModel.filter(user_id=telegram_id, model_id__isnull=False)
            .using_db(connection)
            .values_list("model_id", flat=True)
        ]
        for model_id in model_ids:
            await _queue_deletion(connection, model_id)
        if user is not None:
            await _forget(connection, user, erasure_key)
    logger.info(
        "a user's data was deleted: {} models, {} generations",
        footprint.models,
        footprint.generations,
    )
    return Erasure(footprint.models, footprint.generations, model_ids)


async def delete_queued(n8n: N8NClient | None, model_ids: list[str]) -> int:
    """Try the just-queued deletions now rather than at the worker's next pass; returns how
    many N8N confirmed. A failure here leaves the row due: the worker's next pass (or a
    restarted replica's first) tries again before any backoff applies. Deleting twice is
    harmless (N8N's 404 counts as deleted)."""
    if n8n is None:
        return 0
    deleted = 0
    for model_id in model_ids:
        problem = await delete_remote(n8n, model_id)
        if problem is None:
            await PendingModelDeletion.filter(model_id=model_id).delete()
            logger.info("model {} deleted at N8N", model_id)
            deleted += 1
        else:
            await PendingModelDeletion.filter(model_id=model_id).update(last_error=problem[:1000])
            logger.warning("N8N does not delete model {} yet: {}", model_id, problem)
    return deleted


async def _forget(connection: BaseDBAsyncClient, user: User, erasure_key: str) -> None:
    telegram_id = user.telegram_id
    key = opaque_key()
    # Holds the balance, so the moved ledger's last balance_after still matches a row.
    await User.create(
        telegram_id=key,
        status=UserStatus.ERASED,
        credits=user.credits,
        erased_key=erased_reference(telegram_id, erasure_key),
        banned_when_erased=user.status == UserStatus.BANNED,
        using_db=connection,
    )
    # Foreign keys to the user are RESTRICT: move the money history, then delete the user.
    await CreditEntry.filter(user_id=telegram_id).using_db(connection).update(user_id=key)
    await Payment.filter(user_id=telegram_id).using_db(connection).update(user_id=key)
    await (
        CreditEntry.filter(user_id=key, reason=LedgerReason.WELCOME, reference=str(telegram_id))
        .using_db(connection)
        .update(reference=erased_reference(telegram_id, erasure_key))
    )
    # A running broadcast does not write to a deleted user; past ones keep their counts,
    # without the id.
    await (
        BroadcastRecipient.filter(telegram_id=telegram_id, status=RecipientStatus.PENDING)
        .using_db(connection)
        .update(status=RecipientStatus.FAILED)
    )
    await (
        BroadcastRecipient.filter(telegram_id=telegram_id)
        .using_db(connection)
        .update(telegram_id=key)
    )
    await User.filter(id=user.id).using_db(connection).delete()  # models and prompts cascade


async def _queue_deletion(connection: BaseDBAsyncClient, model_id: str) -> None:
    queued = PendingModelDeletion.filter(model_id=model_id).using_db(connection)
    if await queued.exists():
        return
    await PendingModelDeletion.create(
        model_id=model_id, next_attempt_at=datetime.now(UTC), using_db=connection
    )


def backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed retry: 1 minute, doubling, at most an hour."""
    return min(FIRST_BACKOFF * 2 ** min(max(attempts - 1, 0), 16), MAX_BACKOFF)


async def retry_due_deletions(n8n: N8NClient, stopping: asyncio.Event | None = None) -> int:
    """One pass over the due pending deletions; returns how many N8N confirmed."""
    now = datetime.now(UTC)
    due = (
        await PendingModelDeletion.filter(next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .limit(BATCH_SIZE)
    )
    deleted = 0
    for row in due:
        if stopping is not None and stopping.is_set():
            break
        deleted += await _attempt(n8n, row)
    return deleted


async def _attempt(n8n: N8NClient, row: PendingModelDeletion) -> int:
    """One try at one queued deletion; 1 when N8N confirmed it."""
    attempts = row.attempts + 1
    # Taking the row (attempts as a version) moves its next attempt on first: another
    # replica's pass, or this one after a crash mid-call, waits out the backoff.
    taken = await PendingModelDeletion.filter(id=row.id, attempts=row.attempts).update(
        attempts=attempts, next_attempt_at=datetime.now(UTC) + backoff(attempts)
    )
    if not taken:
        return 0
    problem = await delete_remote(n8n, row.model_id)
    if problem is None:
        await PendingModelDeletion.filter(id=row.id).delete()
        logger.info("model {} deleted at N8N (attempt {})", row.model_id, attempts)
        return 1
    await PendingModelDeletion.filter(id=row.id).update(last_error=problem[:1000])
    logger.warning(
        "N8N does not delete model {} yet (attempt {}): {}", row.model_id, attempts, problem
    )
    return 0
