"""Jobs whose N8N callback never comes: the reconciler asks N8N's /status, applies its answer
as the callback would, and fails (refunding once) what N8N forgot or what ran far too long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.models import LedgerReason, ModelStatus, PortraitModel, Prompt, PromptStatus
from bot.outbound import jobs as outbound_jobs
from bot.services import credits
from bot.services.n8n import N8NClient
from tests.conftest import StartBot
from tests.fakes.n8n import FakeN8N
from tests.fakes.telegram import FakeTelegram
from tests.helpers import expect_text
from tests.test_generation import generate, ready_model, registered


async def settle(app: Any, n8n: FakeN8N, *, later: timedelta) -> int:
    client = N8NClient(n8n.base_url, n8n.secret)
    try:
        return await outbound_jobs.settle_overdue(
            app.outbox, client, app.settings, now=datetime.now(UTC) + later
        )
    finally:
        await client.close()


async def test_a_generation_whose_callback_never_came_is_delivered_after_asking_n8n(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    app = await start_bot(**{**trainer_settings, "start_credits": 50})
    user = await registered(tg, 9501)
    await ready_model(n8n, user)
    prompt_id = await generate(user, n8n)
    await user.send_text("/history")
    listing = (await expect_text(user, "Your last generations")).body
    assert "⏱ running 0 min, usually 1–2 min" in listing  # a running job says how long so far
    # Not overdue yet: N8N is not asked.
    assert await settle(app, n8n, later=timedelta(minutes=1)) == 0
    assert n8n.calls("status") == []

    # Astria finished, but its callback was lost: only /status knows.
    job = n8n.generations[prompt_id]
    job.status, job.images = "ready", n8n.image_urls(prompt_id, job.num_images)
    assert await settle(app, n8n, later=timedelta(minutes=10)) == 1
    assert len((await user.expect("sendMediaGroup")).media) == 4
    await expect_text(user, "Here are your portraits")
    assert (await Prompt.get(prompt_id=prompt_id)).status == PromptStatus.READY
    # Asked again later (the gap has passed): ready already, nothing happens twice.
    assert await settle(app, n8n, later=timedelta(hours=2)) == 0
    assert await credits.balance_of(9501) == 40


async def test_a_training_n8n_no_longer_knows_fails_once_with_the_credits_back(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    app = await start_bot(**{**trainer_settings, "start_credits": 100})
    user = await registered(tg, 9502)
    model = await ready_model(n8n, user, name="Lost")
    await PortraitModel.filter(id=model.id).update(status=ModelStatus.TRAINING)
    await credits.move(9502, -100, LedgerReason.RESERVE_TRAINING, str(model.request_id))
    n8n.trainings[str(model.model_id)].deleted = True  # /status answers 404

    assert await settle(app, n8n, later=timedelta(minutes=45)) == 1
    notice = await expect_text(user, "Training of Lost failed")
    assert "the AI service lost track of it" in notice.body
    assert "Your credits were returned" in notice.body
    assert await credits.balance_of(9502) == 100
    assert (await PortraitModel.get(id=model.id)).status == ModelStatus.FAILED
    assert await settle(app, n8n, later=timedelta(hours=2)) == 0  # once only
    assert await credits.balance_of(9502) == 100


async def test_a_training_still_running_is_asked_rarely_and_failed_past_its_maximum_age(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    app = await start_bot(**{**trainer_settings, "start_credits": 100})
    user = await registered(tg, 9503, language_code="ru")
    model = await ready_model(n8n, user, name="Slow")
    await PortraitModel.filter(id=model.id).update(status=ModelStatus.TRAINING)
    await credits.move(9503, -100, LedgerReason.RESERVE_TRAINING, str(model.request_id))
    await PortraitModel.filter(id=model.id).update(
        created_at=datetime.now(UTC) - timedelta(minutes=12)
    )
    await user.send_text("/models")
    listing = (await expect_text(user, "Slow")).body
    assert "⏱ идёт 12 мин, обычно 20–40 мин" in listing
    made = timedelta(minutes=12)  # ago: the ages below count from the model's making

    assert await settle(app, n8n, later=timedelta(minutes=40) - made) == 0  # still training
    assert await settle(app, n8n, later=timedelta(minutes=41) - made) == 0  # within the gap
    assert len(n8n.calls("status")) == 1
    assert (await PortraitModel.get(id=model.id)).status == ModelStatus.TRAINING

    assert await settle(app, n8n, later=timedelta(hours=7) - made) == 1  # past TRAIN_MAX_AGE
    notice = await expect_text(user, "Slow")
    assert "сервис ИИ отвечал слишком долго" in notice.body  # in the user's language
    assert await credits.balance_of(9503) == 100
    assert len(n8n.calls("status")) == 1  # too old: failed without asking
