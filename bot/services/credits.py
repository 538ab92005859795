"""The credit ledger: the only way a balance changes.

Every movement is one SQL transaction that updates `telegram_users.credits` atomically
and inserts its ledger row; (reason, reference) is unique, so a retried event is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from bot.models import CreditEntry, LedgerReason, User, UserStatus


class InsufficientCredits(Exception):
    def __init__(self, balance: int, needed: int) -> None:
        super().__init__(f"balance {balance} is below {needed}")
        self.balance = balance
        self.needed = needed

    @property
    def missing(self) -> int:
        return self.needed - self.balance


class UnknownUser(Exception):
    pass


class AlreadyApplied(Exception):
    """This (reason, reference) was recorded before."""


@dataclass(frozen=True)
class Movement:
    delta: int
    balance: int
    applied: bool  # False when this (reason, reference) had been applied before


async def balance_of(telegram_id: int, connection: BaseDBAsyncClient | None = None) -> int:
    credits = (
        await User.filter(telegram_id=telegram_id)
        .using_db(connection)
        .first()
        .values_list("credits", flat=True)
    )
    if credits is None:
        raise UnknownUser(telegram_id)
    return int(credits)  # type: ignore[call-overload]  # Tortoise types flat=True values as tuples


async def move_in(
    connection: BaseDBAsyncClient,
    telegram_id: int,
    delta: int,
    reason: LedgerReason,
    reference: str,
    note: str | None = None,
) -> int:
    """The movement inside the caller's transaction; returns the new balance.

    Raises InsufficientCredits, or IntegrityError when (reason, reference) was applied before
    (the caller's transaction must then roll back)."""
    users = User.filter(telegram_id=telegram_id).using_db(connection)
    if delta < 0:
        users = users.filter(credits__gte=-delta)
    updated = await users.update(credits=F("credits") + delta)
    balance = await balance_of(telegram_id, connection)
    if not updated:
        raise InsufficientCredits(balance, -delta)
    await CreditEntry.create(
        user_id=telegram_id,
        delta=delta,
        reason=reason,
        reference=reference,
        balance_after=balance,
        note=note,
        using_db=connection,
    )
    return balance


async def take_back_in(
    connection: BaseDBAsyncClient,
    telegram_id: int,
    up_to: int,
    reason: LedgerReason,
    reference: str,
    note: str | None = None,
) -> int:
    """Take `up_to` credits, or the whole balance when it is smaller (a refund or a negative
    grant never drives a balance below zero); always records the movement, even of 0.
    Returns how many were taken. The row lock keeps a concurrent spend from slipping between
    reading the balance and taking it."""
    user = (
        await User.filter(telegram_id=telegram_id).using_db(connection).select_for_update().first()
    )
    if user is None:
        raise UnknownUser(telegram_id)
    taken = min(up_to, user.credits)
    await move_in(connection, telegram_id, -taken, reason, reference, note)
    return taken


async def move(
    telegram_id: int,
    delta: int,
    reason: LedgerReason,
    reference: str,
    note: str | None = None,
) -> Movement:
    """Apply `delta` once for (reason, reference), in its own transaction. Raises
    InsufficientCredits rather than letting a balance go below zero."""
    try:
        async with in_transaction() as connection:
            # A retried debit must be a no-op, not "insufficient credits" against the balance
            # it already reduced; the unique constraint still settles a race.
            if (
                await CreditEntry.filter(reason=reason, reference=reference)
                .using_db(connection)
                .exists()
            ):
                raise AlreadyApplied(reason, reference)
            balance = await move_in(connection, telegram_id, delta, reason, reference, note)
    except (IntegrityError, AlreadyApplied):
        # The same event was recorded before: the whole transaction rolled back, nothing moved.
        return Movement(delta=0, balance=await balance_of(telegram_id), applied=False)
    return Movement(delta=delta, balance=balance, applied=True)


async def recent_entries(telegram_id: int, limit: int = 5) -> list[CreditEntry]:
    return await CreditEntry.filter(user_id=telegram_id).order_by("-id").limit(limit)


async def release_in(
    connection: BaseDBAsyncClient, reservation_reason: LedgerReason, reference: str
) -> bool:
    """Give back what a reservation took, inside the caller's transaction; False when there
    was no such reservation or it was given back before."""
    reservation = (
        await CreditEntry.filter(reason=reservation_reason, reference=reference)
        .using_db(connection)
        .first()
    )
    release_reference = f"{reservation_reason.value}:{reference}"
    if (
        reservation is None
        or await CreditEntry.filter(reason=LedgerReason.RELEASE, reference=release_reference)
        .using_db(connection)
        .exists()
    ):
        return False
    await move_in(
        connection,
        reservation.user_id,
        -reservation.delta,
        LedgerReason.RELEASE,
        release_reference,
    )
    return True


async def release(reservation_reason: LedgerReason, reference: str) -> bool:
    """Give back what a reservation took, once, in its own transaction."""
    try:
        async with in_transaction() as connection:
            return await release_in(connection, reservation_reason, reference)
    except IntegrityError:  # released concurrently by another replica
        return False


class GrantConflict(Exception):
    """The reference was used before for a different grant (another user or amount)."""


@dataclass(frozen=True)
class Grant:
    applied: bool  # False for a repeat of a grant made before: nothing changed
    balance: int


async def grant_once(
    telegram_id: int, amount: int, reason: LedgerReason, reference: str, note: str | None
) -> Grant:
    """Grant credits once per `reference`: a repeat changes nothing; the same reference for
    another user or amount raises GrantConflict; a user who never used the bot (or erased
    their data) raises UnknownUser."""
    earlier = await CreditEntry.get_or_none(reason=reason, reference=reference)
    if earlier is not None:
        return _repeated(earlier, telegram_id, amount)
    user = await User.get_or_none(telegram_id=telegram_id)
    if user is None or user.status == UserStatus.ERASED:
        raise UnknownUser(telegram_id)
    movement = await move(telegram_id, amount, reason, reference, note)
    if not movement.applied:  # the same reference, concurrently
        earlier = await CreditEntry.get(reason=reason, reference=reference)
        return _repeated(earlier, telegram_id, amount)
    return Grant(applied=True, balance=movement.balance)


def _repeated(earlier: CreditEntry, telegram_id: int, amount: int) -> Grant:
    # An entry held by an erased user (a negative id) was this user's before /delete.
    holder = earlier.user_id
    if earlier.delta != amount or not (holder == telegram_id or holder < 0):
        raise GrantConflict(earlier.reference)
    return Grant(applied=False, balance=earlier.balance_after)
