"""Users: registration on first contact (seed 3.1), profile updates, language, status."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import overload

from aiogram.types import User as TelegramUser
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from bot.models import CreditEntry, LedgerReason, User, UserStatus

# last_active is refreshed at most this often, so a chatty user does not cost a write per message.
LAST_ACTIVE_RESOLUTION = timedelta(minutes=1)
ERASED_PREFIX = "erased:"


def erased_reference(telegram_id: int, erasure_key: str) -> str:
    """What a deleted user's welcome-bonus entry is keyed by: a keyed hash, so the ledger no
    longer names the person, yet recognises them (and their bonus) if they come back."""
    digest = hmac.new(erasure_key.encode(), str(telegram_id).encode(), hashlib.sha256)
    return ERASED_PREFIX + digest.hexdigest()


@overload
async def register(
    tg_user: TelegramUser, *, start_credits: int, erasure_key: str = ""
) -> tuple[User, bool]: ...


@overload
async def register(
    tg_user: TelegramUser, *, start_credits: int, erasure_key: str = "", create: bool
) -> tuple[User | None, bool]: ...


async def register(
    tg_user: TelegramUser, *, start_credits: int, erasure_key: str = "", create: bool = True
) -> tuple[User | None, bool]:
    """Return the user's row, creating it (with the welcome bonus, in the same transaction)
    on first contact. Safe when two replicas see a new user's first updates at once.
    Someone who deleted their data and came back got the bonus already (not again), and
    comes back banned if they were."""
    # One query finds the person's row and, for a newcomer, any erased row of theirs.
    rows = await User.filter(
        Q(telegram_id=tg_user.id) | Q(erased_key=erased_reference(tg_user.id, erasure_key))
    ).order_by("-id")
    user = next((row for row in rows if row.telegram_id == tg_user.id), None)
    if user is not None:
        await _refresh(user, tg_user)
        return user, False
    if not create:
        return None, False
    status = UserStatus.ACTIVE
    if rows:  # deleted their data before: the bonus was theirs, and a ban stays
        start_credits = 0
        if rows[0].banned_when_erased:
            status = UserStatus.BANNED
    try:
        async with in_transaction() as connection:
            user = await User.create(
                telegram_id=tg_user.id,
                username=tg_user.username,
                first_name=tg_user.first_name,
                last_name=tg_user.last_name,
                language_code=tg_user.language_code,
                credits=start_credits,
                status=status,
                using_db=connection,
            )
            if start_credits > 0:
                await CreditEntry.create(
                    user_id=tg_user.id,
                    delta=start_credits,
                    reason=LedgerReason.WELCOME,
                    reference=str(tg_user.id),
                    balance_after=start_credits,
                    using_db=connection,
                )
    except IntegrityError:
        # Another replica created the user (and granted the bonus) a moment ago.
        return await User.get(telegram_id=tg_user.id), False
    return user, True


async def _refresh(user: User, tg_user: TelegramUser) -> None:
    changes: dict[str, object] = {}
    for field in ("username", "first_name", "last_name", "language_code"):
        value = getattr(tg_user, field)
        if getattr(user, field) != value:
            changes[field] = value
    now = datetime.now(UTC)
    if changes or now - user.last_active >= LAST_ACTIVE_RESOLUTION:
        changes["last_active"] = now
    if not changes:
        return
    await User.filter(id=user.id).update(**changes)
    for field, value in changes.items():
        setattr(user, field, value)


async def mark_active(user: User) -> None:
    """Any new message means the user talks to the bot again (banned stays banned)."""
    if user.status == UserStatus.BLOCKED:
        await User.filter(id=user.id, status=UserStatus.BLOCKED).update(status=UserStatus.ACTIVE)
        user.status = UserStatus.ACTIVE


async def mark_blocked(telegram_id: int) -> None:
    await User.filter(telegram_id=telegram_id, status=UserStatus.ACTIVE).update(
        status=UserStatus.BLOCKED
    )


async def set_language(user: User, language: str) -> None:
    await User.filter(id=user.id).update(language=language)
    user.language = language
