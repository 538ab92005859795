from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import MenuAction, MenuCallback, ModelTypeCallback, TrainAction, TrainCallback
from bot.models import ModelType
from bot.views import buttons


def model_type_keyboard(token: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for model_type in ModelType:
        builder.button(
            text=buttons.model_type_label(model_type),
            callback_data=ModelTypeCallback(model_type=model_type, token=token),
        )
    builder.button(
        text=buttons.cancel(), callback_data=TrainCallback(action=TrainAction.CANCEL, token=token)
    )
    builder.adjust(2, 2, 2, 1)
    return builder.as_markup()


def cancel_keyboard(token: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=buttons.cancel(), callback_data=TrainCallback(action=TrainAction.CANCEL, token=token)
    )
    return builder.as_markup()


def photos_keyboard(count: int, min_photos: int, token: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if count >= min_photos:
        builder.button(
            text=buttons.start_training(),
            callback_data=TrainCallback(action=TrainAction.START, token=token),
        )
    if count:
        builder.button(
            text=buttons.clear_photos(),
            callback_data=TrainCallback(action=TrainAction.CLEAR, token=token),
        )
    builder.button(
        text=buttons.cancel(), callback_data=TrainCallback(action=TrainAction.CANCEL, token=token)
    )
    builder.adjust(1)
    return builder.as_markup()


def confirm_keyboard(
    token: str, *, enough_credits: bool, retry: bool = False
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if enough_credits:
        label = buttons.try_again() if retry else buttons.confirm_and_pay()
        builder.button(
            text=label, callback_data=TrainCallback(action=TrainAction.CONFIRM, token=token)
        )
    else:
        builder.button(
            text=buttons.credits(), callback_data=MenuCallback(action=MenuAction.CREDITS)
        )
    builder.button(
        text=buttons.back_to_photos(),
        callback_data=TrainCallback(action=TrainAction.BACK, token=token),
    )
    builder.button(
        text=buttons.cancel(), callback_data=TrainCallback(action=TrainAction.CANCEL, token=token)
    )
    builder.adjust(1)
    return builder.as_markup()


def generate_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=buttons.generate(), callback_data=MenuCallback(action=MenuAction.GENERATE))
    return builder.as_markup()


def retrain_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=buttons.train(), callback_data=MenuCallback(action=MenuAction.TRAIN))
    return builder.as_markup()
