from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.keyboards.menu import main_menu


async def unknown_message(message: Message) -> None:
    await message.answer(
        _("I did not understand that. Choose an action below or send /help."),
        reply_markup=main_menu(),
    )


async def stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer active."), show_alert=False)


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(unknown_message)
    router.callback_query.register(stale_button)
    return router
