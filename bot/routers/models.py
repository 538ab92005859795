from aiogram import F, Router
from aiogram.filters import Command

from bot.callbacks import MenuAction, MenuCallback
from bot.models import User
from bot.routers.common import Event, reply
from bot.services.generation import models_of
from bot.views.models import models_text


async def show_models(event: Event, user: User) -> None:
    await reply(event, models_text(await models_of(user.telegram_id)))


def create_router() -> Router:
    router = Router(name="models")
    router.message.register(show_models, Command("models"))
    router.callback_query.register(show_models, MenuCallback.filter(F.action == MenuAction.MODELS))
    return router
