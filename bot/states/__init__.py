"""One StatesGroup per wizard, and each wizard's data, typed; both live in the FSM storage
(Redis in production)."""

from __future__ import annotations

import uuid
from typing import Self

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from pydantic import BaseModel, ConfigDict, Field

from bot.models import ModelType
from bot.services.training import PhotoItem


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


class WizardData(BaseModel):
    """A wizard's FSM data: loaded and saved explicitly, so no handler reads string keys.
    Keys of other flows in the same FSM data (tokens) are left alone."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    @classmethod
    async def load(cls, state: FSMContext) -> Self:
        return cls.model_validate(await state.get_data())

    async def save(self, state: FSMContext) -> None:
        await state.update_data(self.model_dump(mode="json"))


class TrainingData(WizardData):
    name: str = ""
    model_type: ModelType = ModelType.MAN  # chosen at the second step
    photos: list[PhotoItem] = Field(default_factory=list)
    request_id: uuid.UUID | None = None  # the summary's: confirming it twice makes one job


class GenerationData(WizardData):
    model: int | None = None  # our row id of the chosen model
    prompt: str = ""
    request_id: uuid.UUID | None = None  # the summary's: confirming it twice makes one job


class BroadcastData(WizardData):
    text: str = ""  # the admin's message, as HTML
