"""Telegram Stars: Buy → invoice → pre-checkout → successful payment, refunds, /paysupport."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bot.config import CreditPackage
from bot.models import (
    CreditEntry,
    LedgerReason,
    ModelType,
    Payment,
    PaymentStatus,
    User,
    UserStatus,
)
from bot.services import credits, jobs, payments, training
from tests.conftest import ADMIN_ID, StartBot
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.helpers import button_texts, expect_text

PACKAGES = (CreditPackage(credits=100, stars=50), CreditPackage(credits=300, stars=135))


async def started_user(tg: FakeTelegram, telegram_id: int) -> FakeUser:
    user = tg.user(telegram_id, first_name="Buyer")
    await user.send_text("/start")
    await user.expect("sendMessage")
    return user


async def pay(user: FakeUser, charge_id: str, package: CreditPackage = PACKAGES[0]) -> None:
    """A completed Stars payment for `package`, and its receipt."""
    payload = payments.invoice_payload(package)
    await user.successful_payment(payload, "XTR", package.stars, charge_id=charge_id)
    await expect_text(user, "Payment received")


async def buy(user: FakeUser, package_label: str) -> dict[str, object]:
    """Press Buy in /credits, then a package; returns the invoice Telegram received."""
    await user.send_text("/credits")
    credits_message = await user.expect("sendMessage")
    assert "⭐ Buy credits" in button_texts(credits_message)
    await user.press_button("Buy credits")
    packages = await user.expect("sendMessage")
    assert button_texts(packages) == ["100 credits — 50 ⭐", "300 credits — 135 ⭐"]
    await user.press_button(package_label)
    return (await user.expect("sendInvoice")).params


async def test_a_full_stars_purchase_and_its_duplicate_update(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(credit_packages=PACKAGES, start_credits=5)
    user = await started_user(tg, 7001)

    invoice = await buy(user, "300 credits")
    assert invoice["currency"] == "XTR"
    assert invoice.get("provider_token", "") == ""
    assert invoice["prices"] == [{"label": "300 credits", "amount": 135}]

    await user.pre_checkout(str(invoice["payload"]), "XTR", 135)
    answer = await user.expect("answerPreCheckoutQuery")
    assert answer.params["ok"] is True

    await user.successful_payment(str(invoice["payload"]), "XTR", 135, charge_id="charge-1")
    receipt = await expect_text(user, "Payment received")
    assert "135 ⭐ for 300 credits" in receipt.body
    assert "Your balance: 305 credits." in receipt.body
    assert "charge-1" in receipt.body

    # Telegram redelivers the same payment (or a second replica gets it): nothing changes.
    await user.successful_payment(str(invoice["payload"]), "XTR", 135, charge_id="charge-1")
    await user.send_text("/credits")
    again = await user.expect("sendMessage")
    assert "Your balance: 305 credits." in again.body
    assert [e.body for e in user.pending() if "Payment received" in (e.body or "")] == []
    assert await Payment.filter(charge_id="charge-1").count() == 1
    purchase = await CreditEntry.get(reason=LedgerReason.PURCHASE, reference="charge-1")
    assert (purchase.delta, purchase.balance_after) == (300, 305)


async def test_two_replicas_receiving_one_payment_credit_it_once(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(credit_packages=PACKAGES)
    user = await started_user(tg, 7002)
    results = await asyncio.gather(
        *(payments.record_payment(7002, "charge-race", "credits:100:50", 50) for _ in range(5))
    )
    assert sum(result.applied for result in results) == 1
    assert await credits.balance_of(7002) == 100
    assert user.pending() == []


async def test_pre_checkout_refuses_a_package_no_longer_on_sale(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    app = await start_bot(credit_packages=PACKAGES)
    user = await started_user(tg, 7003)
    invoice = await buy(user, "100 credits")
    # The operator drops the package (a restart with new CREDIT_PACKAGES) before the user pays.
    await start_bot.stop(app)
    await start_bot(credit_packages=(CreditPackage(credits=100, stars=60),))
    await user.pre_checkout(str(invoice["payload"]), "XTR", 50)
    answer = await user.expect("answerPreCheckoutQuery")
    assert answer.params["ok"] is False
    assert "no longer on sale" in answer.params["error_message"]
    assert await Payment.all().count() == 0


async def test_pre_checkout_refuses_a_forged_price_and_a_banned_user(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(credit_packages=PACKAGES)
    user = await started_user(tg, 7004)
    await user.pre_checkout("credits:300:1", "XTR", 1)
    assert (await user.expect("answerPreCheckoutQuery")).params["ok"] is False
    await User.filter(telegram_id=7004).update(status=UserStatus.BANNED)
    await user.pre_checkout("credits:100:50", "XTR", 50)
    answer = await user.expect("answerPreCheckoutQuery")
    assert answer.params["ok"] is False
    assert "not available for your account" in answer.params["error_message"]


async def test_a_payment_that_completes_after_a_ban_is_still_credited(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(credit_packages=PACKAGES)
    user = await started_user(tg, 7005)
    await User.filter(telegram_id=7005).update(status=UserStatus.BANNED)
    await pay(user, "charge-banned")
    assert await credits.balance_of(7005) == 100


async def test_admin_refund_takes_the_credits_back_down_to_zero(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(credit_packages=PACKAGES)
    user = await started_user(tg, 7006)
    admin = tg.user(ADMIN_ID, first_name="Admin")
    await pay(user, "charge-r", PACKAGES[1])
    await credits.move(7006, -250, LedgerReason.RESERVE_TRAINING, "spent-most")

    await admin.send_text("/refund charge-r")
    done = await expect_text(admin, "Refunded")
    assert "135 ⭐" in done.body and "50 credits taken back" in done.body
    assert tg.refunds == [(7006, "charge-r")]
    notice = await expect_text(user, "was refunded")
    assert "Your balance: 0 credits." in notice.body
    payment = await Payment.get(charge_id="charge-r")
    assert payment.status == PaymentStatus.REFUNDED and payment.refunded_at is not None
    refund = await CreditEntry.get(reason=LedgerReason.REFUND, reference="charge-r")
    assert (refund.delta, refund.balance_after) == (-50, 0)

    await admin.send_text("/refund charge-r")
    assert "already refunded" in (await admin.expect("sendMessage")).body
    await admin.send_text("/refund no-such-charge")
    assert "No payment with id" in (await admin.expect("sendMessage")).body
    assert tg.refunds == [(7006, "charge-r")]


async def test_a_refund_telegram_already_made_is_recorded_without_a_second_refund(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    """A crash between Telegram's refund and our records: the next /refund reconciles."""
    await start_bot(credit_packages=PACKAGES)
    user = await started_user(tg, 7007)
    admin = tg.user(ADMIN_ID, first_name="Admin")
    await pay(user, "charge-c")
    tg.refunds.append((7007, "charge-c"))  # refunded at Telegram, not in our records
    await admin.send_text("/refund charge-c")
    assert "Refunded 50 ⭐" in (await expect_text(admin, "Refunded")).body
    assert await credits.balance_of(7007) == 0
    assert tg.refunds == [(7007, "charge-c")]


@pytest.mark.parametrize(
    ("description", "shown"),
    [
        ("Bad Request: CHARGE_NOT_FOUND", "does not know payment"),
        ("Bad Request: REFUND_DATE_EXPIRED", "Telegram refused to refund"),
    ],
)
async def test_telegram_refund_errors_are_shown_in_words(
    start_bot: StartBot, tg: FakeTelegram, description: str, shown: str
) -> None:
    await start_bot(credit_packages=PACKAGES)
    user = await started_user(tg, 7008)
    admin = tg.user(ADMIN_ID, first_name="Admin")
    await pay(user, "charge-e")
    tg.fail("refundStarPayment", status=400, description=description)
    await admin.send_text("/refund charge-e")
    answer = (await admin.expect("sendMessage")).body
    assert shown in answer
    assert await credits.balance_of(7008) == 100
    assert (await Payment.get(charge_id="charge-e")).status == PaymentStatus.PAID


async def test_paysupport_explains_refunds_lists_payments_and_forwards_a_request(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(credit_packages=PACKAGES)
    user = await started_user(tg, 7009)
    admin = tg.user(ADMIN_ID, first_name="Admin")
    await admin.send_text("/start")
    await admin.expect("sendMessage")
    await pay(user, "charge-s")
    await user.send_text("/paysupport")
    text = (await user.expect("sendMessage")).body
    assert "refund" in text and "charge-s" in text
    await user.send_text("/paysupport I paid <twice>")
    assert "Sent to the team" in (await user.expect("sendMessage")).body
    forwarded = await expect_text(admin, "Payment support request")
    assert "I paid <twice>" in forwarded.body and "charge-s" in forwarded.body


async def test_a_refund_waits_while_a_job_may_hold_the_credits(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(credit_packages=PACKAGES, flood_messages_per_second=100)
    user = await started_user(tg, 7010)
    admin = tg.user(ADMIN_ID, first_name="Admin")
    await pay(user, "charge-busy")
    job = await training.reserve(
        7010, name="Busy", model_type=ModelType.MAN, request_id=uuid.uuid4(), cost=100
    )
    await admin.send_text("/refund charge-busy")
    assert "has a training or generation running" in (await admin.expect("sendMessage")).body
    assert tg.refunds == []
    await jobs.fail(jobs.TRAINING, job, "astria said no")  # the credits come back to the balance
    await admin.send_text("/refund charge-busy")
    await expect_text(admin, "Refunded 50 ⭐")
    assert await credits.balance_of(7010) == 0


async def test_a_refund_made_outside_the_bot_is_recorded_from_telegrams_notice(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(credit_packages=PACKAGES)
    user = await started_user(tg, 7011)
    await pay(user, "charge-out")
    notice = {"currency": "XTR", "total_amount": 50, "invoice_payload": "credits:100:50",
              "telegram_payment_charge_id": "charge-out"}  # fmt: skip
    for _ in range(2):  # a repeat changes nothing
        await user._send({"message": user._message({"refunded_payment": notice})})
    told = await expect_text(user, "was refunded")
    assert "100 credits were taken back" in told.body
    assert (await Payment.get(charge_id="charge-out")).status == PaymentStatus.REFUNDED
    assert await CreditEntry.filter(reason=LedgerReason.REFUND).count() == 1
    assert await credits.balance_of(7011) == 0


@pytest.mark.expects_errors
async def test_a_payment_for_an_unknown_package_is_kept_and_reported(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(credit_packages=PACKAGES)
    user = await started_user(tg, 7012)
    admin = tg.user(ADMIN_ID, first_name="Admin")
    await user.successful_payment("something-else", "XTR", 77, charge_id="charge-odd")
    told = await expect_text(user, "could not be added automatically")
    assert "charge-odd" in told.body
    alert = await expect_text(admin, "was not credited automatically")
    assert "charge-odd" in alert.body and "7012" in alert.body
    payment = await Payment.get(charge_id="charge-odd")
    assert (payment.credits, payment.stars) == (0, 77)
    await admin.send_text("/refund charge-odd")  # so the Stars can still go back
    await expect_text(admin, "Refunded 77 ⭐")


async def test_paysupport_reaches_admins_once_a_minute_even_for_banned_buyers(
    start_bot: StartBot, tg: FakeTelegram
) -> None:
    await start_bot(credit_packages=PACKAGES, flood_messages_per_second=100)
    user = await started_user(tg, 7013)
    admin = tg.user(ADMIN_ID, first_name="Admin")  # has never opened the bot: no row
    await User.filter(telegram_id=7013).update(status=UserStatus.BANNED)
    await user.send_text("/paysupport where are my credits")
    assert "Sent to the team" in (await user.expect("sendMessage")).body
    assert "where are my credits" in (await expect_text(admin, "support request")).body
    await user.send_text("/paysupport hello again")
    assert "wait a minute" in (await user.expect("sendMessage")).body
