"""/broadcast (admins only): text → preview → confirm → delivery in the background."""

from __future__ import annotations

import asyncio
import contextlib
import html
import secrets

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.filters import IsAdmin
from bot.keyboards import broadcast as kb
from bot.keyboards.broadcast import BroadcastAction, BroadcastCallback
from bot.services import broadcasts
from bot.services.background import BackgroundTasks
from bot.services.shared import SharedStore
from bot.states import Broadcast as BroadcastWizard
from bot.views import broadcast as views


async def broadcast_command(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(BroadcastWizard.text)
    await message.answer(views.prompt_text())


async def text_received(message: Message, state: FSMContext) -> None:
    if len(message.text or "") > broadcasts.MAX_TEXT_LENGTH:
        await message.answer(views.too_long(broadcasts.MAX_TEXT_LENGTH))
        return
    text = message.html_text  # the admin's formatting, as HTML (the bot's parse mode)
    try:
        await message.answer(text)  # the preview: exactly what users will get
    except TelegramBadRequest as error:
        await message.answer(views.refused(html.escape(error.message)))
        return
    nonce = secrets.token_hex(8)
    await state.update_data(text=text, nonce=nonce)
    await state.set_state(BroadcastWizard.confirm)
    await message.answer(
        views.preview_summary(await broadcasts.active_user_count()),
        reply_markup=kb.confirm_keyboard(nonce),
    )


async def not_text(message: Message) -> None:
    await message.answer(views.not_text())


async def is_current(callback_data: BroadcastCallback, state: FSMContext) -> bool:
    """Only the latest preview's buttons act; an earlier or used one is stale."""
    return (
        await state.get_state() == BroadcastWizard.confirm.state
        and (await state.get_data()).get("nonce") == callback_data.nonce
    )


async def answer_stale(query: CallbackQuery, nonce: str) -> None:
    if await broadcasts.exists(nonce):
        await query.answer(views.already_started())
    else:
        await query.answer(_("This button is no longer active."))


async def confirm_pressed(
    query: CallbackQuery,
    callback_data: BroadcastCallback,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    store: SharedStore,
    background: BackgroundTasks,
    stopping: asyncio.Event,
) -> None:
    if not await is_current(callback_data, state):
        await answer_stale(query, callback_data.nonce)
        return
    text = (await state.get_data())["text"]
    # The summary message becomes the progress message that delivery keeps editing.
    summary = query.message if isinstance(query.message, Message) else None
    try:
        broadcast = await broadcasts.start(
            admin_id=query.from_user.id,
            nonce=callback_data.nonce,
            text=text,
            progress_chat_id=summary.chat.id if summary else None,
            progress_message_id=summary.message_id if summary else None,
        )
    except broadcasts.AlreadyStarted:
        await query.answer(views.already_started())
        return
    await state.clear()
    if summary is not None:  # before delivery starts, so this never overwrites its numbers
        with contextlib.suppress(TelegramAPIError):
            await summary.edit_text(
                views.progress_text(
                    sent=0, total=broadcast.total, blocked=0, failed=0, finished=False
                ),
                reply_markup=None,
            )
    background.spawn(
        broadcasts.deliver(broadcast.id, bot, i18n, store, stopping),
        name=f"broadcast {broadcast.id}",
    )
    await query.answer(views.started())


async def cancel_pressed(
    query: CallbackQuery, callback_data: BroadcastCallback, state: FSMContext
) -> None:
    if not await is_current(callback_data, state):
        await answer_stale(query, callback_data.nonce)
        return
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramAPIError):
            await query.message.edit_text(views.cancelled(), reply_markup=None)


def create_router() -> Router:
    router = Router(name="broadcast")
    # Everyone else falls through to the other routers: nothing hints at the command.
    router.message.filter(IsAdmin())
    router.callback_query.filter(IsAdmin())
    router.message.register(broadcast_command, Command("broadcast"))
    wizard = StateFilter(BroadcastWizard.text, BroadcastWizard.confirm)
    # A new text on the preview step replaces the previous one; commands (/cancel) pass.
    router.message.register(text_received, wizard, F.text, ~F.text.startswith("/"))
    router.message.register(not_text, wizard, ~F.text)
    router.callback_query.register(
        confirm_pressed, BroadcastCallback.filter(F.action == BroadcastAction.CONFIRM)
    )
    router.callback_query.register(
        cancel_pressed, BroadcastCallback.filter(F.action == BroadcastAction.CANCEL)
    )
    return router
