from aiogram import Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.utils.i18n import gettext as _

from bot.keyboards.menu import main_menu
from bot.routers.common import Event, reply
from bot.states import GenerateImages, TrainModel


def describe(state: str | None) -> str | None:
    if state is None:
        return None
    if state in TrainModel.__all_states_names__:
        return _("Model training set-up cancelled. Your photos were not sent anywhere.")
    if state in GenerateImages.__all_states_names__:
        return _("Portrait generation set-up cancelled. No credits were spent.")
    return _("Cancelled.")


async def cancel_and_say(event: Event, state: FSMContext) -> None:
    """Clear whatever wizard is running and say what was cancelled (command or button)."""
    cancelled = describe(await state.get_state())
    await state.clear()
    text = cancelled or _("There is nothing to cancel.")
    await reply(event, text, main_menu())


def create_router() -> Router:
    router = Router(name="cancel")
    router.message.register(cancel_and_say, Command("cancel"), StateFilter("*"))
    return router
