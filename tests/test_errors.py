"""Failures: Telegram's transient ones are retried quietly; what still fails is logged with
update and user, apologised for, and reported to the admins once per burst."""

from __future__ import annotations

import pytest

from bot.models import User, UserStatus
from tests.conftest import ADMIN_ID, TOKEN, LogCapture, StartBot
from tests.fakes.telegram import FakeTelegram


async def test_a_telegram_5xx_is_retried_and_the_user_gets_the_reply(
    start_bot: StartBot, tg: FakeTelegram, logs: LogCapture
) -> None:
    await start_bot()
    user = tg.user(4001)
    tg.fail("sendMessage", status=502, times=1, chat_id=user.id)
    await user.send_text("/help")
    assert "What I can do" in (await user.expect("sendMessage")).body
    assert any("retry 1/2" in line for line in logs.at("WARNING"))
    assert [event for event in tg.events(ADMIN_ID) if event.method == "sendMessage"] == []


async def test_a_flood_limit_is_waited_out(
    start_bot: StartBot, tg: FakeTelegram, logs: LogCapture
) -> None:
    await start_bot()
    user = tg.user(4002)
    tg.fail("sendMessage", status=429, retry_after=1, times=1, chat_id=user.id)
    await user.send_text("/help")
    assert "What I can do" in (await user.expect("sendMessage")).body
    assert any("waiting 1s" in line for line in logs.at("WARNING"))


async def test_a_user_who_blocked_the_bot_mid_reply_is_marked_blocked(
    start_bot: StartBot, tg: FakeTelegram, logs: LogCapture
) -> None:
    await start_bot()
    user = tg.user(4003)
    await user.send_text("/start")
    await user.expect("sendMessage")
    tg.block(user.id)
    await user.send_text("/help")
    await tg.wait_until(lambda: any("blocked the bot" in line for line in logs.at("WARNING")))
    assert (await User.get(telegram_id=4003)).status == UserStatus.BLOCKED
    assert logs.at("ERROR") == []


@pytest.mark.expects_errors
async def test_a_lasting_failure_is_apologised_for_and_admins_alerted_once_per_burst(
    start_bot: StartBot, tg: FakeTelegram, logs: LogCapture
) -> None:
    await start_bot()
    admin = tg.user(ADMIN_ID)
    users = [tg.user(4100 + index, first_name=f"U{index}") for index in range(3)]
    for user in users:  # every attempt of the reply fails; the apology then goes through
        tg.fail("sendMessage", status=500, times=3, chat_id=user.id)
    for user in users:
        await user.send_text("/help")
    for user in users:
        apology = await user.expect("sendMessage")
        assert "something went wrong" in apology.body

    alert = await admin.expect("sendMessage")
    assert "TelegramServerError" in alert.body
    assert TOKEN not in alert.body and TOKEN.split(":")[1] not in alert.body
    # One alert for the burst: a later message to the admin is the next thing they get.
    await admin.send_text("/cancel")
    assert "nothing to cancel" in (await admin.expect("sendMessage")).body

    errors = logs.at("ERROR")
    assert len(errors) == 3
    assert all("failed: TelegramServerError" in line for line in errors)
    assert {f"from user {user.id}" in " ".join(errors) for user in users} == {True}


@pytest.mark.expects_errors
async def test_russian_user_gets_the_apology_in_russian_and_the_admin_english(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot()
    user = tg.user(4200, language_code="ru")
    tg.fail("sendMessage", status=502, times=3, chat_id=user.id)
    await user.send_text("/help")
    assert "что-то пошло не так" in (await user.expect("sendMessage")).body
    assert "Error TelegramServerError" in (await tg.user(ADMIN_ID).expect("sendMessage")).body


async def test_normal_run_logs_no_errors(
    start_bot: StartBot, tg: FakeTelegram, logs: LogCapture
) -> None:
    await start_bot(flood_messages_per_second=100)
    user = tg.user(4300)
    for text in ("/start", "/help", "/credits", "/models", "/language", "/cancel", "hello"):
        await user.send_text(text)
        await user.expect("sendMessage")
    assert logs.at("ERROR") == []
    assert not [record for record in logs.records if record["exception"] is not None]
