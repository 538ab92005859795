"""One lifecycle for both kinds of job, a training (`PortraitModel`) and a generation (`Prompt`):

    reserve (job row + credits, one transaction) → submitted to N8N (its id recorded)
    → N8N's status applied (running → ready; or failed, the credits returned once)

A button press and an N8N callback that change a job both come through here. A status only
ever moves forward, so a repeated or late report changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.models import LedgerReason, ModelStatus, PortraitModel, Prompt, PromptStatus
from bot.services import credits

JobT = TypeVar("JobT", PortraitModel, Prompt)
# Set when the job could not be run for a reason of ours, not N8N's.
INTERNAL_ERROR = "internal error"


class Outcome(StrEnum):
    """How handing a job to N8N ended."""

    STARTED = "started"
    REFUSED = "refused"  # N8N did not take it; credits returned, the user may try again
    TOO_FEW_PHOTOS = "too_few_photos"  # training: too few usable photos, the job was withdrawn
    MODEL_EXPIRED = "model_expired"  # generation: the model is gone at Astria


@dataclass(frozen=True)
class JobKind(Generic[JobT]):
    """What tells a training from a generation, for the rules they share."""

    name: str
    table: type[JobT]
    external_id: str  # the field that holds N8N's id of the job
    reserve_reason: LedgerReason
    pending: StrEnum
    running: StrEnum
    ready: StrEnum
    failed: StrEnum

    def forward_from(self, status: StrEnum) -> tuple[StrEnum, ...]:
        """The statuses a job may be in to move to `status`."""
        if status == self.running:
            return (self.pending,)
        return (self.pending, self.running)


TRAINING = JobKind(
    "training",
    PortraitModel,
    "model_id",
    LedgerReason.RESERVE_TRAINING,
    pending=ModelStatus.PENDING,
    running=ModelStatus.TRAINING,
    ready=ModelStatus.READY,
    failed=ModelStatus.FAILED,
)
GENERATION = JobKind(
    "generation",
    Prompt,
    "prompt_id",
    LedgerReason.RESERVE_GENERATION,
    pending=PromptStatus.PENDING,
    running=PromptStatus.PROCESSING,
    ready=PromptStatus.READY,
    failed=PromptStatus.FAILED,
)


class AlreadyStarted(Exception):
    """This request was reserved before (a double tap, another replica)."""

    def __init__(self, job: PortraitModel | Prompt) -> None:
        super().__init__(f"job {job.request_id} exists")
        self.job = job


class StatusUnknown(Exception):
    """No job with that N8N id or request id."""


@dataclass(frozen=True)
class StatusChange(Generic[JobT]):
    job: JobT
    changed: bool  # False for a repeat or a step backwards: nothing happened


async def reserve(
    kind: JobKind[JobT], telegram_id: int, request_id: uuid.UUID, cost: int, **fields: Any
) -> JobT:
    """Create the job row and take its credits in one transaction (one job, one charge).
    Raises InsufficientCredits, or AlreadyStarted for a request reserved before."""
    try:
        async with in_transaction() as connection:
            job = await kind.table.create(
                user_id=telegram_id, request_id=request_id, using_db=connection, **fields
            )
            await credits.move_in(
                connection, telegram_id, -cost, kind.reserve_reason, str(request_id)
            )
    except IntegrityError:
        existing = await kind.table.get_or_none(request_id=request_id)
        if existing is None:
            raise
        raise AlreadyStarted(existing) from None
    return job


async def submitted(kind: JobKind[JobT], job: JobT, external_id: str) -> None:
    """N8N took the job. A status callback may have overtaken its answer: only what is
    still missing is filled in."""
    await record_external_id(kind, job, external_id)
    await kind.table.filter(id=job.id, status=kind.pending).update(status=kind.running)


async def fail(kind: JobKind[JobT], job: JobT, error: str | None) -> bool:
    """Mark the job failed and give its credits back, in one transaction and only if it was
    still running (a late "failed" after "ready" changes nothing and refunds nothing)."""
    try:
        async with in_transaction() as connection:
            changed = await (
                kind.table.filter(id=job.id, status__in=kind.forward_from(kind.failed))
                .using_db(connection)
                .update(status=kind.failed, error=error)
            )
            if changed:
                await credits.release_in(connection, kind.reserve_reason, str(job.request_id))
    except IntegrityError:  # another replica applied the same failure at the same moment
        return False
    return bool(changed)


async def withdraw(kind: JobKind[JobT], job: JobT) -> bool:
    """Forget a job N8N never saw (its row and its reservation), in one transaction."""
    async with in_transaction() as connection:
        dropped = await (
            kind.table.filter(id=job.id, status=kind.pending).using_db(connection).delete()
        )
        if dropped:
            await credits.release_in(connection, kind.reserve_reason, str(job.request_id))
    return bool(dropped)


async def find(kind: JobKind[JobT], external_id: str, request_id: str | None) -> JobT:
    """By N8N's id, or by our request id (a callback may overtake N8N's answer)."""
    job = await kind.table.filter(**{kind.external_id: external_id}).first()
    if job is None and request_id is not None:
        job = await kind.table.get_or_none(request_id=request_id)
        if job is not None and getattr(job, kind.external_id) is None:
            await record_external_id(kind, job, external_id)
    if job is None:
        raise StatusUnknown(external_id)
    return job


async def record_external_id(kind: JobKind[JobT], job: JobT, external_id: str) -> None:
    """N8N's id of the job, unless one is known already."""
    if await kind.table.filter(id=job.id, **{f"{kind.external_id}__isnull": True}).update(
        **{kind.external_id: external_id}
    ):
        setattr(job, kind.external_id, external_id)


async def apply_status(
    kind: JobKind[JobT],
    external_id: str,
    request_id: str | None,
    status: StrEnum,
    error: str | None = None,
    **ready_fields: Any,
) -> StatusChange[JobT]:
    """Apply N8N's report. Only the call that moves the job forward gets changed=True, so
    whatever follows (a message, a delivery) happens once however often N8N repeats itself.
    `ready_fields` are stored with the move to ready."""
    job = await find(kind, external_id, request_id)
    if status == kind.failed:
        changed = await fail(kind, job, error)
    else:
        extra = ready_fields if status == kind.ready else {}
        changed = bool(
            await kind.table.filter(id=job.id, status__in=kind.forward_from(status)).update(
                status=status, **extra
            )
        )
    await job.refresh_from_db()
    return StatusChange(job=job, changed=changed)


async def overdue(kind: JobKind[JobT], created_before: datetime) -> list[JobT]:
    """Jobs N8N took before `created_before` and has not reported the end of."""
    return await kind.table.filter(status=kind.running, created_at__lt=created_before)


async def never_started(kind: JobKind[JobT], created_before: datetime) -> list[JobT]:
    """Jobs still pending since before `created_before`: their start was cut off."""
    return await kind.table.filter(status=kind.pending, created_at__lt=created_before)
