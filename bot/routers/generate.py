"""The generation wizard: model → prompt or style → confirm → N8N; history and resend."""

from __future__ import annotations

import uuid

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from loguru import logger

from bot.config import Settings
from bot.keyboards import generate as kb
from bot.keyboards.generate import (
    AfterAction,
    AfterCallback,
    GenerateAction,
    GenerateCallback,
    ModelChoice,
    ModelPage,
    PresetChoice,
    ResendCallback,
)
from bot.keyboards.menu import MenuAction, MenuCallback, main_menu
from bot.keyboards.train import retrain_keyboard
from bot.models import ModelStatus, PortraitModel, Prompt, User
from bot.routers.cancel import cancel_and_say
from bot.routers.jobs import launch_reserved
from bot.routers.train import not_configured_text
from bot.services import credits, generation
from bot.services.background import BackgroundTasks
from bot.services.delivery import send_images
from bot.services.n8n import N8NClient
from bot.services.presets import preset
from bot.services.shared import SharedStore
from bot.states import GenerateImages
from bot.views import credits as credit_views
from bot.views import generation as views


async def begin(message: Message, state: FSMContext, settings: Settings, user: User) -> None:
    if not settings.n8n_enabled:
        await message.answer(not_configured_text())
        return
    await state.clear()
    models = await generation.models_of(user.telegram_id)
    ready = [model for model in models if model.status == ModelStatus.READY]
    if not ready:
        await message.answer(views.no_ready_models(models), reply_markup=retrain_keyboard())
        return
    await state.set_state(GenerateImages.model)
    await message.answer(views.choose_model(), reply_markup=kb.models_keyboard(ready, 0))


async def generate_command(
    message: Message, state: FSMContext, settings: Settings, user: User
) -> None:
    await begin(message, state, settings, user)


async def generate_button(
    query: CallbackQuery, state: FSMContext, settings: Settings, user: User
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await begin(query.message, state, settings, user)


async def page_pressed(query: CallbackQuery, callback_data: ModelPage, user: User) -> None:
    await query.answer()
    models = await generation.models_of(user.telegram_id)
    ready = [model for model in models if model.status == ModelStatus.READY]
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(
            reply_markup=kb.models_keyboard(ready, callback_data.page)
        )


async def ask_prompt(target: Message, state: FSMContext, model: PortraitModel) -> None:
    await state.update_data(model=model.id)
    await state.set_state(GenerateImages.prompt)
    await target.answer(views.ask_prompt(model), reply_markup=kb.presets_keyboard())


async def model_chosen(
    query: CallbackQuery, callback_data: ModelChoice, state: FSMContext, user: User
) -> None:
    try:
        model = await generation.ready_model(user.telegram_id, callback_data.model)
    except generation.ModelNotAvailable:
        await query.answer(_("This model is not available."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await ask_prompt(query.message, state, model)


async def show_summary(
    target: Message, state: FSMContext, settings: Settings, user: User, prompt: str
) -> None:
    data = await state.get_data()
    try:
        model = await generation.ready_model(user.telegram_id, data["model"])
    except (generation.ModelNotAvailable, KeyError):
        await state.clear()
        await target.answer(_("This model is not available."), reply_markup=main_menu())
        return
    balance = await credits.balance_of(user.telegram_id)
    request_id = str(uuid.uuid4())
    await state.update_data(prompt=prompt, request_id=request_id)
    await state.set_state(GenerateImages.confirm)
    await target.answer(
        views.summary(model, prompt, settings.images_per_prompt, settings.generate_cost, balance),
        reply_markup=kb.confirm_keyboard(
            enough_credits=balance >= settings.generate_cost, job=kb.summary_tag(request_id)
        ),
    )


async def prompt_entered(
    message: Message, state: FSMContext, settings: Settings, user: User
) -> None:
    try:
        prompt = generation.check_prompt(message.text or "")
    except generation.InvalidPrompt as error:
        await message.answer(views.prompt_problem(error.too_short))
        return
    await show_summary(message, state, settings, user, prompt)


async def prompt_not_text(message: Message) -> None:
    await message.answer(_("Please describe the portrait in a text message, or pick a style."))


async def preset_chosen(
    query: CallbackQuery,
    callback_data: PresetChoice,
    state: FSMContext,
    settings: Settings,
    user: User,
) -> None:
    chosen = preset(callback_data.preset)
    model = await PortraitModel.get_or_none(id=(await state.get_data()).get("model"))
    if chosen is None or model is None:
        await query.answer(_("This button is no longer active."))
        return
    await query.answer()
    if isinstance(query.message, Message):
        await show_summary(
            query.message, state, settings, user, chosen.render(model.model_type.value)
        )


async def change_prompt(query: CallbackQuery, state: FSMContext, user: User) -> None:
    await query.answer()
    try:
        model = await generation.ready_model(user.telegram_id, (await state.get_data())["model"])
    except (generation.ModelNotAvailable, KeyError):
        await state.clear()
        return
    if isinstance(query.message, Message):
        await ask_prompt(query.message, state, model)


async def confirm_pressed(
    query: CallbackQuery,
    bot: Bot,
    state: FSMContext,
    settings: Settings,
    user: User,
    n8n: N8NClient,
    background: BackgroundTasks,
    isolation: BaseEventIsolation,
) -> None:
    data = await state.get_data()
    try:
        model = await generation.ready_model(user.telegram_id, data["model"])
        job = await generation.reserve(
            user.telegram_id,
            model,
            data["prompt"],
            uuid.UUID(data["request_id"]),
            settings.generate_cost,
        )
    except generation.ModelNotAvailable:
        await query.answer(_("This model is not available."), show_alert=True)
        return
    except credits.InsufficientCredits as error:
        await query.answer(credit_views.shortfall_alert(error.missing), show_alert=True)
        return
    except generation.AlreadyStarted:
        await query.answer(_("This generation is already being started."))
        return
    await state.set_state(GenerateImages.submitting)
    await launch_reserved(
        query,
        background,
        run_job(bot, state, settings, n8n, isolation, job, model),
        name=f"generation {job.request_id}",
        notice=_("Credits reserved. Starting…"),
    )


async def run_job(
    bot: Bot,
    state: FSMContext,
    settings: Settings,
    n8n: N8NClient,
    isolation: BaseEventIsolation,
    job: Prompt,
    model: PortraitModel,
) -> None:
    try:
        result = await generation.launch(
            n8n,
            job,
            model,
            num_images=settings.images_per_prompt,
            callback_url=f"{settings.callback_base_url}/n8n/prompt-status",
        )
    except Exception as error:
        # Whatever went wrong, the reserved credits must not stay taken.
        logger.opt(exception=error).error("generation job {} crashed", job.request_id)
        await generation.fail(job, "internal error")
        result = generation.LaunchResult(started=False)
    retry_request = ""  # stays empty (a stale Try again) when the user moved on meanwhile
    async with isolation.lock(state.key):
        if await state.get_state() != GenerateImages.submitting.state:
            pass  # the user moved on meanwhile
        elif result.started or result.model_expired:
            await state.clear()
        else:
            retry_request = str(uuid.uuid4())
            await state.update_data(request_id=retry_request)
            await state.set_state(GenerateImages.confirm)
    chat_id = state.key.chat_id
    if result.started:
        await bot.send_message(chat_id, views.started())
    elif result.model_expired:
        await bot.send_message(chat_id, views.model_expired(model), reply_markup=retrain_keyboard())
    else:
        await bot.send_message(
            chat_id,
            views.not_accepted(),
            reply_markup=kb.retry_keyboard(kb.summary_tag(retry_request)),
        )


async def cancel_pressed(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await cancel_and_say(query.message, state)
    else:
        await state.clear()


async def submitting_pressed(query: CallbackQuery) -> None:
    await query.answer(_("This generation is already being started."))


async def after_pressed(
    query: CallbackQuery,
    callback_data: AfterCallback,
    state: FSMContext,
    settings: Settings,
    user: User,
) -> None:
    job = await Prompt.get_or_none(id=callback_data.job, user_id=user.telegram_id)
    model = await PortraitModel.get_or_none(model_id=job.model_id) if job else None
    if job is None or model is None or model.status != ModelStatus.READY:
        await query.answer(_("This model is not available."), show_alert=True)
        return
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await state.clear()
    if callback_data.action == AfterAction.MORE:
        await state.update_data(model=model.id)
        await show_summary(query.message, state, settings, user, job.prompt)
    else:
        await ask_prompt(query.message, state, model)


async def history_command(message: Message, user: User) -> None:
    jobs = await generation.history(user.telegram_id)
    names = await generation.model_names([job.model_id for job in jobs])
    await message.answer(views.history(jobs, names), reply_markup=kb.history_keyboard(jobs))


async def resend_pressed(
    query: CallbackQuery, callback_data: ResendCallback, bot: Bot, user: User, store: SharedStore
) -> None:
    job = await Prompt.get_or_none(id=callback_data.job, user_id=user.telegram_id)
    if job is None or not job.images:
        await query.answer(_("This button is no longer active."))
        return
    await query.answer()
    known = [image["file_id"] for image in job.images if image.get("file_id")]
    caption = views.caption(job.prompt)
    if len(known) == len(job.images):
        await send_images(bot, store, user.telegram_id, known, caption, by_file_id=True)
        return

    async def remember(file_ids: list[str | None]) -> None:
        await generation.remember_file_ids(job, file_ids)

    # Never delivered completely: fall back to the URLs.
    urls = [image["url"] for image in job.images]
    await send_images(bot, store, user.telegram_id, urls, caption, on_album=remember)


async def current_summary(
    query: CallbackQuery, callback_data: GenerateCallback, state: FSMContext
) -> bool:
    """Only the latest summary's Generate (or Try again) button starts a job."""
    request_id = str((await state.get_data()).get("request_id", ""))
    return bool(request_id) and callback_data.job == kb.summary_tag(request_id)


def create_router() -> Router:
    router = Router(name="generate")
    router.message.register(generate_command, Command("generate"))
    router.callback_query.register(
        generate_button, MenuCallback.filter(F.action == MenuAction.GENERATE)
    )
    router.message.register(history_command, Command("history"))
    router.callback_query.register(page_pressed, GenerateImages.model, ModelPage.filter())
    router.callback_query.register(model_chosen, GenerateImages.model, ModelChoice.filter())
    router.message.register(prompt_entered, GenerateImages.prompt, F.text)
    router.message.register(prompt_not_text, GenerateImages.prompt)
    router.callback_query.register(preset_chosen, GenerateImages.prompt, PresetChoice.filter())
    router.callback_query.register(
        confirm_pressed,
        GenerateImages.confirm,
        GenerateCallback.filter(F.action == GenerateAction.CONFIRM),
        current_summary,
    )
    router.callback_query.register(
        change_prompt,
        GenerateImages.confirm,
        GenerateCallback.filter(F.action == GenerateAction.CHANGE_PROMPT),
    )
    router.callback_query.register(
        submitting_pressed, GenerateImages.submitting, GenerateCallback.filter()
    )
    router.callback_query.register(
        cancel_pressed,
        StateFilter(GenerateImages.model, GenerateImages.prompt, GenerateImages.confirm),
        GenerateCallback.filter(F.action == GenerateAction.CANCEL),
    )
    router.callback_query.register(after_pressed, AfterCallback.filter())
    router.callback_query.register(resend_pressed, ResendCallback.filter())
    return router
