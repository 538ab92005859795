"""The generation wizard end to end: /generate → model → prompt or style → confirm → N8N →
images delivered once; history and resend."""

from __future__ import annotations

import asyncio
import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.models import CreditEntry, LedgerReason, ModelStatus, PortraitModel, Prompt, PromptStatus
from bot.outbound import jobs as outbound_jobs
from bot.services import credits
from bot.services.n8n import N8NClient
from tests.conftest import StartBot
from tests.fakes.n8n import FakeN8N, jpeg_data_url
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.helpers import eventually, expect_text, post_update


async def ready_model(n8n: FakeN8N, user: FakeUser, name: str = "Anna") -> PortraitModel:
    """A model trained at the fake N8N (so /generate knows it) and ready in our database."""
    request_id = uuid.uuid4()
    client = N8NClient(n8n.base_url, n8n.secret)
    try:
        model_id = await client.train(
            request_id=str(request_id),
            telegram_id=user.id,
            model_name=name,
            model_type="woman",
            images=[jpeg_data_url()],
            callback_url="http://127.0.0.1:9/n8n/model-status",
        )
    finally:
        await client.close()
    return await PortraitModel.create(
        user_id=user.id,
        name=name,
        model_type="woman",
        request_id=request_id,
        model_id=model_id,
        status=ModelStatus.READY,
    )


async def start(start_bot: StartBot, trainer_settings: dict[str, Any], **overrides: Any) -> None:
    await start_bot(**{**trainer_settings, "start_credits": 50, **overrides})


async def registered(tg: FakeTelegram, user_id: int, **profile: Any) -> FakeUser:
    user = tg.user(user_id, **profile)
    await user.send_text("/start")
    await user.expect("sendMessage")
    return user


async def to_summary(user: FakeUser, prompt: str = "me as an astronaut on the moon") -> Any:
    await user.send_text("/generate")
    await expect_text(user, "Which model")
    await user.press_button("Anna")
    await expect_text(user, "Now describe")
    await user.send_text(prompt)
    return await expect_text(user, "Ready to generate")


async def generate(user: FakeUser, n8n: FakeN8N) -> str:
    await to_summary(user)
    await user.press_button("✅ Generate")
    await expect_text(user, "Generating your portraits")
    request = await n8n.wait_request("generate")
    assert request.status == 200
    return next(iter(n8n.generations))


async def test_happy_path_four_images_in_one_album(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings)
    user = await registered(tg, 9001)
    model = await ready_model(n8n, user)
    summary = await to_summary(user, "me as an <astronaut> & a hero")
    assert "Prompt: me as an <astronaut> & a hero" in summary.body  # shown literally
    assert "Images: 4" in summary.body and "Cost: 10 credits" in summary.body
    assert "Your balance: 50 credits" in summary.body
    await user.press_button("✅ Generate")
    await expect_text(user, "Generating your portraits")
    body = (await n8n.wait_request("generate")).body
    assert body is not None
    assert body["model_id"] == model.model_id and body["model_type"] == "woman"
    assert body["prompt"] == "me as an <astronaut> & a hero" and body["num_images"] == 4
    assert body["callback_url"].endswith("/n8n/prompt-status")
    prompt_id = next(iter(n8n.generations))
    job = await Prompt.get(user_id=9001)
    assert (job.status, job.prompt_id) == (PromptStatus.PROCESSING, prompt_id)
    assert await credits.balance_of(9001) == 40

    assert await n8n.complete_generation(prompt_id) == 200
    album = await user.expect("sendMediaGroup")
    assert len(album.media) == 4
    assert album.media[0]["caption"] == "🎨 me as an <astronaut> & a hero"
    after = await expect_text(user, "Here are your portraits")
    assert [b for b in after.buttons] == ["🔁 More like this", "✏️ New prompt", "☰ Menu"]
    job = await Prompt.get(id=job.id)
    assert job.status == PromptStatus.READY and job.images is not None
    assert [image["url"] for image in job.images] == n8n.image_urls(prompt_id, 4)
    assert all(image["file_id"] for image in job.images)


async def test_twelve_images_come_as_albums_of_ten_and_two(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings, images_per_prompt=6)  # N8N may report up to 2 × 6
    user = await registered(tg, 9002)
    await ready_model(n8n, user)
    prompt_id = await generate(user, n8n)
    assert await n8n.complete_generation(prompt_id, images=n8n.image_urls(prompt_id, 12)) == 200
    first = await user.expect("sendMediaGroup")
    second = await user.expect("sendMediaGroup")
    assert (len(first.media), len(second.media)) == (10, 2)
    albums = [c for c in tg.calls if c.method == "sendMediaGroup" and c.status == 200]
    assert albums[1].time - albums[0].time >= 0.9  # one album per second in a chat
    assert first.media[0].get("caption") and not second.media[0].get("caption")
    await expect_text(user, "Here are your portraits")


async def test_a_single_image_is_sent_as_a_photo(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings, images_per_prompt=1)
    user = await registered(tg, 9003)
    await ready_model(n8n, user)
    prompt_id = await generate(user, n8n)
    assert (await n8n.wait_request("generate")).body["num_images"] == 1
    assert await n8n.complete_generation(prompt_id) == 200
    photo = await user.expect("sendPhoto")
    assert photo.caption == "🎨 me as an astronaut on the moon"


async def test_a_style_preset_fills_the_prompt(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings)
    user = await registered(tg, 9004, language_code="ru")
    await ready_model(n8n, user)
    await user.send_text("/generate")
    await expect_text(user, "Какую модель")
    await user.press_button("Anna")
    prompt_step = await expect_text(user, "Модель")
    assert len(prompt_step.buttons) >= 7  # six styles or more, and Cancel
    await user.press_button("Деловой портрет")
    summary = await expect_text(user, "Всё готово к генерации")
    assert "business headshot of a woman" in summary.body
    await user.press_button("Создать")
    await expect_text(user, "Создаю")
    body = (await n8n.wait_request("generate")).body
    assert body is not None and body["prompt"].startswith(
        "professional business headshot of a woman"
    )


@pytest.mark.parametrize(("prompt", "complaint"), [("hi", "too short"), ("x" * 1001, "too long")])
async def test_bad_prompts_are_asked_again(
    start_bot: StartBot,
    trainer_settings: dict[str, Any],
    tg: FakeTelegram,
    n8n: FakeN8N,
    prompt: str,
    complaint: str,
) -> None:
    await start(start_bot, trainer_settings)
    user = await registered(tg, 9005)
    await ready_model(n8n, user)
    await user.send_text("/generate")
    await expect_text(user, "Which model")
    await user.press_button("Anna")
    await expect_text(user, "Now describe")
    await user.send_text(prompt)
    await expect_text(user, complaint)
    await user.send_sticker()
    await expect_text(user, "in a text message")
    await user.send_text("a calm portrait by the sea")
    await expect_text(user, "Ready to generate")


async def test_no_ready_model_says_why(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram
) -> None:
    await start(start_bot, trainer_settings)
    user = await registered(tg, 9006)
    await user.send_text("/generate")
    none_yet = await expect_text(user, "no models yet")
    assert any("Train" in button for button in none_yet.buttons)
    await PortraitModel.create(
        user_id=9006,
        name="Bob",
        model_type="man",
        request_id=uuid.uuid4(),
        status=ModelStatus.TRAINING,
    )
    await user.send_text("/generate")
    await expect_text(user, "Bob is not ready yet (status: 🧠 training)")


async def test_another_users_model_cannot_be_chosen(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings)
    owner = await registered(tg, 9007)
    theirs = await ready_model(n8n, owner, name="Secret")
    thief = await registered(tg, 9008)
    await ready_model(n8n, thief)
    await thief.send_text("/generate")
    await expect_text(thief, "Which model")
    await thief.press(f"gmodel:{theirs.id}")
    refusal = await thief.expect("answerCallbackQuery")
    assert refusal.body == "This model is not available."
    assert n8n.calls("generate") == []


async def test_double_confirm_on_two_replicas_is_one_job(
    backend: str,
    start_bot: StartBot,
    trainer_settings: dict[str, Any],
    tg: FakeTelegram,
    n8n: FakeN8N,
) -> None:
    if backend == "embedded":
        pytest.skip("one replica only without Redis")
    first = await start_bot(**{**trainer_settings, "start_credits": 50})
    second = await start_bot(**{**trainer_settings, "start_credits": 50})
    user = await registered(tg, 9009)
    await ready_model(n8n, user)
    summary = await to_summary(user)
    confirm = next(
        data
        for text, data in zip(summary.buttons, summary.callback_data, strict=False)
        if "Generate" in text
    )
    # Four distinct presses of the same button (a nervous double tap, twice over), landing on
    # both replicas at the same moment.
    await user.press(confirm, message_id=summary.message_id)
    template = user.last_update
    assert template is not None
    presses = []
    for number in range(3):
        press = copy.deepcopy(template)
        press["update_id"] = tg.next_update_id()
        press["callback_query"]["id"] = f"{template['callback_query']['id']}-{number}"
        presses.append(press)
    statuses = await asyncio.gather(
        *(post_update(first if n % 2 else second, press) for n, press in enumerate(presses))
    )
    assert statuses == [200, 200, 200]
    await expect_text(user, "Generating your portraits")
    await user.send_text("/cancel")
    await expect_text(user, "nothing to cancel")
    assert len(n8n.calls("generate")) == 1
    reserved = await CreditEntry.filter(user_id=9009, reason=LedgerReason.RESERVE_GENERATION)
    assert len(reserved) == 1
    assert await Prompt.filter(user_id=9009).count() == 1
    assert await credits.balance_of(9009) == 40


async def test_n8n_failure_returns_the_credits_and_offers_a_retry(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings)
    user = await registered(tg, 9010)
    await ready_model(n8n, user)
    n8n.fail("generate", status=500, times=3)
    await to_summary(user)
    await user.press_button("✅ Generate")
    failure = await expect_text(user, "did not accept")
    assert await credits.balance_of(9010) == 50
    assert (await Prompt.get(user_id=9010)).status == PromptStatus.FAILED
    await user.press_button("Try again")
    await expect_text(user, "Generating your portraits")
    assert await credits.balance_of(9010) == 40
    assert failure is not None


@pytest.mark.parametrize("status", [404, 410])
async def test_a_model_gone_at_astria_expires(
    start_bot: StartBot,
    trainer_settings: dict[str, Any],
    tg: FakeTelegram,
    n8n: FakeN8N,
    status: int,
) -> None:
    await start(start_bot, trainer_settings)
    user = await registered(tg, 9011)
    model = await ready_model(n8n, user)
    n8n.fail("generate", status=status, times=1)
    await to_summary(user)
    await user.press_button("✅ Generate")
    gone = await expect_text(user, "no longer available")
    assert any("Train" in button for button in gone.buttons)
    assert (await PortraitModel.get(id=model.id)).status == ModelStatus.EXPIRED
    assert await credits.balance_of(9011) == 50


async def test_repeated_and_concurrent_ready_callbacks_deliver_once(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings)
    user = await registered(tg, 9012)
    await ready_model(n8n, user)
    prompt_id = await generate(user, n8n)
    statuses = await asyncio.gather(*(n8n.complete_generation(prompt_id) for _ in range(3)))
    assert statuses == [200, 200, 200]
    assert await n8n.complete_generation(prompt_id) == 200
    await expect_text(user, "Here are your portraits")
    await user.send_text("/cancel")
    await expect_text(user, "nothing to cancel")
    assert len([e for e in tg.events(9012) if e.method == "sendMediaGroup"]) == 1


async def test_a_refused_url_is_uploaded_instead(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings)
    user = await registered(tg, 9013)
    await ready_model(n8n, user)
    prompt_id = await generate(user, n8n)
    tg.refuse_url(f"{prompt_id}-2")
    assert await n8n.complete_generation(prompt_id) == 200
    album = await user.expect("sendMediaGroup")
    assert len(album.media) == 4
    upload = [c for c in tg.calls if c.method == "sendMediaGroup" and c.status == 200][-1]
    assert len(upload.files) == 4  # the bytes went up
    assert sorted(n8n.image_downloads) == sorted(f"{prompt_id}-{n}" for n in range(1, 5))
    await expect_text(user, "Here are your portraits")


async def test_a_flood_limit_during_an_album_is_waited_out(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings)
    user = await registered(tg, 9014)
    await ready_model(n8n, user)
    prompt_id = await generate(user, n8n)
    tg.fail("sendMediaGroup", status=429, retry_after=1, times=1, chat_id=9014)
    assert await n8n.complete_generation(prompt_id) == 200
    album = await user.expect("sendMediaGroup", timeout=10)
    assert len(album.media) == 4
    await expect_text(user, "Here are your portraits")


async def test_failed_generation_is_told_and_refunded_once(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings)
    user = await registered(tg, 9015)
    await ready_model(n8n, user)
    prompt_id = await generate(user, n8n)
    assert await n8n.complete_generation(prompt_id, "failed", error="NSFW filter") == 200
    assert await n8n.complete_generation(prompt_id, "failed", error="NSFW filter") == 200
    told = await expect_text(user, "generation failed")
    assert "NSFW filter" in told.body
    assert await credits.balance_of(9015) == 50
    assert await CreditEntry.filter(user_id=9015, reason=LedgerReason.RELEASE).count() == 1
    url = n8n.generations[prompt_id].callback_url
    assert (
        await n8n.post_callback(url, {"prompt_id": prompt_id, "status": "ready", "images": "x"})
        == 400
    )
    assert await n8n.post_callback(url, {"prompt_id": "prompt-404", "status": "ready"}) == 404
    assert await n8n.complete_generation(prompt_id, secret="forged") == 401


async def test_history_resends_by_file_id_and_more_like_this(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings)
    user = await registered(tg, 9016)
    await ready_model(n8n, user)
    prompt_id = await generate(user, n8n)
    assert await n8n.complete_generation(prompt_id) == 200
    await expect_text(user, "Here are your portraits")
    downloads = len(n8n.image_downloads)

    await user.send_text("/history")
    listing = await expect_text(user, "Your last generations")
    assert "me as an astronaut on the moon" in listing.body and "Anna" in listing.body
    await user.press_button("Resend #1")
    resent = await user.expect("sendMediaGroup")
    job = await Prompt.get(user_id=9016)
    assert job.images is not None
    sent_media = [item["media"] for item in resent.params["media"]]
    assert sent_media == [image["file_id"] for image in job.images]
    assert len(n8n.image_downloads) == downloads  # nothing downloaded again

    await user.press_button("More like this")
    again = await expect_text(user, "Ready to generate")
    assert "me as an astronaut on the moon" in again.body


async def test_models_past_eight_are_paginated(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings)
    user = await registered(tg, 9017)
    for number in range(10):
        await ready_model(n8n, user, name=f"Look {number}")
    await user.send_text("/generate")
    first_page = await expect_text(user, "Which model")
    assert len([b for b in first_page.buttons if b.startswith("Look")]) == 8
    await user.press_button("More")
    await user.expect("answerCallbackQuery")
    turned = await user.expect("editMessageReplyMarkup")
    assert len([b for b in turned.buttons if b.startswith("Look")]) == 2
    await user.press_button("Look 0")  # the oldest, on page two
    await expect_text(user, "Model Look 0")


async def test_ready_without_images_is_a_refunded_failure(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings)
    user = await registered(tg, 9018)
    await ready_model(n8n, user)
    prompt_id = await generate(user, n8n)
    assert await n8n.complete_generation(prompt_id, images=[]) == 200
    await expect_text(user, "generation failed")
    assert (await Prompt.get(user_id=9018)).status == PromptStatus.FAILED
    assert await credits.balance_of(9018) == 50


async def test_another_users_generation_cannot_be_resent(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings)
    owner = await registered(tg, 9019)
    await ready_model(n8n, owner)
    prompt_id = await generate(owner, n8n)
    assert await n8n.complete_generation(prompt_id) == 200
    await expect_text(owner, "Here are your portraits")
    job = await Prompt.get(user_id=9019)
    thief = await registered(tg, 9020)
    await thief.press(f"resend:{job.id}")
    assert (await thief.expect("answerCallbackQuery")).body == "This button is no longer active."
    await thief.press(f"after:more:{job.id}")
    assert (await thief.expect("answerCallbackQuery")).body == "This model is not available."
    assert [e for e in tg.events(9020) if e.method in ("sendMediaGroup", "sendPhoto")] == []


async def test_twenty_concurrent_confirms_with_credit_for_one_start_one_job(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings, start_credits=10)
    user = await registered(tg, 9050)
    await ready_model(n8n, user)
    summary = await to_summary(user)
    confirm = next(data for data in summary.callback_data if data.startswith("gen:confirm:"))
    await asyncio.gather(*(user.press(confirm, message_id=summary.message_id) for _ in range(20)))
    await expect_text(user, "Generating your portraits")
    await n8n.wait_request("generate")
    await tg.wait_until(
        lambda: len([c for c in tg.calls if c.method == "answerCallbackQuery"]) >= 20
    )
    assert len(n8n.calls("generate")) == 1
    assert await Prompt.filter(user_id=9050).count() == 1
    assert await credits.balance_of(9050) == 0
    assert (
        await CreditEntry.filter(user_id=9050, reason=LedgerReason.RESERVE_GENERATION).count() == 1
    )


async def test_an_earlier_summarys_generate_button_starts_nothing(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings)
    user = await registered(tg, 9060)
    await ready_model(n8n, user)
    first = await to_summary(user, "me as a knight in shining armour")
    old_generate = next(data for data in first.callback_data if data.startswith("gen:confirm:"))
    await user.press_button("Change the prompt")
    await expect_text(user, "Now describe")
    await user.send_text("me as a pirate on a ship")
    await expect_text(user, "Ready to generate")
    await user.press(old_generate, message_id=first.message_id)
    stale = await user.expect("answerCallbackQuery")
    assert "no longer active" in stale.params.get("text", "")
    assert n8n.calls("generate") == []
    await user.press_button("✅ Generate")  # the latest summary's button works
    await expect_text(user, "Generating your portraits")
    assert (await n8n.wait_request("generate")).body["prompt"] == "me as a pirate on a ship"


async def test_a_delivery_cut_off_by_a_dead_replica_is_made_again_once(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    app = await start_bot(**{**trainer_settings, "start_credits": 50})
    user = await registered(tg, 9070)
    await ready_model(n8n, user)
    prompt_id = await generate(user, n8n)
    assert await n8n.complete_generation(prompt_id) == 200
    await user.expect("sendMediaGroup")
    await expect_text(user, "Here are your portraits")
    job = await Prompt.get(prompt_id=prompt_id)

    async def delivered() -> bool:
        return (await Prompt.get(id=job.id)).delivered_at is not None

    await eventually(delivered)  # marked just after the last message
    assert await outbound_jobs.redeliver_stalled(app.outbox) == 0  # delivered: left alone

    # The replica delivering it died mid-way, long ago.
    long_ago = datetime.now(UTC) - timedelta(minutes=20)
    await Prompt.filter(id=job.id).update(delivered_at=None, delivery_started_at=long_ago)
    results = await asyncio.gather(
        outbound_jobs.redeliver_stalled(app.outbox), outbound_jobs.redeliver_stalled(app.outbox)
    )
    assert sorted(results) == [0, 1]  # two replicas' sweeps: one takes it
    assert len((await user.expect("sendMediaGroup")).media) == 4
    await expect_text(user, "Here are your portraits")
    await eventually(delivered)
    assert await outbound_jobs.redeliver_stalled(app.outbox) == 0
