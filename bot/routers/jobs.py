"""What the two wizards do alike once a job's credits are reserved."""

import contextlib
from collections.abc import Coroutine
from typing import Any

from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message

from bot.services.background import BackgroundTasks


async def launch_reserved(
    query: CallbackQuery,
    background: BackgroundTasks,
    work: Coroutine[Any, Any, None],
    *,
    name: str,
    notice: str,
) -> None:
    """Start the job before anything else can fail (the credits are already reserved), then
    answer the press and take the buttons off the summary."""
    background.spawn(work, name=name)
    await query.answer(notice)
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramAPIError):
            await query.message.edit_reply_markup(reply_markup=None)
