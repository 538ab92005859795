from aiogram import Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext

from bot.keyboards.menu import main_menu
from bot.routers.common import Event, reply
from bot.states import GenerateImages, TrainModel
from bot.views import common as views


def describe(state: str | None) -> str | None:
    if state is None:
        return None
    if state in TrainModel.__all_states_names__:
        return views.training_cancelled()
    if state in GenerateImages.__all_states_names__:
        return views.generation_cancelled()
    return views.cancelled()


async def cancel_and_say(event: Event, state: FSMContext) -> None:
    """Clear whatever wizard is running and say what was cancelled: /cancel, and the wizards'
    Cancel buttons, share this one handler."""
    cancelled = describe(await state.get_state())
    await state.clear()
    await reply(event, cancelled or views.nothing_to_cancel(), main_menu())


def create_router() -> Router:
    router = Router(name="cancel")
    router.message.register(cancel_and_say, Command("cancel"), StateFilter("*"))
    return router
