"""Deleting a user's data (/delete) and retrying the model deletions N8N refused.

Models are deleted at N8N first (Astria holds the trained weights); the database then forgets
the user in one transaction. Money history is kept for accounting, moved to an anonymous user
row whose telegram_id is an opaque negative key (Telegram user ids are positive).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from loguru import logger
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from bot.models import (
    BroadcastRecipient,
    CreditEntry,
    LedgerReason,
    ModelStatus,
    Payment,
    PendingModelDeletion,
    PortraitModel,
    Prompt,
    PromptStatus,
    User,
    UserStatus,
)
from bot.services.n8n import N8NClient, N8NError, N8NRejected
from bot.services.shared import SharedStore
from bot.services.users import erased_reference

RUNNING_TRAINING = (ModelStatus.PENDING, ModelStatus.TRAINING)
RUNNING_GENERATION = (PromptStatus.PENDING, PromptStatus.PROCESSING)
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
    pending_remote: int  # model deletions N8N did not confirm: left to the retry worker


class JobsRunning(Exception):
    def __init__(self, footprint: Footprint) -> None:
        super().__init__("a training or generation is running")
        self.footprint = footprint


async def footprint_of(telegram_id: int) -> Footprint:
    models = PortraitModel.filter(user_id=telegram_id)
    prompts = Prompt.filter(user_id=telegram_id)
    user = await User.get_or_none(telegram_id=telegram_id)
    training = await models.filter(status__in=RUNNING_TRAINING).values_list("name", flat=True)
    return Footprint(
        models=await models.count(),
        generations=await prompts.count(),
        credits=user.credits if user is not None else 0,
        training=[str(name) for name in training],
        generating=await prompts.filter(status__in=RUNNING_GENERATION).count(),
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


async def erase(telegram_id: int, *, n8n: N8NClient | None, erasure_key: str) -> Erasure:
    """Delete everything about the user except money history, which is anonymised.
    Raises JobsRunning when a training or generation is under way."""
    footprint = await footprint_of(telegram_id)
    if footprint.busy:
        raise JobsRunning(footprint)
    model_ids = await PortraitModel.filter(user_id=telegram_id, model_id__isnull=False).values_list(
        "model_id", flat=True
    )
    refused: dict[str, str] = {}
    for model_id in map(str, model_ids):
        problem = await delete_remote(n8n, model_id)
        if problem is not None:
            refused[model_id] = problem
    async with in_transaction() as connection:
        await _forget(connection, telegram_id, erasure_key)
        for model_id, problem in refused.items():
            await _queue_deletion(connection, model_id, problem)
    logger.info(
        "a user's data was deleted: {} models, {} generations, {} remote deletions pending",
        footprint.models,
        footprint.generations,
        len(refused),
    )
    if refused:
        logger.warning("N8N did not delete {} models yet; retrying later", len(refused))
    return Erasure(footprint.models, footprint.generations, len(refused))


async def _forget(connection: BaseDBAsyncClient, telegram_id: int, erasure_key: str) -> None:
    # The row lock keeps a concurrent credit movement from slipping in between.
    user = (
        await User.filter(telegram_id=telegram_id).using_db(connection).select_for_update().first()
    )
    if user is None:
        return
    key = opaque_key()
    # Holds the balance, so the moved ledger's last balance_after still matches a row.
    await User.create(
        telegram_id=key, status=UserStatus.ERASED, credits=user.credits, using_db=connection
    )
    # Foreign keys to the user are RESTRICT: move the money history, then delete the user.
    await CreditEntry.filter(user_id=telegram_id).using_db(connection).update(user_id=key)
    await Payment.filter(user_id=telegram_id).using_db(connection).update(user_id=key)
    await (
        CreditEntry.filter(user_id=key, reason=LedgerReason.WELCOME, reference=str(telegram_id))
        .using_db(connection)
        .update(reference=erased_reference(telegram_id, erasure_key))
    )
    # Past broadcasts keep their counts, without the id.
    await (
        BroadcastRecipient.filter(telegram_id=telegram_id)
        .using_db(connection)
        .update(telegram_id=key)
    )
    await User.filter(id=user.id).using_db(connection).delete()  # models and prompts cascade


async def _queue_deletion(connection: BaseDBAsyncClient, model_id: str, problem: str) -> None:
    queued = PendingModelDeletion.filter(model_id=model_id).using_db(connection)
    if await queued.exists():
        return
    await PendingModelDeletion.create(
        model_id=model_id,
        last_error=problem[:1000],
        # Due at the worker's next pass, about a minute away.
        next_attempt_at=datetime.now(UTC),
        using_db=connection,
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
        attempts = row.attempts + 1
        # Taking the row (attempts as a version) moves its next attempt on first: another
        # replica's pass, or this one after a crash mid-call, waits out the backoff.
        taken = await PendingModelDeletion.filter(id=row.id, attempts=row.attempts).update(
            attempts=attempts, next_attempt_at=datetime.now(UTC) + backoff(attempts)
        )
        if not taken:
            continue
        problem = await delete_remote(n8n, row.model_id)
        if problem is None:
            await PendingModelDeletion.filter(id=row.id).delete()
            logger.info("model {} deleted at N8N after {} retries", row.model_id, attempts)
            deleted += 1
        else:
            await PendingModelDeletion.filter(id=row.id).update(last_error=problem[:1000])
            logger.warning(
                "N8N still does not delete model {} (retry {}): {}", row.model_id, attempts, problem
            )
    return deleted


async def retry_deletions_until(
    stopping: asyncio.Event, n8n: N8NClient | None, store: SharedStore
) -> None:
    """Retry model deletions N8N refused, one replica at a time, until `stopping` is set."""
    if n8n is None:  # nothing can be deleted remotely; the rows wait for N8N to be configured
        await stopping.wait()
        return
    holding = False
    while not stopping.is_set():
        try:
            holding = await store.claim(TURN_KEY, DELETION_RETRY_SECONDS * 0.9)
            if holding:
                await retry_due_deletions(n8n, stopping)
        except Exception as error:  # a hiccup (database, Redis) must not end the retries
            logger.warning("model deletion retries failed: {}", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=DELETION_RETRY_SECONDS)
    if holding:
        # A replica that starts now (a rolling restart) takes the turn at once.
        with contextlib.suppress(Exception):
            await store.release(TURN_KEY)
