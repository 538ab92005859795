"""The ledger: every movement atomic, idempotent per (reason, reference), never below zero."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.types import User as TelegramUser
from tortoise.exceptions import IntegrityError

from bot.models import CreditEntry, LedgerReason, ModelStatus, ModelType, PortraitModel, User
from bot.outbound import jobs as outbound_jobs
from bot.services import credits, training, users
from tests.conftest import StartBot
from tests.fakes.telegram import FakeTelegram
from tests.helpers import post_update


async def new_user(telegram_id: int, start_credits: int = 0) -> User:
    user, _ = await users.register(
        TelegramUser(id=telegram_id, is_bot=False, first_name="Ledger"), start_credits=start_credits
    )
    return user


async def test_reserve_then_release_restores_the_balance(start_bot: StartBot) -> None:
    await start_bot()
    await new_user(6001, start_credits=150)
    reserved = await credits.move(6001, -100, LedgerReason.RESERVE_TRAINING, "job-1")
    assert (reserved.balance, reserved.applied) == (50, True)
    released = await credits.move(6001, 100, LedgerReason.RELEASE, "job-1")
    assert released.balance == 150
    entries = await CreditEntry.filter(user_id=6001).order_by("id")
    assert [(e.reason, e.delta, e.balance_after) for e in entries] == [
        (LedgerReason.WELCOME, 150, 150),
        (LedgerReason.RESERVE_TRAINING, -100, 50),
        (LedgerReason.RELEASE, 100, 150),
    ]


async def test_a_repeated_event_changes_nothing(start_bot: StartBot) -> None:
    await start_bot()
    await new_user(6002)
    first = await credits.move(6002, 40, LedgerReason.N8N_GRANT, "grant-7")
    again = await credits.move(6002, 40, LedgerReason.N8N_GRANT, "grant-7")
    assert (first.applied, again.applied) == (True, False)
    assert again.balance == 40 == await credits.balance_of(6002)
    assert await CreditEntry.filter(user_id=6002).count() == 1


async def test_a_retried_debit_is_a_no_op_even_when_the_balance_is_now_lower(
    start_bot: StartBot,
) -> None:
    await start_bot()
    await new_user(6007, start_credits=150)
    first = await credits.move(6007, -100, LedgerReason.RESERVE_TRAINING, "job-x")
    again = await credits.move(6007, -100, LedgerReason.RESERVE_TRAINING, "job-x")
    assert (first.applied, again.applied, again.balance) == (True, False, 50)


async def test_insufficient_credits_move_nothing(start_bot: StartBot) -> None:
    await start_bot()
    await new_user(6003, start_credits=30)
    with pytest.raises(credits.InsufficientCredits) as error:
        await credits.move(6003, -100, LedgerReason.RESERVE_TRAINING, "job-2")
    assert error.value.missing == 70
    assert await credits.balance_of(6003) == 30
    assert await CreditEntry.filter(user_id=6003).count() == 1


async def test_the_database_refuses_a_negative_balance(start_bot: StartBot) -> None:
    await start_bot()
    await new_user(6004)
    with pytest.raises(IntegrityError):
        await User.filter(telegram_id=6004).update(credits=-1)


async def test_concurrent_charges_never_overdraw(start_bot: StartBot) -> None:
    await start_bot()
    await new_user(6005, start_credits=10)
    results = await asyncio.gather(
        *(credits.move(6005, -10, LedgerReason.RESERVE_GENERATION, f"job-{n}") for n in range(20)),
        return_exceptions=True,
    )
    succeeded = [result for result in results if isinstance(result, credits.Movement)]
    refused = [result for result in results if isinstance(result, credits.InsufficientCredits)]
    assert (len(succeeded), len(refused)) == (1, 19)
    assert await credits.balance_of(6005) == 0


async def test_first_contact_on_many_replicas_grants_the_bonus_once(start_bot: StartBot) -> None:
    await start_bot()
    tg_user = TelegramUser(id=6006, is_bot=False, first_name="Racer")
    results = await asyncio.gather(*(users.register(tg_user, start_credits=25) for _ in range(10)))
    assert sum(created for _, created in results) == 1
    assert await User.filter(telegram_id=6006).count() == 1
    assert await credits.balance_of(6006) == 25
    assert await CreditEntry.filter(user_id=6006, reason=LedgerReason.WELCOME).count() == 1


async def test_jobs_that_never_started_give_their_credits_back(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    app = await start_bot()
    user = tg.user(6010)
    await new_user(6010, start_credits=200)
    stuck_model = await training.reserve(
        6010, name="Stuck", model_type=ModelType.MAN, request_id=uuid.uuid4(), cost=100
    )
    fresh_model = await training.reserve(
        6010, name="Fresh", model_type=ModelType.MAN, request_id=uuid.uuid4(), cost=50
    )
    assert await credits.balance_of(6010) == 50
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    await PortraitModel.filter(id=stuck_model.id).update(created_at=long_ago)

    assert await outbound_jobs.release_stuck_jobs(app.outbox) == 1
    assert await credits.balance_of(6010) == 150
    assert (await PortraitModel.get(id=stuck_model.id)).status == ModelStatus.FAILED
    assert (await PortraitModel.get(id=fresh_model.id)).status == ModelStatus.PENDING
    assert "could not be started" in (await user.expect("sendMessage")).body
    assert await outbound_jobs.release_stuck_jobs(app.outbox) == 0  # once only
    assert await credits.balance_of(6010) == 150


async def test_credits_shows_the_latest_movements_in_plain_words(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(start_credits=150)
    user = tg.user(6020)
    await user.send_text("/start")
    await user.expect("sendMessage")
    await credits.move(6020, -100, LedgerReason.RESERVE_TRAINING, "job-a")
    await credits.release(LedgerReason.RESERVE_TRAINING, "job-a")
    await user.send_text("/credits")
    text = (await user.expect("sendMessage")).body
    assert "Your balance: 150 credits." in text
    lines = text.split("Latest movements\n", 1)[1].splitlines()
    assert [line.split(" · ")[:2] for line in lines] == [
        ["+100", "returned: the job did not go through"],
        ["-100", "model training"],
        ["+150", "welcome bonus"],
    ]


async def test_start_pressed_on_two_replicas_at_once_grants_the_bonus_once(
    backend: str, start_bot: StartBot, tg: FakeTelegram
) -> None:
    if backend == "embedded":
        pytest.skip("one replica polls; the concurrent case needs webhooks")
    first, second = await start_bot(start_credits=30), await start_bot(start_credits=30)
    user = tg.user(6030, first_name="Twice")
    updates = [
        {"update_id": tg.next_update_id(), "message": user._message({"text": "/start"})}
        for _ in range(2)
    ]
    statuses = await asyncio.gather(post_update(first, updates[0]), post_update(second, updates[1]))
    assert statuses == [200, 200]
    await user.expect("sendMessage")
    await user.expect("sendMessage")  # both answered (one as a returning user)
    assert await User.filter(telegram_id=6030).count() == 1
    assert await credits.balance_of(6030) == 30
    assert await CreditEntry.filter(user_id=6030, reason=LedgerReason.WELCOME).count() == 1
