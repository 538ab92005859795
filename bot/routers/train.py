"""The training wizard: name → type → photos (singles and albums) → confirm → N8N."""

from __future__ import annotations

import contextlib
import uuid

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot import tokens
from bot.callbacks import (
    Flow,
    MenuAction,
    MenuCallback,
    ModelTypeCallback,
    TrainAction,
    TrainCallback,
)
from bot.config import Settings
from bot.filters import CurrentToken
from bot.keyboards import train as kb
from bot.keyboards.menu import main_menu
from bot.models import PortraitModel, User
from bot.outbound import Outbox
from bot.routers.common import Event, answer_after, hint, reply
from bot.routers.wizard import JobWizard, Reply
from bot.services import credits, jobs, training
from bot.services.albums import AlbumCollector
from bot.services.background import BackgroundTasks
from bot.services.jobs import Outcome
from bot.services.n8n import N8NClient
from bot.services.photos import PhotoProblem
from bot.services.training import PhotoBatch, PhotoItem, TrainingLaunch
from bot.states import TrainingData, TrainModel
from bot.views import common as common_views
from bot.views import training as views


async def begin(event: Event, state: FSMContext, settings: Settings) -> None:
    if not settings.n8n_enabled:
        await reply(event, common_views.not_configured())
        return
    await state.clear()
    token = await tokens.issue(state, Flow.TRAIN)  # one per run: an older run's buttons are stale
    await state.set_state(TrainModel.name)
    await reply(event, views.ask_name(), kb.cancel_keyboard(token))


async def name_entered(message: Message, state: FSMContext, user: User) -> None:
    try:
        name = await training.check_name(user.telegram_id, message.text or "")
    except training.InvalidName as error:
        await message.answer(views.name_problem(error.problem, training.NAME_MAX_LENGTH))
        return
    await TrainingData(name=name).save(state)
    await state.set_state(TrainModel.model_type)
    token = await tokens.current(state, Flow.TRAIN) or ""
    await message.answer(views.ask_model_type(), reply_markup=kb.model_type_keyboard(token))


async def type_chosen(
    query: CallbackQuery, callback_data: ModelTypeCallback, state: FSMContext, settings: Settings
) -> None:
    data = await TrainingData.load(state)
    data.model_type = callback_data.model_type
    await data.save(state)
    await state.set_state(TrainModel.photos)
    await reply(query, views.photo_guidance(settings.min_photos, settings.max_photos))


def incoming_item(message: Message) -> PhotoItem | None:
    """The photo or image file of a message, as the wizard keeps it (file ids only). An album
    item that is no image is kept with its problem: the album's one answer reports it."""
    if message.photo:
        largest = message.photo[-1]
        return PhotoItem(
            file_id=largest.file_id,
            file_unique_id=largest.file_unique_id,
            file_size=largest.file_size,
            message_id=message.message_id,
        )
    document = message.document
    if document is None:
        return None
    image = training.is_image_document(document.mime_type, document.file_name)
    if not image and message.media_group_id is None:
        return None
    return PhotoItem(
        file_id=document.file_id,
        file_unique_id=document.file_unique_id,
        file_size=document.file_size if image else None,
        message_id=message.message_id,
        is_document=True,
        file_name=document.file_name,
        problem=None if image else PhotoProblem.NOT_AN_IMAGE,
    )


async def answer_batch(
    outbox: Outbox, state: FSMContext, batch: PhotoBatch, settings: Settings
) -> None:
    token = await tokens.current(state, Flow.TRAIN) or ""
    await outbox.send(
        state.key.chat_id,
        views.batch_report(batch, settings.min_photos, settings.max_photos),
        kb.photos_keyboard(batch.total, settings.min_photos, token),
    )


async def photo_received(
    message: Message,
    bot: Bot,
    state: FSMContext,
    settings: Settings,
    albums: AlbumCollector,
    background: BackgroundTasks,
    isolation: BaseEventIsolation,
    outbox: Outbox,
) -> None:
    item = incoming_item(message)
    if item is None:
        await message.answer(views.not_an_image())
        return
    if message.media_group_id is None:
        problem = await training.check_photo(bot, item)
        data = await TrainingData.load(state)
        batch = training.add_photos(data.photos, [(item, problem)], settings.max_photos)
        await data.save(state)
        await answer_batch(outbox, state, batch, settings)
        return
    # An album item: collect it; the owner answers once the album has settled, off this lock.
    album_key = f"{message.chat.id}:{message.media_group_id}"
    if await albums.add(album_key, item.model_dump(mode="json")):
        background.spawn(
            finish_album(bot, state, settings, albums, isolation, outbox, album_key),
            name=f"album {album_key}",
        )


async def finish_album(
    bot: Bot,
    state: FSMContext,
    settings: Settings,
    albums: AlbumCollector,
    isolation: BaseEventIsolation,
    outbox: Outbox,
    album_key: str,
) -> None:
    collected = await albums.collect(album_key, settings.album_settle_seconds)
    items = sorted((PhotoItem.model_validate(raw) for raw in collected), key=lambda i: i.message_id)
    if not items:
        return
    checked = []
    for number, item in enumerate(items, start=1):
        item.number = number
        checked.append((item, await training.check_photo(bot, item)))
    batch: PhotoBatch | None = None
    # The same lock the dispatcher takes for this user's updates: FSM data changes one at a time.
    async with isolation.lock(state.key):
        if await state.get_state() == TrainModel.photos.state:
            data = await TrainingData.load(state)
            batch = training.add_photos(data.photos, checked, settings.max_photos)
            await data.save(state)
    if batch is None:  # the wizard was cancelled or moved on while the album arrived
        await outbox.send(state.key.chat_id, views.arrived_too_late(len(items)))
        return
    await answer_batch(outbox, state, batch, settings)


@answer_after
async def clear_photos(
    query: CallbackQuery,
    callback_data: TrainCallback,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    settings: Settings,
) -> None:
    callback_answer.text = views.photos_cleared()
    data = await TrainingData.load(state)
    data.photos = []
    await data.save(state)
    await reply(
        query,
        views.progress(0, settings.min_photos, settings.max_photos),
        kb.photos_keyboard(0, settings.min_photos, callback_data.token),
    )


@answer_after
async def show_summary(
    query: CallbackQuery,
    callback_data: TrainCallback,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    settings: Settings,
    user: User,
) -> None:
    data = await TrainingData.load(state)
    if len(data.photos) < settings.min_photos:
        callback_answer.text = views.too_few_photos(settings.min_photos)
        callback_answer.show_alert = True
        return
    balance = await credits.balance_of(user.telegram_id)
    data.request_id = uuid.uuid4()  # a new summary: confirming it makes a new job
    await data.save(state)
    await state.set_state(TrainModel.confirm)
    await reply(
        query,
        views.summary(data.name, data.model_type, len(data.photos), settings.train_cost, balance),
        kb.confirm_keyboard(callback_data.token, enough_credits=balance >= settings.train_cost),
    )


async def back_to_photos(
    query: CallbackQuery, callback_data: TrainCallback, state: FSMContext, settings: Settings
) -> None:
    await state.set_state(TrainModel.photos)
    total = len((await TrainingData.load(state)).photos)
    await reply(
        query,
        views.progress(total, settings.min_photos, settings.max_photos),
        kb.photos_keyboard(total, settings.min_photos, callback_data.token),
    )


class TrainingWizard(JobWizard[TrainingData, PortraitModel, TrainingLaunch]):
    def __init__(self) -> None:
        super().__init__(jobs.TRAINING, TrainingData, TrainModel)

    async def reserve(self, data: TrainingData, user: User, settings: Settings) -> PortraitModel:
        return await training.reserve(
            user.telegram_id,
            name=data.name,
            model_type=data.model_type,
            request_id=data.request_id or uuid.uuid4(),
            cost=settings.train_cost,
        )

    async def launch(
        self, job: PortraitModel, data: TrainingData, bot: Bot, n8n: N8NClient, settings: Settings
    ) -> TrainingLaunch:
        with contextlib.suppress(TelegramAPIError):
            await bot.send_chat_action(job.user_id, "upload_photo")
        return await training.launch(
            bot,
            n8n,
            job,
            data.photos,
            min_photos=settings.min_photos,
            long_side=settings.train_image_long_side,
            callback_url=f"{settings.callback_base_url}/n8n/model-status",
        )

    def crashed(self, data: TrainingData) -> TrainingLaunch:
        return TrainingLaunch(Outcome.REFUSED, kept_photos=data.photos)

    async def settle(self, state: FSMContext, data: TrainingData, launched: TrainingLaunch) -> str:
        if launched.outcome == Outcome.STARTED:
            await state.clear()
            return ""
        if launched.outcome == Outcome.TOO_FEW_PHOTOS:
            data.photos = launched.kept_photos
            await state.set_state(TrainModel.photos)
        else:  # refused: the summary stays, with a new request for Try again
            data.request_id = uuid.uuid4()
            await state.set_state(TrainModel.confirm)
        await data.save(state)
        return await tokens.current(state, Flow.TRAIN) or ""

    def report(
        self,
        job: PortraitModel,
        data: TrainingData,
        launched: TrainingLaunch,
        token: str,
        settings: Settings,
    ) -> list[Reply]:
        replies: list[Reply] = []
        if launched.failures:
            replies.append((views.failures(launched.failures), None))
        if launched.outcome == Outcome.STARTED:
            replies.append((views.started(job.name), main_menu()))
        elif launched.outcome == Outcome.TOO_FEW_PHOTOS:
            kept = len(launched.kept_photos)
            replies.append(
                (
                    views.too_few_after_check(kept, settings.min_photos),
                    kb.photos_keyboard(kept, settings.min_photos, token),
                )
            )
        else:
            replies.append(
                (views.not_accepted(), kb.confirm_keyboard(token, enough_credits=True, retry=True))
            )
        return replies

    def already_started(self) -> str:
        return views.already_started()

    def reserved(self) -> str:
        return views.reserved()


def create_router() -> Router:
    router = Router(name="train")
    router.message.register(begin, Command("train"))
    router.callback_query.register(begin, MenuCallback.filter(F.action == MenuAction.TRAIN))
    router.message.register(name_entered, TrainModel.name, F.text)
    router.message.register(hint(views.name_not_text), TrainModel.name)
    router.callback_query.register(
        type_chosen, TrainModel.model_type, ModelTypeCallback.filter(), CurrentToken()
    )
    router.message.register(photo_received, TrainModel.photos, F.photo | F.document)
    router.message.register(hint(views.waiting_for_photos), TrainModel.photos)
    for handler, state, action in (
        (clear_photos, TrainModel.photos, TrainAction.CLEAR),
        (show_summary, TrainModel.photos, TrainAction.START),
        (back_to_photos, TrainModel.confirm, TrainAction.BACK),
    ):
        router.callback_query.register(
            handler, state, TrainCallback.filter(F.action == action), CurrentToken()
        )
    TrainingWizard().register(
        router,
        confirm=(TrainCallback.filter(F.action == TrainAction.CONFIRM), CurrentToken()),
        cancel=(TrainCallback.filter(F.action == TrainAction.CANCEL), CurrentToken()),
        any_button=(TrainCallback.filter(), CurrentToken()),
    )
    return router
