from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.keyboards.language import LanguageCallback, language_keyboard
from bot.keyboards.menu import MenuAction, MenuCallback, main_menu
from bot.models import User
from bot.services import users


async def language_command(message: Message, i18n: I18n) -> None:
    await message.answer(
        _("Choose your language:"), reply_markup=language_keyboard(i18n.current_locale)
    )


async def language_button(query: CallbackQuery, i18n: I18n) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(
            _("Choose your language:"), reply_markup=language_keyboard(i18n.current_locale)
        )


async def pick_language(
    query: CallbackQuery, callback_data: LanguageCallback, user: User, i18n: I18n
) -> None:
    if callback_data.code not in i18n.available_locales:
        await query.answer(_("This button is no longer active."))
        return
    await users.set_language(user, callback_data.code)
    with i18n.use_locale(callback_data.code):
        await query.answer()
        if query.message is not None:
            await query.message.answer(
                _("Done: I will speak English now."), reply_markup=main_menu()
            )


def create_router() -> Router:
    router = Router(name="language")
    router.message.register(language_command, Command("language"))
    router.callback_query.register(
        language_button, MenuCallback.filter(F.action == MenuAction.LANGUAGE)
    )
    router.callback_query.register(pick_language, LanguageCallback.filter())
    return router
