"""Admin tools inside the bot, and the N8N credit grant."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bot.models import (
    CreditEntry,
    LedgerReason,
    ModelStatus,
    ModelType,
    Payment,
    PaymentStatus,
    PortraitModel,
    User,
    UserStatus,
)
from bot.services import credits, privacy
from tests.conftest import ADMIN_ID, StartBot
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.helpers import expect_text

ADMIN_COMMANDS = ("/stats", "/grant 1 1", "/ban 1", "/unban 1", "/refund x", "/broadcast")
N8N_SECRET = "n8n-grant-secret"


async def started(tg: FakeTelegram, telegram_id: int, name: str = "Someone") -> FakeUser:
    user = tg.user(telegram_id, first_name=name)
    await user.send_text("/start")
    await user.expect("sendMessage")
    return user


@pytest.mark.parametrize("command", ADMIN_COMMANDS)
async def test_non_admins_get_the_ordinary_fallback(
    start_bot: StartBot, tg: FakeTelegram, command: str
) -> None:
    await start_bot(start_credits=10)
    user = await started(tg, 8001)
    await user.send_text(command)
    assert "I did not understand that" in (await user.expect("sendMessage")).body
    assert await credits.balance_of(8001) == 10


async def test_admin_commands_are_registered_for_admin_chats_only(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot()
    everyone = {c["command"] for c in tg.commands({"type": "all_private_chats"})}
    admins = {c["command"] for c in tg.commands({"type": "chat", "chat_id": ADMIN_ID})}
    admin_only = {"stats", "grant", "ban", "unban", "refund", "broadcast"}
    assert not everyone & admin_only
    assert admin_only | {"credits", "privacy", "delete", "paysupport"} <= admins
    russian = tg.commands({"type": "chat", "chat_id": ADMIN_ID}, language_code="ru")
    assert {c["command"] for c in russian} == admins


async def test_stats_counts_users_jobs_credits_and_stars(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(start_credits=50)
    admin = await started(tg, ADMIN_ID, "Admin")
    await started(tg, 8002)
    await started(tg, 8003)
    await PortraitModel.create(
        user_id=8002, name="M", model_type=ModelType.MAN, request_id="0" * 32,
        status=ModelStatus.READY, model_id="m-1",
    )  # fmt: skip
    await credits.move(8002, -30, LedgerReason.RESERVE_GENERATION, "job-1")
    await credits.move(8003, -20, LedgerReason.RESERVE_GENERATION, "job-2")
    await credits.release(LedgerReason.RESERVE_GENERATION, "job-2")
    await credits.move(8003, 100, LedgerReason.PURCHASE, "charge-1")
    await Payment.create(user_id=8003, charge_id="charge-1", credits=100, stars=50)
    await Payment.create(
        user_id=8003, charge_id="charge-2", credits=100, stars=50, status=PaymentStatus.REFUNDED
    )
    await User.filter(telegram_id=8003).update(status=UserStatus.BANNED)

    await admin.send_text("/stats")
    text = (await admin.expect("sendMessage")).body
    assert "Users: 3 in total, 3 active in 7 days, 3 new today (1 banned, 0 blocked" in text
    assert "Models: ✅ ready: 1" in text
    assert "Credits: 150 granted, 30 spent, 100 sold, 0 refunded" in text
    assert "Stars: 100 ⭐ received, 50 ⭐ refunded" in text


async def test_grant_adds_and_takes_down_to_zero_and_tells_the_user(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(start_credits=10, flood_messages_per_second=100)
    admin = await started(tg, ADMIN_ID, "Admin")
    user = await started(tg, 8004)

    await admin.send_text("/grant 8004 25 sorry for <the> wait")
    assert "+25 credits for 8004 (sorry for <the> wait)" in (await admin.expect()).body
    notice = (await expect_text(user, "added 25 credits")).body
    assert "Reason: sorry for <the> wait" in notice and "35 credits" in notice

    await admin.send_text("/grant 8004 -100")
    assert "-35 credits for 8004" in (await admin.expect()).body
    assert "took 35 credits" in (await expect_text(user, "took")).body
    assert await credits.balance_of(8004) == 0
    grants = await CreditEntry.filter(reason=LedgerReason.ADMIN_GRANT).order_by("id")
    assert [(g.delta, g.note) for g in grants] == [(25, "sorry for <the> wait"), (-35, None)]

    await user.send_text("/credits")
    assert (
        "+25 · granted by the team (sorry for &lt;the&gt; wait)"
        in (await user.expect("sendMessage")).params["text"]
    )

    for bad in ("/grant", "/grant 8004", "/grant x 5", "/grant 8004 0", "/grant 8004 lots"):
        await admin.send_text(bad)
        assert "Usage: /grant" in (await admin.expect()).body
    await admin.send_text("/grant 999999 5")
    assert "No user with id 999999" in (await admin.expect()).body


async def test_a_banned_user_is_told_once_a_day_and_nothing_works(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    app = await start_bot(start_credits=10, flood_messages_per_second=100)
    admin = await started(tg, ADMIN_ID, "Admin")
    user = await started(tg, 8005)

    await admin.send_text("/ban 8005")
    assert "is banned" in (await admin.expect()).body
    await admin.send_text(f"/ban {ADMIN_ID}")
    assert "Admins cannot be banned" in (await admin.expect()).body

    await user.send_text("/credits")
    assert "suspended" in (await user.expect("sendMessage")).body
    await user.send_text("/start")
    await user.press("menu:credits")
    press = await user.expect("answerCallbackQuery")
    assert not press.params.get("text")  # answered, silently: the notice went out today
    assert [e.body for e in user.pending() if e.method == "sendMessage"] == []

    await app.store.release("banned-notice:8005")  # a day later
    await user.send_text("/credits")
    assert "suspended" in (await user.expect("sendMessage")).body

    await admin.send_text("/unban 8005")
    assert "can use the bot again" in (await admin.expect()).body
    await user.send_text("/credits")
    assert "Your balance: 10 credits." in (await user.expect("sendMessage")).body
    await admin.send_text("/unban 8005")
    assert "is not banned" in (await admin.expect()).body


async def post_grant(port: int, body: Any, secret: str | None = N8N_SECRET) -> tuple[int, Any]:
    headers = {"X-N8N-Secret": secret} if secret is not None else {}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}/n8n/credits", json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_n8n_grant_is_applied_once_per_reference(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    app = await start_bot(n8n_secret=N8N_SECRET)
    user = await started(tg, 8006)
    port = app.settings.port
    grant = {"telegram_id": 8006, "amount": 40, "reference": "promo-42", "reason": "Promo"}

    assert await post_grant(port, grant) == (200, {"ok": True, "applied": True, "balance": 40})
    notice = (await expect_text(user, "You received 40 credits")).body
    assert "Reason: Promo" in notice
    assert await post_grant(port, grant) == (200, {"ok": True, "applied": False, "balance": 40})
    assert await CreditEntry.filter(reason=LedgerReason.N8N_GRANT).count() == 1
    assert [e for e in user.pending() if "You received" in (e.body or "")] == []

    status, answer = await post_grant(port, {**grant, "amount": 41})
    assert (status, answer["error"]) == (409, "reference already used for a different grant")
    assert (await post_grant(port, grant, secret="wrong"))[0] == 401
    assert (await post_grant(port, grant, secret=None))[0] == 401
    for bad in (
        {**grant, "amount": 0},
        {**grant, "amount": "40"},
        {**grant, "telegram_id": "me"},
        {**grant, "reference": ""},
        [grant],
    ):
        assert (await post_grant(port, bad))[0] == 400, bad
    assert (await post_grant(port, {**grant, "telegram_id": 12345}))[0] == 409
    assert (await post_grant(port, {**grant, "telegram_id": 12345, "reference": "x"}))[0] == 404
    assert (await post_grant(port, {**grant, "telegram_id": 2**63}))[0] == 400
    assert await credits.balance_of(8006) == 40

    # N8N retries after the user deleted their data: still "applied before", not an error.
    await privacy.erase(8006, erasure_key="k")
    status, answer = await post_grant(port, grant)
    assert (status, answer["applied"]) == (200, False)


async def test_a_ban_does_not_take_away_privacy_and_deletion_nor_ends_by_it(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(flood_messages_per_second=100)
    user = await started(tg, 8007)
    await User.filter(telegram_id=8007).update(status=UserStatus.BANNED)
    await user.send_text("/privacy")
    assert "Your data and privacy" in (await user.expect("sendMessage")).body
    await user.send_text("/delete")
    question = await user.expect("sendMessage")
    assert "Delete all your data?" in question.body
    await user.press_button("Yes, delete everything")
    await expect_text(user, "Your data has been deleted")
    assert not await User.filter(telegram_id=8007).exists()
    # Coming back does not lift the ban.
    await user.send_text("/start")
    assert "suspended" in (await user.expect("sendMessage")).body
    assert (await User.get(telegram_id=8007)).status == UserStatus.BANNED
