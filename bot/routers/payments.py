"""Telegram Stars: Buy → package → invoice → pre-checkout → successful payment → receipt."""

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, LabeledPrice, Message, PreCheckoutQuery
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from loguru import logger

from bot.config import Settings
from bot.keyboards.credits import BuyCallback, packages_keyboard
from bot.keyboards.menu import menu_button
from bot.models import User
from bot.services import payments
from bot.services.alerts import AdminAlerts
from bot.services.notifications import notify
from bot.views import credits as views


async def show_packages(query: CallbackQuery, settings: Settings) -> None:
    await query.answer()
    if query.message is None:
        return
    if not settings.credit_packages:
        await query.message.answer(_("Credits are not on sale right now."))
        return
    await query.message.answer(
        views.packages_text(), reply_markup=packages_keyboard(settings.credit_packages)
    )


async def send_invoice(
    query: CallbackQuery, callback_data: BuyCallback, settings: Settings, bot: Bot
) -> None:
    package = payments.find_package(settings, callback_data.credits)
    if package is None:
        await query.answer(_("This package is no longer on sale."), show_alert=True)
        return
    await query.answer()
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


async def successful_payment(message: Message, user: User, alerts: AdminAlerts) -> None:
    paid = message.successful_payment
    assert paid is not None  # the filter guarantees it
    try:
        receipt = await payments.record_payment(
            user.telegram_id,
            paid.telegram_payment_charge_id,
            paid.invoice_payload,
            paid.total_amount,
        )
    except payments.UnknownPayload:
        logger.error("payment {} has an unknown payload", paid.telegram_payment_charge_id)
        await alerts.alert(
            f"unknown-payment:{paid.telegram_payment_charge_id}",
            f"A payment with an unknown payload {paid.invoice_payload!r} from "
            f"{user.telegram_id} (charge {paid.telegram_payment_charge_id}) needs a look.",
        )
        await message.answer(views.payment_needs_review(paid.telegram_payment_charge_id))
        return
    if receipt.applied:
        await message.answer(
            views.receipt_text(receipt, paid.telegram_payment_charge_id),
            reply_markup=menu_button(),
        )


async def pay_support(
    message: Message,
    command: CommandObject,
    user: User,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    recent = await payments.payments_of(user.telegram_id)
    if not command.args or not settings.admin_ids:
        await message.answer(views.pay_support_text(settings, recent))
        return
    name = user.first_name or user.username or str(user.telegram_id)
    request = command.args
    # The lambda renders in each admin's language, inside notify().
    for admin in await User.filter(telegram_id__in=settings.admin_ids):
        await notify(
            bot,
            i18n,
            admin,
            lambda: (
                views.support_request_for_admins(user.telegram_id, name, request, recent),
                None,
            ),
        )
    await message.answer(views.support_request_sent())


def create_router() -> Router:
    router = Router(name="payments")
    router.pre_checkout_query.register(pre_checkout)
    router.message.register(successful_payment, F.successful_payment)
    router.message.register(pay_support, Command("paysupport"))
    router.callback_query.register(show_packages, BuyCallback.filter(F.credits == 0))
    router.callback_query.register(send_invoice, BuyCallback.filter())
    return router
