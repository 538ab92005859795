"""The training wizard: name → type → photos (singles and albums) → confirm → N8N."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from loguru import logger

from bot.config import Settings
from bot.keyboards import train as kb
from bot.keyboards.menu import MenuAction, MenuCallback, main_menu
from bot.keyboards.train import ModelTypeCallback, TrainAction, TrainCallback
from bot.models import ModelType, User
from bot.routers.cancel import cancel_and_say
from bot.routers.jobs import launch_reserved
from bot.services import credits, training
from bot.services.albums import AlbumCollector
from bot.services.background import BackgroundTasks
from bot.services.n8n import N8NClient
from bot.states import TrainModel
from bot.views import credits as credit_views
from bot.views import training as views


def not_configured_text() -> str:
    return _(
        "Training and generation are not configured on this bot yet: its operator has not "
        "connected the AI service. Please try again later."
    )


async def begin(message: Message, state: FSMContext, settings: Settings) -> None:
    if not settings.n8n_enabled:
        await message.answer(not_configured_text())
        return
    await state.clear()
    wizard = secrets.token_hex(4)
    await state.update_data(wizard=wizard)
    await state.set_state(TrainModel.name)
    await message.answer(
        _(
            "Let's train your personal model. How shall we call it? (up to {max_length} characters)"
        ).format(max_length=training.NAME_MAX_LENGTH),
        reply_markup=kb.cancel_keyboard(wizard),
    )


async def train_command(message: Message, state: FSMContext, settings: Settings) -> None:
    await begin(message, state, settings)


async def train_button(query: CallbackQuery, state: FSMContext, settings: Settings) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await begin(query.message, state, settings)


async def name_entered(message: Message, state: FSMContext, user: User) -> None:
    try:
        name = await training.check_name(user.telegram_id, message.text or "")
    except training.InvalidName as error:
        await message.answer(views.name_problem(error.problem, training.NAME_MAX_LENGTH))
        return
    data = await state.update_data(name=name, photos=[])
    await state.set_state(TrainModel.model_type)
    await message.answer(
        _("Who is in the photos?"), reply_markup=kb.model_type_keyboard(data["wizard"])
    )


async def name_not_text(message: Message) -> None:
    await message.answer(_("Please send the model's name as a text message."))


async def type_chosen(
    query: CallbackQuery, callback_data: ModelTypeCallback, state: FSMContext, settings: Settings
) -> None:
    await query.answer()
    await state.update_data(model_type=callback_data.model_type.value)
    await state.set_state(TrainModel.photos)
    if isinstance(query.message, Message):
        await query.message.answer(views.photo_guidance(settings.min_photos, settings.max_photos))


def incoming_item(message: Message, index: int | None = None) -> dict[str, Any] | None:
    """The photo or image document of a message as kept in FSM data (file ids only)."""
    if message.photo:
        largest = message.photo[-1]
        label = _("Photo {number}").format(number=index) if index else _("This photo")
        return {
            "file_id": largest.file_id,
            "file_unique_id": largest.file_unique_id,
            "file_size": largest.file_size,
            "message_id": message.message_id,
            "label": label,
        }
    document = message.document
    if document is not None and training.is_image_document(document.mime_type, document.file_name):
        return {
            "file_id": document.file_id,
            "file_unique_id": document.file_unique_id,
            "file_size": document.file_size,
            "message_id": message.message_id,
            "label": document.file_name or _("This file"),
        }
    return None


async def answer_batch(
    bot: Bot, chat_id: int, batch: training.PhotoBatch, settings: Settings, wizard: str
) -> None:
    await bot.send_message(
        chat_id,
        views.batch_report(batch, settings.min_photos, settings.max_photos),
        reply_markup=kb.photos_keyboard(batch.total, settings.min_photos, wizard),
    )


async def photo_received(
    message: Message,
    bot: Bot,
    state: FSMContext,
    settings: Settings,
    albums: AlbumCollector,
    background: BackgroundTasks,
    isolation: BaseEventIsolation,
) -> None:
    item = incoming_item(message)
    if item is None and message.media_group_id is not None and message.document is not None:
        # Part of an album: reported with the album's one answer, not on its own.
        item = {
            "file_id": message.document.file_id,
            "file_unique_id": message.document.file_unique_id,
            "message_id": message.message_id,
            "label": message.document.file_name or _("This file"),
            "problem": "not_an_image",
        }
    if item is None:
        await message.answer(
            _("That file is not an image. Please send photos (JPEG, PNG, WebP or HEIC).")
        )
        return
    if message.media_group_id is None:
        problem = await training.check_photo(bot, item)
        data = await state.get_data()
        kept = list(data.get("photos", []))
        batch = training.add_photos(kept, [(item, problem)], settings.max_photos)
        await state.update_data(photos=kept)
        await answer_batch(bot, message.chat.id, batch, settings, data["wizard"])
        return
    # An album item: collect it; the owner answers once the album has settled, off this lock.
    album_key = f"{message.chat.id}:{message.media_group_id}"
    if await albums.add(album_key, item):
        background.spawn(
            finish_album(bot, state, settings, albums, isolation, album_key),
            name=f"album {album_key}",
        )


async def finish_album(
    bot: Bot,
    state: FSMContext,
    settings: Settings,
    albums: AlbumCollector,
    isolation: BaseEventIsolation,
    album_key: str,
) -> None:
    items = sorted(
        await albums.collect(album_key, settings.album_settle_seconds),
        key=lambda i: i["message_id"],
    )
    if not items:
        return
    checked = []
    for number, item in enumerate(items, start=1):
        if item["label"] == _("This photo"):
            item["label"] = _("Photo {number}").format(number=number)
        checked.append((item, await training.check_photo(bot, item)))
    # The same lock the dispatcher takes for this user's updates: FSM data changes one at a time.
    batch: training.PhotoBatch | None = None
    async with isolation.lock(state.key):
        data = await state.get_data()
        if await state.get_state() == TrainModel.photos.state:
            kept = list(data.get("photos", []))
            batch = training.add_photos(kept, checked, settings.max_photos)
            await state.update_data(photos=kept)
    if batch is None:  # the wizard was cancelled or moved on while the album arrived
        await bot.send_message(
            state.key.chat_id,
            _("These {count} photos arrived after you moved on, so they were not added.").format(
                count=len(items)
            ),
        )
        return
    await answer_batch(bot, state.key.chat_id, batch, settings, data["wizard"])


async def not_a_photo(message: Message) -> None:
    await message.answer(
        _("I am waiting for photos now. Send photos or image files, or press a button below.")
    )


async def clear_photos(query: CallbackQuery, state: FSMContext, settings: Settings) -> None:
    await query.answer(_("Photos cleared."))
    data = await state.update_data(photos=[])
    if isinstance(query.message, Message):
        await query.message.answer(
            views.progress(0, settings.min_photos, settings.max_photos),
            reply_markup=kb.photos_keyboard(0, settings.min_photos, data["wizard"]),
        )


async def show_summary(
    query: CallbackQuery, state: FSMContext, settings: Settings, user: User, *, retry: bool = False
) -> None:
    data = await state.get_data()
    photos = data.get("photos", [])
    if len(photos) < settings.min_photos:
        await query.answer(
            _("Send at least {min_photos} photos first.").format(min_photos=settings.min_photos),
            show_alert=True,
        )
        return
    await query.answer()
    balance = await credits.balance_of(user.telegram_id)
    await state.update_data(request_id=str(uuid.uuid4()))
    await state.set_state(TrainModel.confirm)
    if isinstance(query.message, Message):
        await query.message.answer(
            views.summary(
                data["name"],
                ModelType(data["model_type"]),
                len(photos),
                settings.train_cost,
                balance,
            ),
            reply_markup=kb.confirm_keyboard(
                data["wizard"], enough_credits=balance >= settings.train_cost, retry=retry
            ),
        )


async def start_pressed(
    query: CallbackQuery, state: FSMContext, settings: Settings, user: User
) -> None:
    await show_summary(query, state, settings, user)


async def back_to_photos(query: CallbackQuery, state: FSMContext, settings: Settings) -> None:
    await query.answer()
    await state.set_state(TrainModel.photos)
    data = await state.get_data()
    total = len(data.get("photos", []))
    if isinstance(query.message, Message):
        await query.message.answer(
            views.progress(total, settings.min_photos, settings.max_photos),
            reply_markup=kb.photos_keyboard(total, settings.min_photos, data["wizard"]),
        )


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
        model = await training.reserve(
            user.telegram_id,
            name=data["name"],
            model_type=ModelType(data["model_type"]),
            request_id=uuid.UUID(data["request_id"]),
            cost=settings.train_cost,
        )
    except credits.InsufficientCredits as error:
        await query.answer(credit_views.shortfall_alert(error.missing), show_alert=True)
        return
    except training.AlreadyStarted:
        await query.answer(_("This training is already being started."))
        return
    await state.set_state(TrainModel.submitting)
    await launch_reserved(
        query,
        background,
        run_job(bot, state, settings, n8n, isolation, model, data["photos"]),
        name=f"training {model.request_id}",
        notice=_("Credits reserved. Preparing your photos…"),
    )


async def run_job(
    bot: Bot,
    state: FSMContext,
    settings: Settings,
    n8n: N8NClient,
    isolation: BaseEventIsolation,
    model: Any,
    photos: list[dict[str, Any]],
) -> None:
    chat_id = state.key.chat_id
    with contextlib.suppress(TelegramAPIError):
        await bot.send_chat_action(chat_id, "upload_photo")
    try:
        result = await training.launch(
            bot,
            n8n,
            model,
            photos,
            min_photos=settings.min_photos,
            long_side=settings.train_image_long_side,
            callback_url=f"{settings.callback_base_url}/n8n/model-status",
        )
    except Exception as error:
        # Whatever went wrong, the reserved credits must not stay taken.
        logger.opt(exception=error).error("training job {} crashed", model.request_id)
        await training.fail(model, "internal error")
        result = training.LaunchResult(started=False, kept_photos=photos)
    if result.failures:
        await bot.send_message(chat_id, views.failures(result.failures))
    async with isolation.lock(state.key):
        wizard = (await state.get_data()).get("wizard", "")
        if await state.get_state() != TrainModel.submitting.state:
            pass  # the user cancelled or started over meanwhile: leave their new state alone
        elif result.started:
            await state.clear()
        elif result.too_few_photos:
            await state.update_data(photos=result.kept_photos)
            await state.set_state(TrainModel.photos)
        else:
            await state.update_data(request_id=str(uuid.uuid4()))
            await state.set_state(TrainModel.confirm)
    if result.started:
        await bot.send_message(chat_id, views.started(model.name), reply_markup=main_menu())
    elif result.too_few_photos:
        total = len(result.kept_photos)
        await bot.send_message(
            chat_id,
            views.too_few_after_check(total, settings.min_photos),
            reply_markup=kb.photos_keyboard(total, settings.min_photos, wizard),
        )
    else:
        await bot.send_message(
            chat_id,
            views.not_accepted(),
            reply_markup=kb.confirm_keyboard(wizard, enough_credits=True, retry=True),
        )


async def cancel_pressed(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await cancel_and_say(query.message, state)
    else:
        await state.clear()


async def submitting_pressed(query: CallbackQuery) -> None:
    await query.answer(_("This training is already being started."))


async def current_wizard(
    query: CallbackQuery, callback_data: TrainCallback | ModelTypeCallback, state: FSMContext
) -> bool:
    """A button of an earlier run of the wizard is stale even at the same step."""
    return bool(callback_data.wizard == (await state.get_data()).get("wizard"))


def create_router() -> Router:
    router = Router(name="train")
    router.message.register(train_command, Command("train"))
    router.callback_query.register(train_button, MenuCallback.filter(F.action == MenuAction.TRAIN))
    router.message.register(name_entered, TrainModel.name, F.text)
    router.message.register(name_not_text, TrainModel.name)
    router.callback_query.register(
        type_chosen, TrainModel.model_type, ModelTypeCallback.filter(), current_wizard
    )
    router.message.register(photo_received, TrainModel.photos, F.photo | F.document)
    router.message.register(not_a_photo, TrainModel.photos)
    photos_step = (TrainModel.photos,)
    router.callback_query.register(
        clear_photos,
        StateFilter(*photos_step),
        TrainCallback.filter(F.action == TrainAction.CLEAR),
        current_wizard,
    )
    router.callback_query.register(
        start_pressed,
        StateFilter(*photos_step),
        TrainCallback.filter(F.action == TrainAction.START),
        current_wizard,
    )
    router.callback_query.register(
        confirm_pressed,
        TrainModel.confirm,
        TrainCallback.filter(F.action == TrainAction.CONFIRM),
        current_wizard,
    )
    router.callback_query.register(
        back_to_photos,
        TrainModel.confirm,
        TrainCallback.filter(F.action == TrainAction.BACK),
        current_wizard,
    )
    router.callback_query.register(
        submitting_pressed, TrainModel.submitting, TrainCallback.filter(), current_wizard
    )
    router.callback_query.register(
        cancel_pressed,
        StateFilter(TrainModel.name, TrainModel.model_type, TrainModel.photos, TrainModel.confirm),
        TrainCallback.filter(F.action == TrainAction.CANCEL),
        current_wizard,
    )
    return router
