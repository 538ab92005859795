"""Telegram Stars: Buy → package → invoice → pre-checkout → successful payment → receipt."""

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, LabeledPrice, Message, PreCheckoutQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from loguru import logger

from bot.callbacks import BuyCallback
from bot.config import Settings
from bot.keyboards.credits import packages_keyboard
from bot.keyboards.menu import menu_button
from bot.models import User
from bot.outbound import AdminAlerts, Outbox
from bot.outbound import credits as credit_news
from bot.routers.common import answer_after, reply
from bot.services import payments
from bot.services.shared import SharedStore
from bot.views import credits as views

SUPPORT_REQUEST_EVERY_SECONDS = 60
# Leaves room for the header and charge ids within Telegram's 4096 characters.
SUPPORT_REQUEST_MAX_LENGTH = 3000


async def show_packages(query: CallbackQuery, settings: Settings) -> None:
    if not settings.credit_packages:
        await reply(query, views.not_on_sale())
        return
    await reply(query, views.packages_text(), packages_keyboard(settings.credit_packages))


@answer_after
async def send_invoice(
    query: CallbackQuery,
    callback_data: BuyCallback,
    settings: Settings,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    package = payments.find_package(settings, callback_data.credits)
    if package is None:
        callback_answer.text = views.package_gone()
        callback_answer.show_alert = True
        return
    title, description = views.invoice_texts(package)
    await bot.send_invoice(
        chat_id=query.from_user.id,
        title=title,
        description=description,
        payload=payments.invoice_payload(package),
        currency=payments.STARS_CURRENCY,
        prices=[LabeledPrice(label=title, amount=package.stars)],
        provider_token="",  # Stars need no payment provider
    )


async def pre_checkout(query: PreCheckoutQuery, user: User, settings: Settings) -> None:
    # Telegram cancels the payment unless this is answered within 10 seconds: no slow work here.
    problem = payments.checkout_problem(
        settings, user, query.invoice_payload, query.currency, query.total_amount
    )
    if problem is None:
        await query.answer(ok=True)
    else:
        await query.answer(ok=False, error_message=views.checkout_refusal(problem))


async def successful_payment(message: Message, user: User, alerts: AdminAlerts, i18n: I18n) -> None:
    paid = message.successful_payment
    assert paid is not None  # the filter guarantees it
    charge_id = paid.telegram_payment_charge_id
    try:
        receipt = await payments.record_payment(
            user.telegram_id, charge_id, paid.invoice_payload, paid.total_amount
        )
    except Exception as error:  # the Stars are taken: never let this end in a generic error
        logger.opt(exception=error).error(
            "payment {} of user {} ({} stars, payload {!r}) was not credited",
            charge_id,
            user.telegram_id,
            paid.total_amount,
            paid.invoice_payload,
        )
        await message.answer(views.payment_needs_review(charge_id))
        with i18n.use_locale(i18n.default_locale):  # admins read alerts in the default language
            alert = views.payment_alert(
                charge_id, user.telegram_id, paid.total_amount, paid.invoice_payload, error
            )
        try:
            await alerts.alert(f"payment:{charge_id}", alert)
        except Exception as alert_error:  # e.g. Redis down: the ERROR line above remains
            logger.warning("could not alert admins about payment {}: {}", charge_id, alert_error)
        return
    if receipt.applied:
        await message.answer(views.receipt_text(receipt, charge_id), reply_markup=menu_button())


async def refunded_payment(message: Message) -> None:
    """Telegram's note that a payment was refunded (also when done outside /refund)."""
    refunded = message.refunded_payment
    assert refunded is not None  # the filter guarantees it
    result = await payments.record_refund(refunded.telegram_payment_charge_id)
    if result is not None:
        await message.answer(views.refund_notice(result))


async def pay_support(
    message: Message,
    command: CommandObject,
    user: User,
    settings: Settings,
    outbox: Outbox,
    store: SharedStore,
) -> None:
    recent = await payments.payments_of(user.telegram_id)
    request = (command.args or "").strip()
    if not request or not settings.admin_ids:
        await message.answer(views.pay_support_text(settings, recent))
        return
    if not await store.claim(f"paysupport:{user.telegram_id}", SUPPORT_REQUEST_EVERY_SECONDS):
        await message.answer(views.support_request_too_soon())
        return
    request = request[:SUPPORT_REQUEST_MAX_LENGTH]
    if await credit_news.support_request(outbox, settings.admin_ids, user, request, recent):
        await message.answer(views.support_request_sent())
    else:
        await store.release(f"paysupport:{user.telegram_id}")
        await message.answer(views.support_request_undelivered(settings))


def create_router() -> Router:
    router = Router(name="payments")
    router.pre_checkout_query.register(pre_checkout)
    router.message.register(successful_payment, F.successful_payment)
    router.message.register(refunded_payment, F.refunded_payment)
    router.message.register(pay_support, Command("paysupport"))
    router.callback_query.register(show_packages, BuyCallback.filter(F.credits == 0))
    router.callback_query.register(send_invoice, BuyCallback.filter())
    return router
