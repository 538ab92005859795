from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import MenuAction, MenuCallback, ModelTypeCallback, TrainAction, TrainCallback
from bot.models import ModelType


def model_type_label(model_type: ModelType) -> str:
    return {
        ModelType.MAN: _("👨 Man"),
        ModelType.WOMAN: _("👩 Woman"),
        ModelType.BOY: _("👦 Boy"),
        ModelType.GIRL: _("👧 Girl"),
        ModelType.DOG: _("🐶 Dog"),
        ModelType.CAT: _("🐱 Cat"),
    }[model_type]


def model_type_keyboard(token: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for model_type in ModelType:
        builder.button(
            text=model_type_label(model_type),
            callback_data=ModelTypeCallback(model_type=model_type, token=token),
        )
    builder.button(
        text=_("✖️ Cancel"), callback_data=TrainCallback(action=TrainAction.CANCEL, token=token)
    )
    builder.adjust(2, 2, 2, 1)
    return builder.as_markup()


def cancel_keyboard(token: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("✖️ Cancel"), callback_data=TrainCallback(action=TrainAction.CANCEL, token=token)
    )
    return builder.as_markup()


def photos_keyboard(count: int, min_photos: int, token: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if count >= min_photos:
        builder.button(
            text=_("🚀 Start training"),
            callback_data=TrainCallback(action=TrainAction.START, token=token),
        )
    if count:
        builder.button(
            text=_("🗑 Clear photos"),
            callback_data=TrainCallback(action=TrainAction.CLEAR, token=token),
        )
    builder.button(
        text=_("✖️ Cancel"), callback_data=TrainCallback(action=TrainAction.CANCEL, token=token)
    )
    builder.adjust(1)
    return builder.as_markup()


def confirm_keyboard(
    token: str, *, enough_credits: bool, retry: bool = False
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if enough_credits:
        label = _("🔁 Try again") if retry else _("✅ Confirm and pay")
        builder.button(
            text=label, callback_data=TrainCallback(action=TrainAction.CONFIRM, token=token)
        )
    else:
        builder.button(text=_("💳 Credits"), callback_data=MenuCallback(action=MenuAction.CREDITS))
    builder.button(
        text=_("⬅️ Back to photos"),
        callback_data=TrainCallback(action=TrainAction.BACK, token=token),
    )
    builder.button(
        text=_("✖️ Cancel"), callback_data=TrainCallback(action=TrainAction.CANCEL, token=token)
    )
    builder.adjust(1)
    return builder.as_markup()


def generate_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🎨 Generate"), callback_data=MenuCallback(action=MenuAction.GENERATE))
    return builder.as_markup()


def retrain_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🧠 Train a model"), callback_data=MenuCallback(action=MenuAction.TRAIN))
    return builder.as_markup()
