"""Filters shared by several routers."""

from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser

from bot import tokens
from bot.callbacks import FLOW_OF
from bot.config import Settings


class IsAdmin(Filter):
    """The update comes from one of ADMIN_TELEGRAM_ID. Everyone else falls through to the
    next routers (in the end, the fallback), so nothing hints that admin commands exist."""

    async def __call__(
        self, event: TelegramObject, settings: Settings, event_from_user: TelegramUser | None
    ) -> bool:
        return event_from_user is not None and event_from_user.id in settings.admin_ids


class CurrentToken(Filter):
    """The pressed button carries its flow's current token (see bot.tokens). Put it after the
    CallbackData filter; a stale press falls through to the fallback, which answers it."""

    async def __call__(
        self, event: TelegramObject, callback_data: CallbackData, state: FSMContext
    ) -> bool:
        token = getattr(callback_data, "token", "")
        return await tokens.is_current(state, FLOW_OF[type(callback_data)], token)
