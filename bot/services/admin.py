"""What admins do from inside the bot: statistics, grants, bans. Refunds: services/payments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count, Sum
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from bot.models import (
    CreditEntry,
    LedgerReason,
    Payment,
    PaymentStatus,
    PortraitModel,
    Prompt,
    User,
    UserStatus,
)
from bot.services import credits

GRANTED = (LedgerReason.WELCOME, LedgerReason.ADMIN_GRANT, LedgerReason.N8N_GRANT)
SPENT = (LedgerReason.RESERVE_TRAINING, LedgerReason.RESERVE_GENERATION, LedgerReason.RELEASE)


@dataclass(frozen=True)
class Stats:
    users: int
    active_week: int
    new_today: int
    banned: int
    blocked: int
    models: dict[str, int]
    generations: dict[str, int]
    credits_granted: int
    credits_spent: int
    credits_sold: int
    credits_refunded: int
    stars_received: int
    stars_refunded: int


async def _total(query: QuerySet[CreditEntry] | QuerySet[Payment], field: str) -> int:
    rows = await query.annotate(total=Sum(field)).values_list("total", flat=True)
    return int(rows[0] or 0) if rows else 0  # type: ignore[arg-type]  # Tortoise: flat rows typed as tuples


async def _by_status(model: type[Model]) -> dict[str, int]:
    rows = await model.annotate(count=Count("id")).group_by("status").values("status", "count")
    return {str(row["status"]): int(row["count"]) for row in rows}


async def statistics(now: datetime | None = None) -> Stats:
    now = now or datetime.now(UTC)
    people = User.exclude(status=UserStatus.ERASED)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return Stats(
        users=await people.count(),
        active_week=await people.filter(last_active__gte=now - timedelta(days=7)).count(),
        new_today=await people.filter(created_at__gte=today).count(),
        banned=await User.filter(status=UserStatus.BANNED).count(),
        blocked=await User.filter(status=UserStatus.BLOCKED).count(),
        models=await _by_status(PortraitModel),
        generations=await _by_status(Prompt),
        credits_granted=await _total(CreditEntry.filter(reason__in=GRANTED, delta__gt=0), "delta"),
        # Reservations minus what was given back: what jobs actually consumed.
        credits_spent=-await _total(CreditEntry.filter(reason__in=SPENT), "delta"),
        credits_sold=await _total(CreditEntry.filter(reason=LedgerReason.PURCHASE), "delta"),
        credits_refunded=-await _total(CreditEntry.filter(reason=LedgerReason.REFUND), "delta"),
        stars_received=await _total(Payment.all(), "stars"),
        stars_refunded=await _total(Payment.filter(status=PaymentStatus.REFUNDED), "stars"),
    )


@dataclass(frozen=True)
class Grant:
    telegram_id: int
    delta: int  # what actually moved: a negative grant stops at zero
    balance: int
    applied: bool  # False when this very command was handled before


async def grant(telegram_id: int, amount: int, reference: str, note: str | None) -> Grant:
    """Add (or, when negative, take down to zero) credits, once per `reference`.
    Raises credits.UnknownUser."""
    if amount >= 0:
        movement = await credits.move(
            telegram_id, amount, LedgerReason.ADMIN_GRANT, reference, note
        )
        return Grant(telegram_id, movement.delta, movement.balance, movement.applied)
    if await CreditEntry.filter(reason=LedgerReason.ADMIN_GRANT, reference=reference).exists():
        return Grant(telegram_id, 0, await credits.balance_of(telegram_id), False)
    try:
        async with in_transaction() as connection:
            taken = await credits.take_back_in(
                connection, telegram_id, -amount, LedgerReason.ADMIN_GRANT, reference, note
            )
    except IntegrityError:  # the same command, concurrently
        return Grant(telegram_id, 0, await credits.balance_of(telegram_id), False)
    return Grant(telegram_id, -taken, await credits.balance_of(telegram_id), True)


class UnknownTarget(Exception):
    """No such user (or only an erased one)."""


async def set_banned(telegram_id: int, banned: bool) -> bool:
    """Ban, or lift a ban (the user becomes active: if they blocked the bot meanwhile, the
    next send finds out). False when there was nothing to change."""
    user = await User.get_or_none(telegram_id=telegram_id)
    if user is None or user.status == UserStatus.ERASED:
        raise UnknownTarget(telegram_id)
    if banned:
        changed = (
            await User.filter(id=user.id)
            .exclude(status=UserStatus.BANNED)
            .update(status=UserStatus.BANNED)
        )
    else:
        changed = await User.filter(id=user.id, status=UserStatus.BANNED).update(
            status=UserStatus.ACTIVE
        )
    return bool(changed)
