from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot import tokens
from bot.callbacks import Flow, PrivacyAction, PrivacyCallback
from bot.config import Settings
from bot.filters import CurrentToken
from bot.keyboards.privacy import confirm_delete_keyboard, privacy_keyboard
from bot.models import User
from bot.routers.common import Event, answer_after, reply
from bot.services import privacy
from bot.services.background import BackgroundTasks
from bot.services.n8n import N8NClient
from bot.views import privacy as views


async def privacy_command(message: Message, settings: Settings) -> None:
    await message.answer(
        views.privacy_text(settings.fsm_ttl_hours), reply_markup=privacy_keyboard()
    )


async def ask_to_confirm(event: Event, state: FSMContext, user: User) -> None:
    footprint = await privacy.footprint_of(user.telegram_id)
    if footprint.busy:
        await reply(event, views.busy_text(footprint))
        return
    # Only the newest question's buttons work, and only once.
    token = await tokens.issue(state, Flow.DELETE)
    await reply(event, views.confirm_text(footprint), confirm_delete_keyboard(token))


@answer_after
async def confirm_pressed(
    query: CallbackQuery,
    callback_data: PrivacyCallback,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    settings: Settings,
    user: User,
    n8n: N8NClient | None,
    background: BackgroundTasks,
) -> None:
    await tokens.spend(state, Flow.DELETE, callback_data.token)
    callback_answer.text = views.deleting()
    try:
        erasure = await privacy.erase(
            user.telegram_id, erasure_key=settings.telegram_bot_token.get_secret_value()
        )
    except privacy.JobsRunning as running:  # started between the question and the answer
        await reply(query, views.busy_text(running.footprint))
        return
    await state.clear()
    # N8N may take minutes to answer: not under the user's lock, and retried if it fails.
    background.spawn(privacy.delete_queued(n8n, erasure.queued), name="model deletions")
    await reply(query, views.erased_text(erasure))


async def keep_pressed(
    query: CallbackQuery, callback_data: PrivacyCallback, state: FSMContext
) -> None:
    await tokens.spend(state, Flow.DELETE, callback_data.token)
    await reply(query, views.kept_text())


def create_router() -> Router:
    router = Router(name="privacy")
    router.message.register(privacy_command, Command("privacy"))
    router.message.register(ask_to_confirm, Command("delete"))
    router.callback_query.register(
        ask_to_confirm, PrivacyCallback.filter(F.action == PrivacyAction.DELETE)
    )
    router.callback_query.register(
        confirm_pressed, PrivacyCallback.filter(F.action == PrivacyAction.CONFIRM), CurrentToken()
    )
    router.callback_query.register(
        keep_pressed, PrivacyCallback.filter(F.action == PrivacyAction.KEEP), CurrentToken()
    )
    return router
