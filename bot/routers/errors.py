import contextlib

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import Chat, ErrorEvent
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import I18n
from loguru import logger

from bot.outbound import AdminAlerts
from bot.services import users
from bot.views import admin as admin_views
from bot.views import common as views
from bot.views import credits as credits_views

# Telegram refusals that are part of normal life, not bugs.
EXPECTED_BAD_REQUESTS = ("query is too old", "message is not modified", "message to edit not found")


async def expected_error(event: ErrorEvent, event_from_user: TelegramUser | None = None) -> bool:
    """Handle the failures that are part of normal life; True when it was one of them."""
    error = event.exception
    user_id = event_from_user.id if event_from_user else None
    if isinstance(error, TelegramForbiddenError):
        logger.warning("user {} blocked the bot (update {})", user_id, event.update.update_id)
        if user_id is not None:
            await users.mark_blocked(user_id)
        return True
    if isinstance(error, TelegramBadRequest) and any(
        text in error.message for text in EXPECTED_BAD_REQUESTS
    ):
        logger.warning("update {}: Telegram refused: {}", event.update.update_id, error.message)
        return True
    return False


async def unexpected_error(
    event: ErrorEvent,
    bot: Bot,
    alerts: AdminAlerts,
    i18n: I18n,
    event_from_user: TelegramUser | None = None,
    event_chat: Chat | None = None,
) -> None:
    if await expected_error(event, event_from_user):
        return
    error = event.exception
    user_id = event_from_user.id if event_from_user else None
    logger.opt(exception=error).error(
        "update {} from user {} failed: {}", event.update.update_id, user_id, type(error).__name__
    )
    query = event.update.callback_query
    # Stop the button's spinner; the message below says what happened. CallbackAnswerMiddleware
    # answers presses whose handler failed, but it runs after the outer middlewares (user row,
    # ban): a failure there would leave the spinner turning. A press it already answered makes
    # Telegram refuse this one, hence suppressed.
    if query is not None:
        with contextlib.suppress(TelegramAPIError):
            await query.answer()
    message = event.update.message
    # The Stars are taken and Telegram will not send this update again: say so, with the
    # receipt id, and give admins what they need to credit it by hand.
    payment = message.successful_payment if message is not None else None
    if event_chat is not None:
        try:
            await bot.send_message(
                event_chat.id,
                credits_views.payment_needs_review(payment.telegram_payment_charge_id)
                if payment is not None
                else views.something_went_wrong(),
            )
        except TelegramAPIError as send_error:
            logger.warning("could not tell user {} about the error: {}", user_id, send_error)
    with i18n.use_locale(i18n.default_locale):  # admins read alerts in the default language
        if payment is not None:
            kind = f"payment:{payment.telegram_payment_charge_id}"
            text = credits_views.payment_alert(
                payment.telegram_payment_charge_id,
                user_id or 0,
                payment.total_amount,
                payment.invoice_payload,
                error,
            )
        else:
            kind = type(error).__name__
            text = admin_views.error_alert(kind, event.update.update_id, user_id, error)
    await alerts.alert(kind, text)


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(unexpected_error)
    return router
