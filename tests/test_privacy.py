"""/privacy and /delete: what is stored, and deleting it (models at N8N too, retried until
N8N agrees); money history kept anonymously."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram.fsm.storage.base import StorageKey

from bot.app import BotApp
from bot.models import (
    CreditEntry,
    LedgerReason,
    ModelStatus,
    Payment,
    PendingModelDeletion,
    PortraitModel,
    Prompt,
    User,
    UserStatus,
)
from bot.services import credits, privacy
from bot.services.n8n import N8NClient
from tests.conftest import StartBot
from tests.fakes.n8n import FakeN8N
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.helpers import eventually, expect_text
from tests.test_generation import generate, ready_model, registered
from tests.test_training import confirm, reach_photos, send_album


async def ask_to_delete(user: FakeUser) -> Any:
    await user.send_text("/delete")
    return await expect_text(user, "Delete all your data?")


async def test_privacy_tells_what_is_kept_for_how_long_and_leads_to_delete(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(fsm_ttl_hours=6)
    user = tg.user(8801)
    await user.send_text("/privacy")
    text = await expect_text(user, "Your data and privacy")
    assert "expires 6 h after your last step" in text.body
    for stored in ("Telegram file ids", "model id", "links to the images", "accounting"):
        assert stored in text.body, stored
    assert "/delete" in text.body
    await user.press_button("Delete my data")
    question = await expect_text(user, "Delete all your data?")
    assert "balance of 0 credits is lost" in question.body
    assert "kept for accounting" in question.body


async def test_delete_is_refused_while_a_job_runs(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start_bot(**trainer_settings, start_credits=50)
    user = await registered(tg, 8802)
    await ready_model(n8n, user, name="Anna")
    training = await PortraitModel.create(
        user_id=8802,
        name="Bob <x>",
        model_type="man",
        request_id=uuid.uuid4(),
        model_id="tune-running",
        status=ModelStatus.TRAINING,
    )
    await user.send_text("/delete")
    refused = await expect_text(user, "cannot be deleted while a job runs")
    assert "Bob <x>" in refused.body  # named, shown literally
    assert not refused.buttons

    # A job that starts between the question and the answer is noticed too.
    await PortraitModel.filter(id=training.id).update(status=ModelStatus.READY)
    await ask_to_delete(user)
    await PortraitModel.filter(id=training.id).update(status=ModelStatus.TRAINING)
    await user.press_button("Yes, delete everything")
    await expect_text(user, "cannot be deleted while a job runs")

    assert n8n.calls("delete-model") == []
    assert await PortraitModel.filter(user_id=8802).count() == 2
    assert (await User.get(telegram_id=8802)).credits == 50


async def test_delete_end_to_end_keeps_money_history_anonymously(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    app = await start_bot(**trainer_settings, start_credits=200)
    user = tg.user(8803, first_name="Anna", last_name="K", username="anna_k")
    # A model trained and a portrait generated the real way.
    await reach_photos(user)
    await send_album(user, range(10))
    await confirm(user)
    await expect_text(user, "has started")
    model_id = str((await PortraitModel.get(user_id=8803)).model_id)
    assert await n8n.complete_training(model_id, "ready") == 200
    await expect_text(user, "is ready")
    prompt_id = await generate(user, n8n)
    assert await n8n.complete_generation(prompt_id) == 200
    await expect_text(user, "Here are your portraits")
    # A purchase, as the payments feature records it.
    await Payment.create(user_id=8803, charge_id="stars-charge-1", credits=100, stars=50)
    await credits.move(8803, 100, LedgerReason.PURCHASE, "stars-charge-1")
    balance = await credits.balance_of(8803)  # 200 - 100 - 10 + 100
    ledger_size = await CreditEntry.filter(user_id=8803).count()
    # An unfinished wizard holds FSM data.
    await user.send_text("/train")
    await expect_text(user, "How shall we call it?")
    await user.send_text("Second")
    await expect_text(user, "Who is in the photos?")

    question = await ask_to_delete(user)
    assert "models: 1" in question.body and "generations: 1" in question.body
    assert f"balance of {balance} credits is lost" in question.body
    await user.press_button("Yes, delete everything")
    done = await expect_text(user, "Your data has been deleted")
    assert "being deleted at the AI service now" in done.body
    await n8n.wait_request("delete-model")
    await eventually(_no_pending_deletions)
    (deletion,) = n8n.calls("delete-model")
    assert deletion.body == {"model_id": model_id} and deletion.status == 200
    assert deletion.headers["X-N8N-Secret"] == n8n.secret
    assert n8n.trainings[model_id].deleted
    assert await PortraitModel.filter(user_id=8803).count() == 0
    assert await Prompt.filter(user_id=8803).count() == 0
    assert not await User.filter(telegram_id=8803).exists()
    assert await PendingModelDeletion.all().count() == 0
    anonymous = await User.get(status=UserStatus.ERASED)
    key = anonymous.telegram_id
    assert key < 0
    assert (anonymous.first_name, anonymous.last_name, anonymous.username) == (None, None, None)
    assert (anonymous.language, anonymous.language_code) == (None, None)
    assert anonymous.credits == balance
    ledger = await CreditEntry.filter(user_id=key).order_by("id")
    assert len(ledger) == ledger_size and ledger[-1].balance_after == balance
    assert "8803" not in [entry.reference for entry in ledger]
    welcome = next(entry for entry in ledger if entry.reason == LedgerReason.WELCOME)
    assert welcome.reference.startswith("erased:") and welcome.delta == 200
    payment = await Payment.get(charge_id="stars-charge-1")
    assert (payment.user_id, payment.credits, payment.stars) == (key, 100, 50)
    storage_key = StorageKey(bot_id=app.bot.id, chat_id=8803, user_id=8803)
    assert await app.dispatcher.storage.get_state(storage_key) is None
    assert await app.dispatcher.storage.get_data(storage_key) == {}

    # Back again: a new user, without a second welcome bonus.
    await user.send_text("/start")
    greeting = await expect_text(user, "Hi, Anna!")
    assert "Your balance: 0 credits." in greeting.body
    assert (await User.get(telegram_id=8803)).credits == 0
    assert await CreditEntry.filter(user_id=8803).count() == 0


async def test_a_deletion_n8n_refuses_is_retried_by_another_replica_after_a_restart(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    app: BotApp = await start_bot(**trainer_settings)
    user = await registered(tg, 8804)
    model = await ready_model(n8n, user)
    n8n.fail("delete-model", status=500, times=app.settings.n8n_attempts)
    await ask_to_delete(user)
    await user.press_button("Yes, delete everything")
    done = await expect_text(user, "Your data has been deleted")
    assert "retried automatically" in done.body

    async def attempt_failed() -> bool:
        pending = await PendingModelDeletion.get(model_id=model.model_id)
        return bool(pending.last_error and "500" in pending.last_error)

    await eventually(attempt_failed)
    assert not n8n.trainings[str(model.model_id)].deleted
    assert not await PortraitModel.filter(user_id=8804).exists()

    await start_bot.stop(app)
    await start_bot(**trainer_settings)  # N8N is healthy again; the new replica retries at once
    retry = await n8n.wait_request("delete-model", count=app.settings.n8n_attempts + 1)
    assert retry.status == 200 and retry.body == {"model_id": model.model_id}
    await eventually(_no_pending_deletions)
    assert n8n.trainings[str(model.model_id)].deleted


async def _no_pending_deletions() -> bool:
    return not await PendingModelDeletion.all().exists()


async def test_retries_back_off_and_a_vanished_model_counts_as_deleted(
    start_bot: StartBot, n8n: FakeN8N
) -> None:
    await start_bot()  # without N8N: the replica's own worker stays idle
    client = N8NClient(n8n.base_url, n8n.secret, backoff_seconds=0.01)
    try:
        now = datetime.now(UTC)
        await PendingModelDeletion.create(model_id="tune-gone", next_attempt_at=now)
        n8n.fail("delete-model", status=503, times=client.attempts)
        assert await privacy.retry_due_deletions(client) == 0
        row = await PendingModelDeletion.get(model_id="tune-gone")
        assert row.attempts == 1 and row.last_error and "503" in row.last_error
        wait = row.next_attempt_at - datetime.now(UTC)
        assert timedelta(seconds=50) < wait <= timedelta(minutes=1)
        assert await privacy.retry_due_deletions(client) == 0  # not due yet: N8N not called
        assert len(n8n.calls("delete-model")) == client.attempts
        assert privacy.backoff(2) == timedelta(minutes=2)
        assert privacy.backoff(30) == timedelta(hours=1)

        await PendingModelDeletion.filter(id=row.id).update(next_attempt_at=datetime.now(UTC))
        assert await privacy.retry_due_deletions(client) == 1  # N8N: 404 "model not found"
        assert n8n.calls("delete-model")[-1].status == 404
        assert not await PendingModelDeletion.all().exists()
    finally:
        await client.close()


async def test_a_double_tap_deletes_once_and_no_keeps_everything(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start_bot(**trainer_settings)
    keeper = await registered(tg, 8805)
    kept_model = await ready_model(n8n, keeper)
    question = await ask_to_delete(keeper)
    await keeper.press_button("No, keep my data")
    await expect_text(keeper, "Nothing was deleted")
    (yes,) = [data for data in question.callback_data if "confirm" in data]
    await keeper.press(yes, message_id=question.message_id)  # the old "Yes" no longer works
    await tg.wait_until(lambda: stale_answers_now(tg) == 1)
    assert await PortraitModel.filter(id=kept_model.id).exists()
    assert await User.filter(telegram_id=8805).exists()

    tapper = await registered(tg, 8806)
    await ready_model(n8n, tapper, name="Bea")
    question = await ask_to_delete(tapper)
    (yes,) = [data for data in question.callback_data if "confirm" in data]
    await asyncio.gather(
        tapper.press(yes, message_id=question.message_id),
        tapper.press(yes, message_id=question.message_id),
    )
    await expect_text(tapper, "Your data has been deleted")
    # The second tap finds no user: answered silently, and it does not bring a profile back.
    await tg.wait_until(
        lambda: (
            len([c for c in tg.calls if c.method == "answerCallbackQuery" and c.chat_id == 8806])
            == 2
        )
    )
    assert not await User.filter(telegram_id=8806).exists()
    await n8n.wait_request("delete-model")
    assert len(n8n.calls("delete-model")) == 1
    assert await User.filter(status=UserStatus.ERASED).count() == 1
    assert len([e for e in tg.events(8806) if "has been deleted" in e.body]) == 1
    assert not n8n.trainings[str(kept_model.model_id)].deleted


def stale_answers_now(tg: FakeTelegram) -> int:
    return sum(
        1
        for call in tg.calls
        if call.method == "answerCallbackQuery" and "no longer valid" in str(call.params)
    )
