"""Jobs that nobody would finish otherwise. A job whose start was cut off (a replica died
between reserving the credits and hearing back from N8N) stays `pending` with its credits
reserved; a running job whose N8N callback never comes (Astria does not retry callbacks)
stays `training`/`processing`; a ready generation whose delivery died with its replica stays
undelivered. The reconciler, run periodically by one replica at a time, finds them all; the
outbound layer tells the users and delivers again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger

from bot.models import Prompt
from bot.services import generation, jobs
from bot.services.n8n import N8NClient, N8NError
from bot.services.n8n_bodies import BadBody, BodyT, ModelReport, PromptReport, parse
from bot.services.shared import SharedStore

# Far longer than a start can take (N8N: 3 attempts of at most 2 minutes, plus backoff).
STUCK_AFTER = timedelta(minutes=15)
# Far longer than a delivery takes, flood waits included.
DELIVERY_STALLED_AFTER = timedelta(minutes=15)
NOT_STARTED = "the job could not be started"
TIMED_OUT = "the job took far too long"
UNKNOWN_AT_N8N = "the AI service no longer knows this job"
# Asks about an overdue job get rarer as it ages: a quarter of its age, within these bounds.
FIRST_ASK_GAP = timedelta(minutes=1)
LONGEST_ASK_GAP = timedelta(minutes=30)


@dataclass(frozen=True)
class Patience:
    """How long a running job may go without N8N's callback: after `ask_after` N8N's /status
    is asked; after `give_up_after` the job fails and its credits go back."""

    ask_after: timedelta
    give_up_after: timedelta


def ask_gap(age: timedelta) -> timedelta:
    return min(max(age / 4, FIRST_ASK_GAP), LONGEST_ASK_GAP)


async def settle_overdue(
    n8n: N8NClient,
    store: SharedStore,
    *,
    training: Patience,
    generating: Patience,
    images_per_prompt: int,
    now: datetime | None = None,
) -> list[jobs.StatusChange[Any]]:
    """Ask N8N about running jobs whose callback is overdue and apply its answer exactly as a
    callback would be (forward only, once); fail those unknown to N8N or past their maximum
    age. Returns the changes, for the outbound layer to announce."""
    now = now or datetime.now(UTC)
    changes: list[jobs.StatusChange[Any]] = []
    for model in await jobs.overdue(jobs.TRAINING, now - training.ask_after):
        change = await _settle(jobs.TRAINING, model, store, now, training, _ask_training(n8n))
        if change is not None and change.changed:
            changes.append(change)
    for prompt in await jobs.overdue(jobs.GENERATION, now - generating.ask_after):
        ask = _ask_generation(n8n, images_per_prompt)
        change = await _settle(jobs.GENERATION, prompt, store, now, generating, ask)
        if change is not None and change.changed:
            changes.append(change)
    return changes


Ask = Callable[[Any], Awaitable["jobs.StatusChange[Any] | None"]]


async def _settle(
    kind: jobs.JobKind[jobs.JobT],
    job: jobs.JobT,
    store: SharedStore,
    now: datetime,
    patience: Patience,
    ask: Ask,
) -> jobs.StatusChange[Any] | None:
    age = now - job.created_at
    if age > patience.give_up_after:
        return await _fail(kind, job, TIMED_OUT)
    # The gap is kept in Redis: whichever replica sweeps next, N8N is not asked again sooner.
    if not await store.claim(f"status-asked:{kind.name}:{job.id}", ask_gap(age).total_seconds()):
        return None
    try:
        return await ask(job)
    except N8NError as error:  # N8N down or confused: ask again after the gap
        logger.warning("{} {}: N8N's /status failed: {}", kind.name, job.id, error)
        return None
    except _Unknown:
        return await _fail(kind, job, UNKNOWN_AT_N8N)


class _Unknown(Exception):
    """N8N answered 404: it does not know the job (any more)."""


async def _fail(
    kind: jobs.JobKind[jobs.JobT], job: jobs.JobT, reason: str
) -> jobs.StatusChange[Any]:
    changed = await jobs.fail(kind, job, reason)
    if changed:
        logger.warning("{} {} failed by the reconciler: {}", kind.name, job.id, reason)
    await job.refresh_from_db()
    return jobs.StatusChange(job=job, changed=changed)


def _ask_training(n8n: N8NClient) -> Ask:
    async def ask(model: Any) -> jobs.StatusChange[Any] | None:
        body = await n8n.status(model_id=str(model.model_id))
        if body is None:
            raise _Unknown
        report = _report(ModelReport, body, 0)
        if report is None:
            return None
        return await jobs.apply_status(
            jobs.TRAINING, str(model.model_id), None, report.status, report.error
        )

    return ask


def _ask_generation(n8n: N8NClient, images_per_prompt: int) -> Ask:
    async def ask(job: Any) -> jobs.StatusChange[Any] | None:
        body = await n8n.status(prompt_id=str(job.prompt_id))
        if body is None:
            raise _Unknown
        report = _report(PromptReport, body, images_per_prompt)
        if report is None:
            return None
        return await generation.apply_status(
            str(job.prompt_id), None, report.status, report.images, report.error
        )

    return ask


def _report(schema: type[BodyT], body: Any, images_per_prompt: int) -> BodyT | None:
    try:
        return parse(schema, body, images_per_prompt=images_per_prompt)
    except BadBody as problem:
        logger.warning("N8N's /status answered a body that does not fit: {}", problem)
        return None


async def release_stuck_jobs(now: datetime | None = None) -> list[int]:
    """Fail every job still `pending` past STUCK_AFTER and return its credits; returns the
    owner of each job released (once per job, whichever replica runs this)."""
    cutoff = (now or datetime.now(UTC)) - STUCK_AFTER
    owners = await _release(jobs.TRAINING, cutoff) + await _release(jobs.GENERATION, cutoff)
    if owners:
        logger.warning("released {} jobs that never started", len(owners))
    return owners


async def _release(kind: jobs.JobKind[jobs.JobT], cutoff: datetime) -> list[int]:
    return [
        job.user_id
        for job in await jobs.never_started(kind, cutoff)
        if await jobs.fail(kind, job, NOT_STARTED)
    ]


async def stalled_deliveries(now: datetime | None = None) -> list[Prompt]:
    """Ready jobs whose delivery began long ago and never finished (its replica died). Take
    each over with `take_over` just before delivering it again."""
    return await generation.stalled_deliveries((now or datetime.now(UTC)) - DELIVERY_STALLED_AFTER)


async def take_over(job: Prompt) -> bool:
    """True for the one caller of all replicas that must deliver this job again."""
    if not await generation.claim_redelivery(job):
        return False
    logger.warning("generation {}: delivery was cut off; delivering again", job.id)
    return True
