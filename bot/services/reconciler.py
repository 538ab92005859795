"""Jobs that outlived their replica. A job whose start was cut off (a replica died between
reserving the credits and hearing back from N8N) stays `pending` with its credits reserved; a
ready generation whose delivery died with its replica stays undelivered. The reconciler,
run periodically by one replica at a time, finds both; the outbound layer tells the users
and delivers again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loguru import logger

from bot.models import Prompt
from bot.services import generation, jobs

# Far longer than a start can take (N8N: 3 attempts of at most 2 minutes, plus backoff).
STUCK_AFTER = timedelta(minutes=15)
# Far longer than a delivery takes, flood waits included.
DELIVERY_STALLED_AFTER = timedelta(minutes=15)
NOT_STARTED = "the job could not be started"


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
