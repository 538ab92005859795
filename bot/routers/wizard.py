"""What the two job wizards (training, generation) do alike once the user confirms a summary:
reserve the credits (one job and one charge per summary, however often it is pressed, on any
replica), hand the job to N8N in the background (off the user's lock: it may take minutes),
then settle the wizard and say how it went. Cancel and presses while submitting too."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

from aiogram import Bot, Router
from aiogram.filters import StateFilter
from aiogram.filters.base import Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.callback_answer import CallbackAnswer
from loguru import logger

from bot.config import Settings
from bot.models import User
from bot.outbound import Outbox
from bot.routers.cancel import cancel_and_say
from bot.routers.common import answer_after, replace_buttons
from bot.services import credits, jobs
from bot.services.background import BackgroundTasks
from bot.services.jobs import JobKind, JobT, Outcome
from bot.services.n8n import N8NClient
from bot.states import WizardData
from bot.views import credits as credit_views

DataT = TypeVar("DataT", bound=WizardData)


class Launched(Protocol):
    @property
    def outcome(self) -> Outcome: ...


LaunchT = TypeVar("LaunchT", bound=Launched)


class JobSteps(Protocol):
    """A job wizard's StatesGroup: its steps end with `confirm` and `submitting`."""

    confirm: State
    submitting: State


Reply = tuple[str, InlineKeyboardMarkup | None]


class Refusal(Exception):
    """The summary cannot be confirmed now; `text` tells the user why (in a pop-up)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class JobWizard(ABC, Generic[DataT, JobT, LaunchT]):
    def __init__(self, kind: JobKind[JobT], data_type: type[DataT], states: JobSteps) -> None:
        """`states` has a `confirm` step (the summary, with its Confirm button) and a
        `submitting` one (credits reserved, the job on its way to N8N)."""
        self.kind: JobKind[JobT] = kind
        self.data_type = data_type
        self.confirm = states.confirm
        self.submitting = states.submitting
        # Where Cancel works: every step before submitting.
        group = self.confirm.group
        self.steps = tuple(step for step in group.__all_states__ if step != self.submitting)

    # --- what each wizard decides ---------------------------------------------------------

    @abstractmethod
    async def reserve(self, data: DataT, user: User, settings: Settings) -> JobT:
        """Create the job and take its credits (raises Refusal, InsufficientCredits or
        AlreadyStarted)."""

    @abstractmethod
    async def launch(
        self, job: JobT, data: DataT, bot: Bot, n8n: N8NClient, settings: Settings
    ) -> LaunchT:
        """Hand the job to N8N; any failure gives the credits back."""

    @abstractmethod
    def crashed(self, data: DataT) -> LaunchT:
        """What to report when launching failed for a reason of ours."""

    @abstractmethod
    async def settle(self, state: FSMContext, data: DataT, launched: LaunchT) -> str:
        """Move the wizard on after the launch; returns the token for the buttons of the
        report (the wizard is still at `submitting`, under the user's lock)."""

    @abstractmethod
    def report(
        self, job: JobT, data: DataT, launched: LaunchT, token: str, settings: Settings
    ) -> list[Reply]:
        """The messages that tell the user how the launch went."""

    @abstractmethod
    def already_started(self) -> str: ...

    @abstractmethod
    def reserved(self) -> str: ...

    # --- what both do alike ---------------------------------------------------------------

    def register(
        self,
        router: Router,
        *,
        confirm: Sequence[Filter],
        cancel: Sequence[Filter],
        any_button: Sequence[Filter],
    ) -> None:
        router.callback_query.register(self.confirm_pressed, self.confirm, *confirm)
        router.callback_query.register(self.submitting_pressed, self.submitting, *any_button)
        router.callback_query.register(self.cancel_pressed, StateFilter(*self.steps), *cancel)

    @answer_after
    async def confirm_pressed(
        self,
        query: CallbackQuery,
        callback_answer: CallbackAnswer,
        state: FSMContext,
        user: User,
        settings: Settings,
        bot: Bot,
        n8n: N8NClient,
        outbox: Outbox,
        background: BackgroundTasks,
        isolation: BaseEventIsolation,
    ) -> None:
        data = await self.data_type.load(state)
        try:
            job = await self.reserve(data, user, settings)
        except Refusal as refusal:
            callback_answer.text, callback_answer.show_alert = refusal.text, True
            return
        except credits.InsufficientCredits as error:
            callback_answer.text = credit_views.shortfall_alert(error.missing)
            callback_answer.show_alert = True
            return
        except jobs.AlreadyStarted:
            callback_answer.text = self.already_started()
            return
        await state.set_state(self.submitting)
        # Started before anything else can fail: the credits are already reserved.
        background.spawn(
            self.run(job, data, state, isolation, bot, n8n, settings, outbox),
            name=f"{self.kind.name} {job.request_id}",
        )
        callback_answer.text = self.reserved()
        await replace_buttons(query, None)

    async def run(
        self,
        job: JobT,
        data: DataT,
        state: FSMContext,
        isolation: BaseEventIsolation,
        bot: Bot,
        n8n: N8NClient,
        settings: Settings,
        outbox: Outbox,
    ) -> None:
        try:
            launched = await self.launch(job, data, bot, n8n, settings)
        except Exception as error:
            # Whatever went wrong, the reserved credits must not stay taken.
            logger.opt(exception=error).error("{} job {} crashed", self.kind.name, job.request_id)
            await jobs.fail(self.kind, job, jobs.INTERNAL_ERROR)
            launched = self.crashed(data)
        token = ""  # the user left the wizard meanwhile: its buttons in the report are stale
        # The same lock the dispatcher takes for this user's updates.
        async with isolation.lock(state.key):
            if await state.get_state() == self.submitting.state:
                token = await self.settle(state, data, launched)
        for text, markup in self.report(job, data, launched, token, settings):
            await outbox.send(state.key.chat_id, text, markup)

    async def cancel_pressed(self, query: CallbackQuery, state: FSMContext) -> None:
        await cancel_and_say(query, state)

    @answer_after
    async def submitting_pressed(
        self, query: CallbackQuery, callback_answer: CallbackAnswer
    ) -> None:
        callback_answer.text = self.already_started()
