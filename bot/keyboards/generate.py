from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import (
    AfterAction,
    AfterCallback,
    GenerateAction,
    GenerateCallback,
    MenuAction,
    MenuCallback,
    ModelChoice,
    ModelPage,
    PresetChoice,
    ResendCallback,
)
from bot.models import PortraitModel, Prompt
from bot.services.presets import presets
from bot.views import buttons

MODELS_PER_PAGE = 8


def models_keyboard(models: list[PortraitModel], page: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    pages = max(1, -(-len(models) // MODELS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    for model in models[page * MODELS_PER_PAGE : (page + 1) * MODELS_PER_PAGE]:
        builder.button(text=model.name, callback_data=ModelChoice(model=model.id))
    navigation = 0
    if page > 0:
        builder.button(text=buttons.previous_page(), callback_data=ModelPage(page=page - 1))
        navigation += 1
    if page < pages - 1:
        builder.button(text=buttons.next_page(), callback_data=ModelPage(page=page + 1))
        navigation += 1
    builder.button(
        text=buttons.cancel(), callback_data=GenerateCallback(action=GenerateAction.CANCEL)
    )
    rows = [1] * len(models[page * MODELS_PER_PAGE : (page + 1) * MODELS_PER_PAGE])
    builder.adjust(*rows, *([navigation] if navigation else []), 1)
    return builder.as_markup()


def presets_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for item in presets():
        builder.button(text=buttons.preset(item.name), callback_data=PresetChoice(preset=item.id))
    builder.button(
        text=buttons.cancel(), callback_data=GenerateCallback(action=GenerateAction.CANCEL)
    )
    builder.adjust(2)
    return builder.as_markup()


def confirm_keyboard(*, enough_credits: bool, token: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if enough_credits:
        builder.button(
            text=buttons.generate_now(),
            callback_data=GenerateCallback(action=GenerateAction.CONFIRM, token=token),
        )
    else:
        builder.button(
            text=buttons.credits(), callback_data=MenuCallback(action=MenuAction.CREDITS)
        )
    builder.button(
        text=buttons.change_prompt(),
        callback_data=GenerateCallback(action=GenerateAction.CHANGE_PROMPT),
    )
    builder.button(
        text=buttons.cancel(), callback_data=GenerateCallback(action=GenerateAction.CANCEL)
    )
    builder.adjust(1)
    return builder.as_markup()


def after_delivery_keyboard(job: Prompt) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=buttons.more_like_this(),
        callback_data=AfterCallback(action=AfterAction.MORE, job=job.id),
    )
    builder.button(
        text=buttons.new_prompt(),
        callback_data=AfterCallback(action=AfterAction.NEW_PROMPT, job=job.id),
    )
    builder.button(text=buttons.menu(), callback_data=MenuCallback(action=MenuAction.MENU))
    builder.adjust(2, 1)
    return builder.as_markup()


def retry_keyboard(token: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=buttons.try_again(),
        callback_data=GenerateCallback(action=GenerateAction.CONFIRM, token=token),
    )
    builder.button(
        text=buttons.cancel(), callback_data=GenerateCallback(action=GenerateAction.CANCEL)
    )
    builder.adjust(1)
    return builder.as_markup()


def history_keyboard(jobs: list[Prompt]) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    for number, job in enumerate(jobs, start=1):
        if job.images:
            builder.button(
                text=buttons.resend(number),
                callback_data=ResendCallback(job=job.id),
            )
    builder.adjust(3)
    return builder.as_markup() if list(builder.buttons) else None
