"""Unhandled errors: logged with update and user, the user gets an apology, admins one alert."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_ID, TOKEN, LogCapture, StartBot
from tests.fakes.telegram import FakeTelegram


@pytest.mark.expects_errors
async def test_error_is_apologised_for_and_admins_alerted_once_per_burst(
    start_bot: StartBot, tg: FakeTelegram, logs: LogCapture
) -> None:
    await start_bot()
    admin = tg.user(ADMIN_ID)
    users = [tg.user(4000 + index, first_name=f"U{index}") for index in range(3)]
    for user in users:
        tg.fail("sendMessage", status=500, times=1, chat_id=user.id)
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
async def test_russian_user_gets_the_apology_in_russian(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot()
    user = tg.user(4100, language_code="ru")
    tg.fail("sendMessage", status=502, times=1, chat_id=user.id)
    await user.send_text("/help")
    assert "что-то пошло не так" in (await user.expect("sendMessage")).body


async def test_normal_run_logs_no_errors(
    start_bot: StartBot, tg: FakeTelegram, logs: LogCapture
) -> None:
    await start_bot(flood_messages_per_second=100)
    user = tg.user(4200)
    for text in ("/start", "/help", "/credits", "/models", "/language", "/cancel", "hello"):
        await user.send_text(text)
        await user.expect("sendMessage")
    assert logs.at("ERROR") == []
    assert not [record for record in logs.records if record["exception"] is not None]
