import secrets

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.keyboards.privacy import (
    PrivacyAction,
    PrivacyCallback,
    confirm_delete_keyboard,
    privacy_keyboard,
)
from bot.models import User
from bot.services import privacy
from bot.services.background import BackgroundTasks
from bot.services.n8n import N8NClient
from bot.views import privacy as views

NONCE_KEY = "delete_nonce"


async def privacy_command(message: Message, settings: Settings) -> None:
    await message.answer(
        views.privacy_text(settings.fsm_ttl_hours), reply_markup=privacy_keyboard()
    )


async def ask_to_confirm(target: Message, state: FSMContext, user: User) -> None:
    footprint = await privacy.footprint_of(user.telegram_id)
    if footprint.busy:
        await target.answer(views.busy_text(footprint))
        return
    # Only the newest confirmation's buttons work, and only once.
    nonce = secrets.token_hex(8)
    await state.update_data({NONCE_KEY: nonce})
    await target.answer(views.confirm_text(footprint), reply_markup=confirm_delete_keyboard(nonce))


async def delete_command(message: Message, state: FSMContext, user: User) -> None:
    await ask_to_confirm(message, state, user)


async def delete_button(query: CallbackQuery, state: FSMContext, user: User) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await ask_to_confirm(query.message, state, user)


async def take_nonce(state: FSMContext, nonce: str) -> bool:
    """True once for the current confirmation (updates of one user run one at a time)."""
    if not nonce or (await state.get_data()).get(NONCE_KEY) != nonce:
        return False
    await state.update_data({NONCE_KEY: None})
    return True


async def confirm_pressed(
    query: CallbackQuery,
    callback_data: PrivacyCallback,
    state: FSMContext,
    settings: Settings,
    user: User,
    n8n: N8NClient | None,
    background: BackgroundTasks,
) -> None:
    if not await take_nonce(state, callback_data.nonce):
        await query.answer(views.stale_text(), show_alert=True)
        return
    await query.answer(_("Deleting your data…"))
    try:
        erasure = await privacy.erase(
            user.telegram_id, erasure_key=settings.telegram_bot_token.get_secret_value()
        )
    except privacy.JobsRunning as running:  # started between the question and the answer
        if isinstance(query.message, Message):
            await query.message.answer(views.busy_text(running.footprint))
        return
    await state.clear()
    # N8N may take minutes to answer: not under the user's lock, and retried if it fails.
    background.spawn(privacy.delete_queued(n8n, erasure.queued), name="model deletions")
    if isinstance(query.message, Message):
        await query.message.answer(views.erased_text(erasure))


async def keep_pressed(
    query: CallbackQuery, callback_data: PrivacyCallback, state: FSMContext
) -> None:
    await take_nonce(state, callback_data.nonce)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(views.kept_text())


def create_router() -> Router:
    router = Router(name="privacy")
    router.message.register(privacy_command, Command("privacy"))
    router.message.register(delete_command, Command("delete"))
    router.callback_query.register(
        delete_button, PrivacyCallback.filter(F.action == PrivacyAction.DELETE)
    )
    router.callback_query.register(
        confirm_pressed, PrivacyCallback.filter(F.action == PrivacyAction.CONFIRM)
    )
    router.callback_query.register(
        keep_pressed, PrivacyCallback.filter(F.action == PrivacyAction.KEEP)
    )
    return router
