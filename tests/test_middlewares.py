"""What every update goes through: dedup, private chats only, user status, flood control."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.models import User, UserStatus
from tests.conftest import StartBot
from tests.fakes.telegram import FakeTelegram
from tests.helpers import eventually, post_update


def replies(tg: FakeTelegram, chat_id: int, fragment: str) -> list[str]:
    return [
        event.body
        for event in tg.events(chat_id)
        if event.method == "sendMessage" and event.body and fragment in event.body
    ]


async def test_redelivered_update_acts_once_across_replicas(
    backend: str, start_bot: StartBot, tg: FakeTelegram
) -> None:
    if backend == "embedded":
        pytest.skip("Telegram redelivers only to webhooks; polling confirms by offset")
    first, second = await start_bot(), await start_bot()
    user = tg.user(3001)
    await user.send_text("/help")
    await user.expect("sendMessage")
    update = user.last_update
    assert update is not None
    assert await post_update(first, update) == 200
    assert await post_update(second, update) == 200
    await user.send_text("/cancel")  # later update of the same user: its reply comes after
    reply = await user.expect("sendMessage")
    assert "nothing to cancel" in reply.body
    assert len(replies(tg, 3001, "What I can do")) == 1


async def test_group_messages_get_no_answer(start_bot: StartBot, tg: FakeTelegram) -> None:
    await start_bot()
    group_update = {
        "update_id": tg.next_update_id(),
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": -100500, "type": "supergroup", "title": "Friends"},
            "from": {"id": 3002, "is_bot": False, "first_name": "Gina"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    await tg.deliver(group_update)
    witness = tg.user(3003)
    await witness.send_text("/start")
    await witness.expect("sendMessage")
    assert [call for call in tg.calls if call.chat_id == -100500] == []
    assert await User.get_or_none(telegram_id=3002) is None


async def test_edited_messages_are_ignored(
    backend: str, start_bot: StartBot, tg: FakeTelegram
) -> None:
    app = await start_bot()
    assert "edited_message" not in app.allowed_updates
    if backend == "replicas":  # even if Telegram sent one, the bot would not act on it
        user = tg.user(3004)
        edited = {
            "update_id": tg.next_update_id(),
            "edited_message": {
                "message_id": 5,
                "date": int(time.time()),
                "edit_date": int(time.time()),
                "chat": {"id": 3004, "type": "private", "first_name": "Ed"},
                "from": {"id": 3004, "is_bot": False, "first_name": "Ed"},
                "text": "/help",
            },
        }
        assert await post_update(app, edited) == 200
        await user.send_text("/cancel")
        assert "nothing to cancel" in (await user.expect("sendMessage")).body
        assert replies(tg, 3004, "What I can do") == []


async def test_kick_marks_blocked_and_a_new_message_reactivates(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot()
    user = tg.user(3005)
    await user.send_text("/start")
    await user.expect("sendMessage")
    await user.kick_bot()

    async def blocked() -> bool:
        return (await User.get(telegram_id=3005)).status == UserStatus.BLOCKED

    await eventually(blocked)
    await user.restore_bot()
    await user.send_text("/help")
    await user.expect("sendMessage")
    assert (await User.get(telegram_id=3005)).status == UserStatus.ACTIVE


async def test_banned_status_is_never_overwritten(start_bot: StartBot, tg: FakeTelegram) -> None:
    await start_bot()
    user = tg.user(3006)
    await user.send_text("/start")
    await user.expect("sendMessage")
    await User.filter(telegram_id=3006).update(status=UserStatus.BANNED)
    await user.kick_bot()
    await user.restore_bot()
    await user.send_text("/help")
    await user.expect("sendMessage")
    assert (await User.get(telegram_id=3006)).status == UserStatus.BANNED


async def test_flood_is_cut_with_a_single_notice(start_bot: StartBot, tg: FakeTelegram) -> None:
    await start_bot(flood_messages_per_second=2)
    user = tg.user(3007)
    for index in range(12):
        await user.send_text(f"spam {index}")
    await tg.wait_until(lambda: bool(replies(tg, 3007, "too fast")))
    for index in range(5):
        await user.send_text(f"more spam {index}")
    # The limit counts per clock second (shared by replicas through Redis): once the burst's
    # window has passed, an ordinary message gets through again.
    # Windows count when an update is handled, so on a loaded machine the tail of the burst may
    # still fill the next second: try a few windows later.
    for _ in range(4):
        await asyncio.sleep(int(time.time()) + 1.05 - time.time())
        await user.send_text("/cancel")
        try:
            await tg.wait_until(lambda: bool(replies(tg, 3007, "nothing to cancel")), timeout=2)
            break
        except AssertionError:
            continue
    assert replies(tg, 3007, "nothing to cancel")
    assert len(replies(tg, 3007, "too fast")) == 1
    handled = replies(tg, 3007, "did not understand")
    assert 1 <= len(handled) <= 2 * 3  # at most the limit in each of the windows the burst spanned


async def test_button_presses_are_never_throttled(start_bot: StartBot, tg: FakeTelegram) -> None:
    await start_bot(flood_messages_per_second=1)
    user = tg.user(3008)
    await user.send_text("/start")
    await user.expect("sendMessage")
    for _ in range(5):
        await user.press_button("Credits")
    await tg.wait_until(lambda: len(replies(tg, 3008, "Your balance")) == 5)
    assert replies(tg, 3008, "too fast") == []
