"""What every router does alike: answer in the chat a command or a button press came from.

Button presses are answered (the spinner stopped) by aiogram's CallbackAnswerMiddleware, set
up in the app: at once by default; a handler that decides the answer's text is marked
`@answer_after` and sets `callback_answer.text`, which is sent when it returns (or fails).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from aiogram import flags
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

# The press is answered when the handler is done, with the text it chose.
answer_after = flags.callback_answer(pre=False)

Event = Message | CallbackQuery


def chat_id_of(event: Event) -> int:
    if isinstance(event, Message):
        return event.chat.id
    # Private chats only: a button's chat is its presser's, also when the message is too old.
    return event.message.chat.id if event.message is not None else event.from_user.id


async def reply(
    event: Event, text: str, markup: InlineKeyboardMarkup | None = None, *, edit: bool = False
) -> Message:
    """A new message in the chat of a command or a pressed button; with `edit`, a pressed
    button's message is edited instead (a new message when it can no longer be edited)."""
    if isinstance(event, Message):
        return await event.answer(text, reply_markup=markup)
    pressed = event.message
    if edit and isinstance(pressed, Message):
        try:
            edited = await pressed.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as error:
            if "message is not modified" in error.message:
                return pressed
        else:
            return edited if isinstance(edited, Message) else pressed
    if event.bot is None:  # only for objects built by hand, never for a received update
        raise RuntimeError("the callback query is not bound to a bot")
    return await event.bot.send_message(chat_id_of(event), text, reply_markup=markup)


def hint(text: Callable[[], str]) -> Callable[[Message], Awaitable[None]]:
    """A handler that only answers `text()`: what a step says to input it does not take."""

    async def answer(message: Message) -> None:
        await message.answer(text())

    return answer


async def replace_buttons(query: CallbackQuery, markup: InlineKeyboardMarkup | None) -> None:
    """Swap the pressed message's buttons (None takes them off); best effort, since the
    message may be too old to edit or already changed."""
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramAPIError):
            await query.message.edit_reply_markup(reply_markup=markup)
