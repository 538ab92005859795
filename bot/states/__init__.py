"""One StatesGroup per wizard; the state lives in the FSM storage (Redis in production)."""

from aiogram.fsm.state import State, StatesGroup


class TrainModel(StatesGroup):
    name = State()
    model_type = State()
    photos = State()
    confirm = State()
    submitting = State()  # credits reserved, photos being prepared and sent to N8N


class GenerateImages(StatesGroup):
    model = State()
    prompt = State()
    confirm = State()
    submitting = State()  # credits reserved, the job being sent to N8N


class Broadcast(StatesGroup):
    text = State()  # waiting for the message to send to every active user
    confirm = State()  # preview shown, waiting for Confirm / Cancel
