from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import I18n

from bot.callbacks import LanguageCallback, MenuAction, MenuCallback
from bot.keyboards.language import language_keyboard
from bot.keyboards.menu import main_menu
from bot.models import User
from bot.routers.common import Event, reply
from bot.services import users
from bot.views import language as views


async def choose_language(event: Event, i18n: I18n) -> None:
    await reply(event, views.choose(), language_keyboard(i18n.current_locale))


async def offered(query: CallbackQuery, callback_data: LanguageCallback, i18n: I18n) -> bool:
    return callback_data.code in i18n.available_locales


async def pick_language(
    query: CallbackQuery, callback_data: LanguageCallback, user: User, i18n: I18n
) -> None:
    await users.set_language(user, callback_data.code)
    with i18n.use_locale(callback_data.code):
        await reply(query, views.chosen(), main_menu())


def create_router() -> Router:
    router = Router(name="language")
    router.message.register(choose_language, Command("language"))
    router.callback_query.register(
        choose_language, MenuCallback.filter(F.action == MenuAction.LANGUAGE)
    )
    # A language no longer offered is a stale button: the fallback answers it.
    router.callback_query.register(pick_language, LanguageCallback.filter(), offered)
    return router
