"""/broadcast (admins only): text → preview → confirm → delivery in the background."""

from __future__ import annotations

import asyncio
import contextlib
import html

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot import tokens
from bot.callbacks import BroadcastAction, BroadcastCallback, Flow
from bot.filters import CurrentToken, IsAdmin
from bot.keyboards import broadcast as kb
from bot.outbound import Outbox
from bot.outbound import broadcasts as outbound_broadcasts
from bot.routers.common import answer_after, hint, reply
from bot.services import broadcasts
from bot.services.background import BackgroundTasks
from bot.states import Broadcast as BroadcastWizard
from bot.states import BroadcastData
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
    await BroadcastData(text=text).save(state)
    await state.set_state(BroadcastWizard.confirm)
    token = await tokens.issue(state, Flow.BROADCAST)
    await message.answer(
        views.preview_summary(await broadcasts.active_user_count()),
        reply_markup=kb.confirm_keyboard(token),
    )


@answer_after
async def confirm_pressed(
    query: CallbackQuery,
    callback_data: BroadcastCallback,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    outbox: Outbox,
    background: BackgroundTasks,
    stopping: asyncio.Event,
) -> None:
    text = (await BroadcastData.load(state)).text
    # The summary message becomes the progress message that delivery keeps editing.
    summary = query.message if isinstance(query.message, Message) else None
    try:
        broadcast = await broadcasts.start(
            admin_id=query.from_user.id,
            nonce=callback_data.token,
            text=text,
            progress_chat_id=summary.chat.id if summary else None,
            progress_message_id=summary.message_id if summary else None,
        )
    except broadcasts.AlreadyStarted:  # by a press on another replica
        callback_answer.text = views.already_started()
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
        outbound_broadcasts.deliver(outbox, broadcast.id, stopping),
        name=f"broadcast {broadcast.id}",
    )
    callback_answer.text = views.started()


async def cancel_pressed(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await reply(query, views.cancelled(), edit=True)


def create_router() -> Router:
    router = Router(name="broadcast")
    # Everyone else falls through to the other routers: nothing hints at the command.
    router.message.filter(IsAdmin())
    router.callback_query.filter(IsAdmin())
    router.message.register(broadcast_command, Command("broadcast"))
    wizard = StateFilter(BroadcastWizard.text, BroadcastWizard.confirm)
    # A new text on the preview step replaces the previous one; commands (/cancel) pass.
    router.message.register(text_received, wizard, F.text, ~F.text.startswith("/"))
    router.message.register(hint(views.not_text), wizard, ~F.text)
    # The preview's token is cleared with the wizard (confirm, cancel, /cancel): stale after.
    router.callback_query.register(
        confirm_pressed,
        BroadcastWizard.confirm,
        BroadcastCallback.filter(F.action == BroadcastAction.CONFIRM),
        CurrentToken(),
    )
    router.callback_query.register(
        cancel_pressed,
        BroadcastWizard.confirm,
        BroadcastCallback.filter(F.action == BroadcastAction.CANCEL),
        CurrentToken(),
    )
    return router
