"""The training wizard end to end: /train → name → type → photos → confirm → N8N → callback."""

from __future__ import annotations

import asyncio
import io
import json
import random
from functools import cache
from typing import Any

import pytest
from PIL import Image

from bot.models import CreditEntry, LedgerReason, ModelStatus, PortraitModel
from bot.services import credits
from bot.services.n8n import N8NClient
from tests.conftest import StartBot
from tests.fakes.n8n import FakeN8N, jpeg_data_url
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.helpers import expect_text, post_update


@cache
def photo(seed: int, size: tuple[int, int] = (640, 720), fmt: str = "JPEG") -> bytes:
    """A distinct, decodable picture for every seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    for _ in range(6):
        x, y = rng.randrange(size[0] - 50), rng.randrange(size[1] - 50)
        image.paste(
            (rng.randrange(256), rng.randrange(256), rng.randrange(256)), (x, y, x + 50, y + 50)
        )
    buffer = io.BytesIO()
    image.save(buffer, fmt, quality=85)
    return buffer.getvalue()


async def start(start_bot: StartBot, trainer_settings: dict[str, Any], **overrides: Any) -> None:
    await start_bot(**{**trainer_settings, **overrides})


async def reach_photos(user: FakeUser, name: str = "Anna") -> None:
    await user.send_text("/train")
    await expect_text(user, "How shall we call it?")
    await user.send_text(name)
    await expect_text(user, "Who is in the photos?")
    await user.press_button("Woman")
    await expect_text(user, "Now send")


async def send_album(user: FakeUser, seeds: range) -> Any:
    await user.send_album([photo(seed) for seed in seeds])
    return await expect_text(user, "Photos:")


async def confirm(user: FakeUser) -> None:
    await user.press_button("Start training")
    await expect_text(user, "Ready to train")
    await user.press_button("Confirm and pay")


async def test_happy_path_from_name_to_ready_model(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings, start_credits=150)
    user = tg.user(8001, first_name="Anna")
    await reach_photos(user, name="Portrait <b>x</b> & co")
    report = await send_album(user, range(10))
    assert "Accepted: 10." in report.body and "Photos: 10/20." in report.body
    assert any("Start training" in button for button in report.buttons)
    assert len([e for e in tg.events(8001) if "Photos:" in e.body]) == 1  # one answer per album

    await user.press_button("Start training")
    summary = await expect_text(user, "Ready to train")
    assert "Name: Portrait <b>x</b> & co" in summary.body  # shown literally
    assert "Photos: 10" in summary.body and "Cost: 100 credits" in summary.body
    assert "Your balance: 150 credits" in summary.body
    await user.press_button("Confirm and pay")
    started = await expect_text(user, "has started")
    assert "Portrait <b>x</b> & co" in started.body

    request = (await n8n.wait_request("train")).body
    assert request is not None
    assert request["telegram_id"] == 8001 and request["model_type"] == "woman"
    assert request["model_name"] == "Portrait <b>x</b> & co"
    assert len(request["images"]) == 10
    assert all(image.startswith("data:image/jpeg;base64,") for image in request["images"])
    assert request["callback_url"].endswith("/n8n/model-status")
    model = await PortraitModel.get(user_id=8001)
    assert (model.status, model.model_id) == (ModelStatus.TRAINING, "tune-1001")
    assert str(model.request_id) == request["request_id"]
    assert await credits.balance_of(8001) == 50

    assert await n8n.complete_training("tune-1001", "ready") == 200
    ready = await expect_text(user, "is ready")
    assert any("Generate" in button for button in ready.buttons)
    assert (await PortraitModel.get(id=model.id)).status == ModelStatus.READY
    await user.send_text("/models")
    assert "ready" in (await expect_text(user, "Your models")).body


@pytest.mark.parametrize(
    ("name", "complaint"),
    [("   ", "cannot be empty"), ("x" * 41, "too long"), ("bad\u0007name", "printable")],
)
async def test_bad_names_are_asked_again(
    start_bot: StartBot,
    trainer_settings: dict[str, Any],
    tg: FakeTelegram,
    name: str,
    complaint: str,
) -> None:
    await start(start_bot, trainer_settings)
    user = tg.user(8002)
    await user.send_text("/train")
    await expect_text(user, "How shall we call it?")
    await user.send_text(name)
    await expect_text(user, complaint)
    await user.send_sticker()
    await expect_text(user, "as a text message")
    await user.send_text("Good name")
    await expect_text(user, "Who is in the photos?")


async def test_a_name_taken_by_another_model_is_refused(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram
) -> None:
    await start(start_bot, trainer_settings)
    user = tg.user(8003)
    await user.send_text("/start")
    await user.expect("sendMessage")
    await PortraitModel.create(
        user_id=8003,
        name="Summer",
        model_type="man",
        request_id="00000000-0000-4000-8000-000000000001",
        status=ModelStatus.READY,
    )
    await user.send_text("/train")
    await expect_text(user, "How shall we call it?")
    await user.send_text("  SUMMER ")
    await expect_text(user, "already have a model with that name")


async def test_bad_photos_are_named_and_not_counted(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram
) -> None:
    await start(start_bot, trainer_settings)
    user = tg.user(8004)
    await reach_photos(user)
    await user.send_photo(photo(1, size=(400, 300)))
    small = await expect_text(user, "refused")
    assert "too small" in small.body and "Photos: 0/20" in small.body
    await user.send_document(
        b"\xff\xd8\xff\xe0 this is not really a jpeg",
        file_name="broken.jpg",
        mime_type="image/jpeg",
    )
    assert "broken.jpg refused: it is not an image" in (await expect_text(user, "refused")).body
    getfile_before = len([c for c in tg.calls if c.method == "getFile"])
    await user.send_document(
        photo(2), file_name="huge.png", mime_type="image/png", file_size=21 * 2**20
    )
    huge = await expect_text(user, "refused")
    assert "huge.png refused: the file is larger than 20 MB" in huge.body
    assert (
        len([c for c in tg.calls if c.method == "getFile"]) == getfile_before
    )  # no download tried
    await user.send_photo(photo(3))
    assert "Accepted: 1." in (await expect_text(user, "Photos: 1/20")).body
    await user.send_photo(photo(3))
    assert "Already received" in (await expect_text(user, "Photos: 1/20")).body
    await user.send_document(photo(4, fmt="PNG"), file_name="me.png", mime_type="image/png")
    await expect_text(user, "Photos: 2/20")
    await user.send_document(b"%PDF-1.4", file_name="cv.pdf", mime_type="application/pdf")
    await expect_text(user, "not an image")
    await user.send_text("hello?")
    await expect_text(user, "waiting for photos")
    await user.send_video()
    await expect_text(user, "waiting for photos")


async def test_twenty_five_photos_keep_twenty(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram
) -> None:
    await start(start_bot, trainer_settings)
    user = tg.user(8005)
    await reach_photos(user)
    assert "Photos: 10/20" in (await send_album(user, range(100, 110))).body
    assert "Photos: 20/20" in (await send_album(user, range(110, 120))).body
    last = await send_album(user, range(120, 125))
    assert "limit of 20 is reached: 5" in last.body and "Photos: 20/20" in last.body


async def test_album_split_across_two_replicas_is_kept_whole_and_answered_once(
    backend: str, start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram
) -> None:
    if backend == "embedded":
        pytest.skip("one replica only without Redis")
    first = await start_bot(**trainer_settings)
    second = await start_bot(**trainer_settings)
    user = tg.user(8006)
    await reach_photos(user)
    # Deliver the album's items to the two replicas alternately, all at once.
    updates = []
    group = "album-8006"
    for seed in range(200, 210):
        update = user._photo_payload(photo(seed), group, None)
        update["update_id"] = tg.next_update_id()
        updates.append(update)
    statuses = await asyncio.gather(
        *(post_update(first if n % 2 else second, update) for n, update in enumerate(updates))
    )
    assert statuses == [200] * 10
    report = await expect_text(user, "Photos:")
    assert "Accepted: 10." in report.body and "Photos: 10/20" in report.body
    await user.send_text("/cancel")  # a later update: every album answer came before it
    await expect_text(user, "cancelled")
    assert len([e for e in tg.events(8006) if "Photos:" in e.body]) == 1


async def test_double_confirm_makes_one_job_and_one_charge(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings, start_credits=300, min_photos=3)
    user = tg.user(8007)
    await reach_photos(user)
    await send_album(user, range(300, 303))
    await user.press_button("Start training")
    await expect_text(user, "Ready to train")
    await user.press_button("Confirm and pay")
    await user.press_button("Confirm and pay")
    await expect_text(user, "has started")
    assert len(n8n.calls("train")) == 1
    assert await CreditEntry.filter(user_id=8007, reason=LedgerReason.RESERVE_TRAINING).count() == 1
    assert await credits.balance_of(8007) == 200
    assert await PortraitModel.filter(user_id=8007).count() == 1


async def test_n8n_error_then_success_is_one_job(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings, start_credits=100, min_photos=3)
    n8n.fail("train", status=500, times=1)
    user = tg.user(8008)
    await reach_photos(user)
    await send_album(user, range(400, 403))
    await confirm(user)
    await expect_text(user, "has started")
    attempts = n8n.calls("train")
    assert [call.status for call in attempts] == [500, 200]
    assert attempts[0].body["request_id"] == attempts[1].body["request_id"]
    assert len(n8n.trainings) == 1
    assert (await PortraitModel.get(user_id=8008)).status == ModelStatus.TRAINING


async def test_n8n_down_returns_credits_and_keeps_the_photos(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings, start_credits=100, min_photos=3)
    user = tg.user(8009)
    await reach_photos(user)
    await send_album(user, range(500, 503))
    n8n.down()
    await confirm(user)
    failure = await expect_text(user, "did not accept")
    assert "credits were returned" in failure.body
    assert await credits.balance_of(8009) == 100
    assert (await PortraitModel.get(user_id=8009)).status == ModelStatus.FAILED
    await n8n.up()
    await user.press_button("Try again")  # no re-upload
    await expect_text(user, "has started")
    assert await credits.balance_of(8009) == 0
    assert len((await n8n.wait_request("train")).body["images"]) == 3


async def test_not_enough_credits_reserves_nothing(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings, start_credits=30, min_photos=3)
    user = tg.user(8010)
    await reach_photos(user)
    await send_album(user, range(600, 603))
    await user.press_button("Start training")
    summary = await expect_text(user, "Ready to train")
    assert "You need 70 more credits" in summary.body
    assert not any("Confirm" in button for button in summary.buttons)
    assert await CreditEntry.filter(user_id=8010).count() == 1  # the welcome bonus only
    assert n8n.calls("train") == []


async def test_a_photo_corrupted_by_the_time_of_confirm_is_named_and_the_rest_is_sent(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings, start_credits=100)
    user = tg.user(8011)
    await reach_photos(user)
    await send_album(user, range(700, 710))
    await user.send_photo(photo(710))
    await expect_text(user, "Photos: 11/20")
    await user.send_photo(photo(711))
    await expect_text(user, "Photos: 12/20")
    last = tg.messages(8011, include_user=True)
    victim = next(m for m in reversed(last) if m.get("photo"))["photo"][-1]["file_id"]
    tg._files[victim].data = b"\xff\xd8\xff garbage"  # Telegram now serves a broken file
    await confirm(user)
    named = await expect_text(user, "This photo")
    assert "not an image" in named.body
    await expect_text(user, "has started")
    assert len((await n8n.wait_request("train")).body["images"]) == 11


async def test_callbacks_are_authenticated_validated_and_idempotent(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings, start_credits=100, min_photos=3)
    user = tg.user(8012)
    await reach_photos(user)
    await send_album(user, range(800, 803))
    await confirm(user)
    await expect_text(user, "has started")
    model_id = "tune-1001"
    url = n8n.trainings[model_id].callback_url

    assert await n8n.complete_training(model_id, "failed", error="x", secret="forged") == 401
    assert await n8n.complete_training(model_id, "failed", error="x", secret="") == 401
    assert await n8n.post_callback(url, {"model_id": model_id, "status": "done"}) == 400
    assert await n8n.post_callback(url, {"status": "ready"}) == 400
    assert await n8n.post_callback(url, "not an object") == 400
    assert (
        await n8n.post_callback(
            url, {"model_id": model_id, "status": "ready", "request_id": "nope"}
        )
        == 400
    )
    assert await n8n.post_callback(url, {"model_id": "tune-404", "status": "ready"}) == 404
    assert (await PortraitModel.get(user_id=8012)).status == ModelStatus.TRAINING

    assert (
        await n8n.complete_training(model_id, "failed", error="Astria rejected the photos") == 200
    )
    assert await n8n.complete_training(model_id, "failed", error="again") == 200
    assert await n8n.complete_training(model_id, "ready") == 200  # out of order: ignored
    told = await expect_text(user, "failed")
    assert "Astria rejected the photos" in told.body and "credits were returned" in told.body
    assert await credits.balance_of(8012) == 100
    assert await CreditEntry.filter(user_id=8012, reason=LedgerReason.RELEASE).count() == 1
    model = await PortraitModel.get(user_id=8012)
    assert (model.status, model.error) == (ModelStatus.FAILED, "Astria rejected the photos")
    await user.send_text("/cancel")
    await expect_text(user, "nothing to cancel")
    assert len([e for e in tg.events(8012) if "failed" in e.body]) == 1


async def test_a_callback_may_overtake_the_answer_to_train(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings, start_credits=100, min_photos=3)
    user = tg.user(8013)
    await reach_photos(user)
    await send_album(user, range(900, 903))
    await user.press_button("Start training")
    await expect_text(user, "Ready to train")
    n8n.stall("train", seconds=1.0)
    await user.press_button("Confirm and pay")
    request = await n8n.wait_request("train")
    body = {
        "model_id": "tune-early",
        "request_id": request.body["request_id"],
        "status": "training",
    }
    assert await n8n.post_callback(request.body["callback_url"], body) == 200
    await expect_text(user, "has started")
    model = await PortraitModel.get(user_id=8013)
    assert model.status == ModelStatus.TRAINING and model.model_id == "tune-early"
    assert json.loads(json.dumps(model.model_id)) == "tune-early"


async def test_too_few_usable_photos_at_confirm_returns_credits_and_keeps_the_good_ones(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings, start_credits=100, min_photos=3)
    user = tg.user(8014)
    await reach_photos(user)
    await send_album(user, range(1000, 1003))
    sent = [m for m in tg.messages(8014, include_user=True) if m.get("photo")]
    tg._files[sent[0]["photo"][-1]["file_id"]].data = b"broken now"
    await confirm(user)
    back = await expect_text(user, "Only 2 photos are usable")
    assert "credits were returned" in back.body
    assert not any("Start training" in button for button in back.buttons)
    assert await credits.balance_of(8014) == 100
    assert await PortraitModel.filter(user_id=8014).count() == 0
    assert n8n.calls("train") == []
    await user.send_photo(photo(1003))
    assert "Photos: 3/20" in (await expect_text(user, "Accepted")).body  # the good two were kept


async def test_a_slow_n8n_is_retried_with_the_same_request(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(
        start_bot, trainer_settings, start_credits=100, min_photos=3, n8n_timeout_seconds=0.5
    )
    n8n.stall("train", seconds=2.0)
    user = tg.user(8015)
    await reach_photos(user)
    await send_album(user, range(1100, 1103))
    await confirm(user)
    await expect_text(user, "has started")
    first, second = n8n.calls("train")[:2]
    assert first.body["request_id"] == second.body["request_id"]
    assert len(n8n.trainings) == 1  # the retry got the job the first attempt had started
    assert (await PortraitModel.get(user_id=8015)).model_id == "tune-1001"


async def test_an_old_type_button_is_answered_not_obeyed(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram
) -> None:
    await start(start_bot, trainer_settings)
    user = tg.user(8016)
    await user.send_text("/train")
    await expect_text(user, "How shall we call it?")
    await user.send_text("Rex")
    await expect_text(user, "Who is in the photos?")
    await user.send_text("/cancel")
    await expect_text(user, "cancelled")
    await user.press_button("Dog")
    answer = await user.expect("answerCallbackQuery")
    assert answer.body == "This button is no longer active."


async def test_models_list_shows_status_and_date_newest_first(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram
) -> None:
    await start(start_bot, trainer_settings)
    user = tg.user(8017)
    await user.send_text("/start")
    await user.expect("sendMessage")
    for number, status in enumerate((ModelStatus.READY, ModelStatus.TRAINING)):
        await PortraitModel.create(
            user_id=8017,
            name=f"Model {number}",
            model_type="cat",
            request_id=f"00000000-0000-4000-8000-00000000001{number}",
            status=status,
        )
    await user.send_text("/models")
    listing = (await expect_text(user, "Your models")).body
    assert listing.index("Model 1") < listing.index("Model 0")
    assert "Model 0 — ✅ ready, 20" in listing and "Model 1 — 🧠 training" in listing


async def test_status_of_a_job_can_be_asked_from_n8n(n8n: FakeN8N) -> None:
    client = N8NClient(n8n.base_url, n8n.secret, backoff_seconds=0.01)
    try:
        model_id = await client.train(
            request_id="00000000-0000-4000-8000-000000000099",
            telegram_id=1,
            model_name="x",
            model_type="man",
            images=[jpeg_data_url()],
            callback_url="http://127.0.0.1:9/n8n/model-status",
        )
        assert (await client.status(model_id=model_id)) == {
            "model_id": model_id,
            "request_id": "00000000-0000-4000-8000-000000000099",
            "status": "training",
        }
        assert await client.status(model_id="tune-unknown") is None
    finally:
        await client.close()


async def test_a_late_failure_after_ready_refunds_nothing(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings, start_credits=100, min_photos=3)
    user = tg.user(8018)
    await reach_photos(user)
    await send_album(user, range(1200, 1203))
    await confirm(user)
    await expect_text(user, "has started")
    assert await n8n.complete_training("tune-1001", "ready") == 200
    await expect_text(user, "is ready")
    assert await n8n.complete_training("tune-1001", "failed", error="late") == 200
    assert (await PortraitModel.get(user_id=8018)).status == ModelStatus.READY
    assert await credits.balance_of(8018) == 0
    assert await CreditEntry.filter(user_id=8018, reason=LedgerReason.RELEASE).count() == 0


async def test_a_photo_that_cannot_be_downloaded_at_confirm_is_named(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram, n8n: FakeN8N
) -> None:
    await start(start_bot, trainer_settings, start_credits=100, min_photos=3)
    user = tg.user(8019)
    await reach_photos(user)
    await send_album(user, range(1300, 1304))
    sent = [m for m in tg.messages(8019, include_user=True) if m.get("photo")]
    tg._files[sent[-1]["photo"][-1]["file_id"]].data = None  # Telegram answers 404 for it now
    await confirm(user)
    named = await expect_text(user, "could not download")
    assert "Photo 4" in named.body
    await expect_text(user, "has started")
    assert len((await n8n.wait_request("train")).body["images"]) == 3
    assert await credits.balance_of(8019) == 0


async def test_a_pdf_inside_an_album_is_reported_in_the_albums_one_answer(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram
) -> None:
    await start(start_bot, trainer_settings)
    user = tg.user(8020)
    await reach_photos(user)
    group = "album-with-a-pdf"
    await asyncio.gather(
        user.send_document(
            photo(1400), file_name="a.jpg", mime_type="image/jpeg", media_group_id=group
        ),
        user.send_document(
            b"%PDF-1.4", file_name="cv.pdf", mime_type="application/pdf", media_group_id=group
        ),
        user.send_document(
            photo(1401), file_name="b.jpg", mime_type="image/jpeg", media_group_id=group
        ),
    )
    report = await expect_text(user, "Photos:")
    assert "Accepted: 2." in report.body and "cv.pdf refused: it is not an image" in report.body
    await user.send_text("/cancel")
    await expect_text(user, "cancelled")
    assert (
        len([e for e in tg.events(8020) if e.method == "sendMessage" and "refused" in e.body]) == 1
    )


async def test_an_album_arriving_after_the_user_moved_on_is_not_silently_dropped(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram
) -> None:
    await start(start_bot, trainer_settings, album_settle_seconds=0.5)
    user = tg.user(8021)
    await reach_photos(user)
    await user.send_album([photo(seed) for seed in range(1500, 1503)])
    await user.send_text("/cancel")  # before the album settled
    await expect_text(user, "cancelled")
    await expect_text(user, "arrived after you moved on")


async def test_a_button_of_an_earlier_wizard_is_stale_even_at_the_same_step(
    start_bot: StartBot, trainer_settings: dict[str, Any], tg: FakeTelegram
) -> None:
    await start(start_bot, trainer_settings)
    user = tg.user(8022)
    await user.send_text("/train")
    await expect_text(user, "How shall we call it?")
    await user.send_text("Rex")
    old = await expect_text(user, "Who is in the photos?")
    await user.send_text("/train")  # starts over
    await expect_text(user, "How shall we call it?")
    await user.send_text("Max")
    await expect_text(user, "Who is in the photos?")
    old_dog = next(
        data for text, data in zip(old.buttons, old.callback_data, strict=True) if "Dog" in text
    )
    await user.press(old_dog, message_id=old.message_id)
    assert (await user.expect("answerCallbackQuery")).body == "This button is no longer active."
    await user.press_button("Dog")  # the current wizard's keyboard still works
    await expect_text(user, "Now send")
