"""Telegram Stars: which packages are for sale, the pre-checkout check, crediting a payment
exactly once per telegram_payment_charge_id, and refunds."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from loguru import logger
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from bot.config import CreditPackage, Settings
from bot.models import (
    RUNNING_MODEL_STATUSES,
    RUNNING_PROMPT_STATUSES,
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

STARS_CURRENCY = "XTR"
RECORD_ATTEMPTS = 3
RECORD_BACKOFF_SECONDS = 0.5
PAYLOAD_PREFIX = "credits"


def invoice_payload(package: CreditPackage) -> str:
    """What Telegram hands back at pre-checkout and payment: the package as it was offered."""
    return f"{PAYLOAD_PREFIX}:{package.credits}:{package.stars}"


def package_in(payload: str) -> CreditPackage | None:
    prefix, _, rest = payload.partition(":")
    credits_text, _, stars_text = rest.partition(":")
    if prefix != PAYLOAD_PREFIX or not (credits_text.isdigit() and stars_text.isdigit()):
        return None
    return CreditPackage(credits=int(credits_text), stars=int(stars_text))


def find_package(settings: Settings, credits_amount: int) -> CreditPackage | None:
    return next((p for p in settings.credit_packages if p.credits == credits_amount), None)


class CheckoutProblem(StrEnum):
    NOT_FOR_SALE = "not_for_sale"  # the package was removed or its price changed
    BANNED = "banned"


def checkout_problem(
    settings: Settings, user: User | None, payload: str, currency: str, total_amount: int
) -> CheckoutProblem | None:
    """Why this checkout must be refused, or None when it may go through."""
    if user is not None and user.status == UserStatus.BANNED:
        return CheckoutProblem.BANNED
    offered = package_in(payload)
    if (
        offered is None
        or currency != STARS_CURRENCY
        or offered.stars != total_amount
        or offered not in settings.credit_packages
    ):
        return CheckoutProblem.NOT_FOR_SALE
    return None


class UnknownPayload(Exception):
    """A successful payment whose payload this bot did not write: needs a human."""


@dataclass(frozen=True)
class Receipt:
    credits: int
    stars: int
    balance: int
    applied: bool  # False for a repeated update of a payment already credited


async def record_payment(
    telegram_id: int, charge_id: str, payload: str, total_amount: int
) -> Receipt:
    """`credit_payment`, retried through a database hiccup (it is idempotent): the Stars are
    already taken, and Telegram will not send this update again."""
    for attempt in range(1, RECORD_ATTEMPTS):
        try:
            return await credit_payment(telegram_id, charge_id, payload, total_amount)
        except (OperationalError, DBConnectionError, OSError) as error:
            logger.warning("payment {}: database error ({}), trying again", charge_id, error)
            await asyncio.sleep(RECORD_BACKOFF_SECONDS * attempt)
    return await credit_payment(telegram_id, charge_id, payload, total_amount)


async def credit_payment(
    telegram_id: int, charge_id: str, payload: str, total_amount: int
) -> Receipt:
    """Credit the package once: the payment row (unique charge id) and the ledger entry go in
    one transaction, so a repeated update or a second replica changes nothing. A payload this
    bot did not write is recorded with 0 credits (so /refund can return the Stars) and raises
    UnknownPayload afterwards: a human decides."""
    package = package_in(payload)
    credited = package.credits if package is not None else 0
    # Telegram charged total_amount; the payload says what it was for. They agree unless a
    # payload was forged, which pre-checkout already refused.
    try:
        async with in_transaction() as connection:
            if await Payment.filter(charge_id=charge_id).using_db(connection).exists():
                raise IntegrityError(charge_id)
            await Payment.create(
                user_id=telegram_id,
                charge_id=charge_id,
                credits=credited,
                stars=total_amount,
                using_db=connection,
            )
            balance = await credits.move_in(
                connection, telegram_id, credited, LedgerReason.PURCHASE, charge_id
            )
    except IntegrityError:
        return Receipt(credited, total_amount, await credits.balance_of(telegram_id), False)
    if package is None:
        raise UnknownPayload(payload)
    return Receipt(credited, total_amount, balance, True)


async def payments_of(telegram_id: int, limit: int = 5) -> list[Payment]:
    return await Payment.filter(user_id=telegram_id).order_by("-id").limit(limit)


class RefundRefused(StrEnum):
    UNKNOWN = "unknown"  # no such charge in our records
    ALREADY_REFUNDED = "already_refunded"
    ERASED = "erased"  # the payer deleted their data: Telegram needs their id, which is gone
    # Credits bought may sit in a running job's reservation: a refund now could not take them
    # back, and the job's failure would return them after the Stars went back too.
    JOBS_RUNNING = "jobs_running"
    NOT_FOUND_AT_TELEGRAM = "not_found_at_telegram"
    TELEGRAM_ERROR = "telegram_error"


class RefundFailed(Exception):
    def __init__(self, reason: RefundRefused, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Refund:
    telegram_id: int
    stars: int
    credits_taken: int
    balance: int


async def refund(bot: Bot, charge_id: str) -> Refund:
    """Give the Stars back through Telegram, then take the credits back (down to zero) and
    mark the payment refunded. If Telegram says it was refunded already but our records say
    paid (a crash between the two steps), the records are brought in line."""
    payment = await Payment.get_or_none(charge_id=charge_id)
    if payment is None:
        raise RefundFailed(RefundRefused.UNKNOWN)
    if payment.status == PaymentStatus.REFUNDED:
        raise RefundFailed(RefundRefused.ALREADY_REFUNDED)
    telegram_id: int = payment.user_id
    if telegram_id <= 0:
        raise RefundFailed(RefundRefused.ERASED)
    if await has_running_jobs(telegram_id):
        raise RefundFailed(RefundRefused.JOBS_RUNNING)
    try:
        await bot.refund_star_payment(user_id=telegram_id, telegram_payment_charge_id=charge_id)
    except TelegramBadRequest as error:
        description = error.message.upper()
        if "NOT_FOUND" in description or "NOT FOUND" in description:
            raise RefundFailed(RefundRefused.NOT_FOUND_AT_TELEGRAM, error.message) from None
        if "ALREADY_REFUNDED" not in description:
            raise RefundFailed(RefundRefused.TELEGRAM_ERROR, error.message) from None
    result = await record_refund(charge_id)
    if result is not None:
        return result
    # Recorded meanwhile: Telegram's refunded_payment message for this very refund may be
    # handled first (another update, maybe another replica). Report what it recorded.
    recorded = await CreditEntry.get_or_none(reason=LedgerReason.REFUND, reference=charge_id)
    if recorded is None:
        raise RefundFailed(RefundRefused.ALREADY_REFUNDED)
    return Refund(telegram_id, payment.stars, -recorded.delta, recorded.balance_after)


async def record_refund(charge_id: str) -> Refund | None:
    """Our side of a refund Telegram made (through /refund, or Telegram's own tools, which
    send a `refunded_payment` message): mark the payment refunded and take its credits back,
    down to zero, in one transaction. None when unknown or recorded before."""
    try:
        async with in_transaction() as connection:
            payment = await Payment.filter(charge_id=charge_id).using_db(connection).first()
            if payment is None:
                return None
            marked = (
                await Payment.filter(id=payment.id, status=PaymentStatus.PAID)
                .using_db(connection)
                .update(status=PaymentStatus.REFUNDED, refunded_at=datetime.now(UTC))
            )
            if not marked:
                return None
            telegram_id: int = payment.user_id
            taken = await credits.take_back_in(
                connection, telegram_id, payment.credits, LedgerReason.REFUND, charge_id
            )
    except IntegrityError:  # recorded concurrently
        return None
    return Refund(telegram_id, payment.stars, taken, await credits.balance_of(telegram_id))


async def has_running_jobs(telegram_id: int) -> bool:
    return (
        await PortraitModel.filter(user_id=telegram_id, status__in=RUNNING_MODEL_STATUSES).exists()
        or await Prompt.filter(user_id=telegram_id, status__in=RUNNING_PROMPT_STATUSES).exists()
    )
