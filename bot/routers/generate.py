"""The generation wizard: model → prompt or style → confirm → N8N; history and resend."""

from __future__ import annotations

import uuid

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot import tokens
from bot.callbacks import (
    AfterAction,
    AfterCallback,
    Flow,
    GenerateAction,
    GenerateCallback,
    MenuAction,
    MenuCallback,
    ModelChoice,
    ModelPage,
    PresetChoice,
    ResendCallback,
)
from bot.config import Settings
from bot.filters import CurrentToken
from bot.keyboards import generate as kb
from bot.keyboards.menu import main_menu
from bot.keyboards.train import retrain_keyboard
from bot.models import ModelStatus, PortraitModel, Prompt, User
from bot.outbound import Outbox
from bot.outbound.images import send_images
from bot.routers.common import Event, answer_after, hint, replace_buttons, reply
from bot.routers.wizard import JobWizard, Refusal, Reply
from bot.services import credits, generation, jobs
from bot.services.generation import GenerationLaunch
from bot.services.jobs import Outcome
from bot.services.n8n import N8NClient
from bot.services.presets import preset
from bot.states import GenerateImages, GenerationData
from bot.views import common as common_views
from bot.views import generation as views


async def ready_models(user: User) -> tuple[list[PortraitModel], list[PortraitModel]]:
    """All the user's models, and those ready to generate with."""
    models = await generation.models_of(user.telegram_id)
    return models, [model for model in models if model.status == ModelStatus.READY]


async def begin(event: Event, state: FSMContext, settings: Settings, user: User) -> None:
    if not settings.n8n_enabled:
        await reply(event, common_views.not_configured())
        return
    await state.clear()
    models, ready = await ready_models(user)
    if not ready:
        await reply(event, views.no_ready_models(models), retrain_keyboard())
        return
    await state.set_state(GenerateImages.model)
    await reply(event, views.choose_model(), kb.models_keyboard(ready, 0))


async def page_pressed(query: CallbackQuery, callback_data: ModelPage, user: User) -> None:
    _, ready = await ready_models(user)
    await replace_buttons(query, kb.models_keyboard(ready, callback_data.page))


async def ask_prompt(event: Event, state: FSMContext, model: PortraitModel) -> None:
    await GenerationData(model=model.id).save(state)
    await state.set_state(GenerateImages.prompt)
    await reply(event, views.ask_prompt(model), kb.presets_keyboard())


@answer_after
async def model_chosen(
    query: CallbackQuery,
    callback_data: ModelChoice,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    user: User,
) -> None:
    try:
        model = await generation.ready_model(user.telegram_id, callback_data.model)
    except generation.ModelNotAvailable:
        callback_answer.text, callback_answer.show_alert = views.model_not_available(), True
        return
    await ask_prompt(query, state, model)


async def show_summary(
    event: Event, state: FSMContext, settings: Settings, user: User, prompt: str
) -> None:
    data = await GenerationData.load(state)
    try:
        model = await generation.ready_model(user.telegram_id, data.model or 0)
    except generation.ModelNotAvailable:
        await state.clear()
        await reply(event, views.model_not_available(), main_menu())
        return
    balance = await credits.balance_of(user.telegram_id)
    data.prompt, data.request_id = prompt, uuid.uuid4()  # a new summary, a new job
    await data.save(state)
    await state.set_state(GenerateImages.confirm)
    # Only this summary's Generate button acts: an earlier one would start it with another prompt.
    token = await tokens.issue(state, Flow.GENERATE)
    await reply(
        event,
        views.summary(model, prompt, settings.images_per_prompt, settings.generate_cost, balance),
        kb.confirm_keyboard(enough_credits=balance >= settings.generate_cost, token=token),
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


@answer_after
async def preset_chosen(
    query: CallbackQuery,
    callback_data: PresetChoice,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    settings: Settings,
    user: User,
) -> None:
    chosen = preset(callback_data.preset)
    model = await PortraitModel.get_or_none(id=(await GenerationData.load(state)).model)
    if chosen is None or model is None:
        callback_answer.text = common_views.stale_button()
        return
    await show_summary(query, state, settings, user, chosen.render(model.model_type.value))


async def change_prompt(query: CallbackQuery, state: FSMContext, user: User) -> None:
    data = await GenerationData.load(state)
    try:
        model = await generation.ready_model(user.telegram_id, data.model or 0)
    except generation.ModelNotAvailable:
        await state.clear()
        return
    await ask_prompt(query, state, model)


class GenerationWizard(JobWizard[GenerationData, Prompt, GenerationLaunch]):
    def __init__(self) -> None:
        super().__init__(jobs.GENERATION, GenerationData, GenerateImages)

    async def reserve(self, data: GenerationData, user: User, settings: Settings) -> Prompt:
        try:
            model = await generation.ready_model(user.telegram_id, data.model or 0)
        except generation.ModelNotAvailable:
            raise Refusal(views.model_not_available()) from None
        return await generation.reserve(
            user.telegram_id,
            model,
            data.prompt,
            data.request_id or uuid.uuid4(),
            settings.generate_cost,
        )

    async def launch(
        self, job: Prompt, data: GenerationData, bot: Bot, n8n: N8NClient, settings: Settings
    ) -> GenerationLaunch:
        return await generation.launch(
            n8n,
            job,
            await PortraitModel.get(id=data.model),
            num_images=settings.images_per_prompt,
            callback_url=f"{settings.callback_base_url}/n8n/prompt-status",
        )

    def crashed(self, data: GenerationData) -> GenerationLaunch:
        return GenerationLaunch(Outcome.REFUSED)

    async def settle(
        self, state: FSMContext, data: GenerationData, launched: GenerationLaunch
    ) -> str:
        if launched.outcome != Outcome.REFUSED:
            await state.clear()
            return ""
        data.request_id = uuid.uuid4()  # Try again makes a new job
        await data.save(state)
        await state.set_state(GenerateImages.confirm)
        return await tokens.issue(state, Flow.GENERATE)

    def report(
        self,
        job: Prompt,
        data: GenerationData,
        launched: GenerationLaunch,
        token: str,
        settings: Settings,
    ) -> list[Reply]:
        if launched.outcome == Outcome.STARTED:
            return [(views.started(), None)]
        if launched.outcome == Outcome.MODEL_EXPIRED and launched.model is not None:
            return [(views.model_expired(launched.model), retrain_keyboard())]
        return [(views.not_accepted(), kb.retry_keyboard(token))]

    def already_started(self) -> str:
        return views.already_started()

    def reserved(self) -> str:
        return views.reserved()


@answer_after
async def after_pressed(
    query: CallbackQuery,
    callback_data: AfterCallback,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    settings: Settings,
    user: User,
) -> None:
    job = await Prompt.get_or_none(id=callback_data.job, user_id=user.telegram_id)
    model = await PortraitModel.get_or_none(model_id=job.model_id) if job else None
    if job is None or model is None or model.status != ModelStatus.READY:
        callback_answer.text, callback_answer.show_alert = views.model_not_available(), True
        return
    await state.clear()
    if callback_data.action == AfterAction.MORE:
        await GenerationData(model=model.id).save(state)
        await show_summary(query, state, settings, user, job.prompt)
    else:
        await ask_prompt(query, state, model)


async def history_command(message: Message, user: User) -> None:
    jobs_ = await generation.history(user.telegram_id)
    names = await generation.model_names([job.model_id for job in jobs_])
    await message.answer(views.history(jobs_, names), reply_markup=kb.history_keyboard(jobs_))


@answer_after
async def resend_pressed(
    query: CallbackQuery,
    callback_data: ResendCallback,
    callback_answer: CallbackAnswer,
    user: User,
    outbox: Outbox,
) -> None:
    job = await Prompt.get_or_none(id=callback_data.job, user_id=user.telegram_id)
    if job is None or not job.images:
        callback_answer.text = common_views.stale_button()
        return
    known = [image["file_id"] for image in job.images if image.get("file_id")]
    caption = views.caption(job.prompt)
    if len(known) == len(job.images):
        await send_images(
            outbox.bot, outbox.store, user.telegram_id, known, caption, by_file_id=True
        )
        return

    async def remember(file_ids: list[str | None]) -> None:
        await generation.remember_file_ids(job, file_ids)

    # Never delivered completely: fall back to the URLs.
    urls = [image["url"] for image in job.images]
    await send_images(outbox.bot, outbox.store, user.telegram_id, urls, caption, on_album=remember)


def create_router() -> Router:
    router = Router(name="generate")
    router.message.register(begin, Command("generate"))
    router.callback_query.register(begin, MenuCallback.filter(F.action == MenuAction.GENERATE))
    router.message.register(history_command, Command("history"))
    router.callback_query.register(page_pressed, GenerateImages.model, ModelPage.filter())
    router.callback_query.register(model_chosen, GenerateImages.model, ModelChoice.filter())
    router.message.register(prompt_entered, GenerateImages.prompt, F.text)
    router.message.register(hint(views.prompt_not_text), GenerateImages.prompt)
    router.callback_query.register(preset_chosen, GenerateImages.prompt, PresetChoice.filter())
    router.callback_query.register(
        change_prompt,
        GenerateImages.confirm,
        GenerateCallback.filter(F.action == GenerateAction.CHANGE_PROMPT),
    )
    GenerationWizard().register(
        router,
        confirm=(GenerateCallback.filter(F.action == GenerateAction.CONFIRM), CurrentToken()),
        cancel=(GenerateCallback.filter(F.action == GenerateAction.CANCEL),),
        any_button=(GenerateCallback.filter(),),
    )
    router.callback_query.register(after_pressed, AfterCallback.filter())
    router.callback_query.register(resend_pressed, ResendCallback.filter())
    return router
