from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, ErrorEvent
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import gettext as _
from loguru import logger

from bot.services.alerts import AdminAlerts


async def unexpected_error(
    event: ErrorEvent,
    bot: Bot,
    alerts: AdminAlerts,
    event_from_user: TelegramUser | None = None,
    event_chat: Chat | None = None,
) -> None:
    error = event.exception
    user_id = event_from_user.id if event_from_user else None
    logger.opt(exception=error).error(
        "update {} from user {} failed: {}", event.update.update_id, user_id, type(error).__name__
    )
    if event_chat is not None:
        try:
            await bot.send_message(
                event_chat.id,
                _("Sorry, something went wrong on my side. Please try again in a minute."),
            )
        except TelegramAPIError as send_error:
            logger.warning("could not tell user {} about the error: {}", user_id, send_error)
    await alerts.alert(
        type(error).__name__,
        _("⚠️ Error {kind} in update {update_id} (user {user_id}): {error}").format(
            kind=type(error).__name__,
            update_id=event.update.update_id,
            user_id=user_id,
            error=str(error)[:500],
        ),
    )


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(unexpected_error)
    return router
