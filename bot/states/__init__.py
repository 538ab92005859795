"""One StatesGroup per wizard; the state lives in the FSM storage (Redis in production)."""

from aiogram.fsm.state import State, StatesGroup


class TrainModel(StatesGroup):
    name = State()
    model_type = State()
    photos = State()
    confirm = State()


class GenerateImages(StatesGroup):
    model = State()
    prompt = State()
    confirm = State()
