"""The last router: what nothing else took. Every stale button press ends here, so a stale
press is answered the same way everywhere (see bot.tokens)."""

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import BroadcastCallback, PrivacyCallback
from bot.keyboards.menu import main_menu
from bot.routers.common import answer_after
from bot.services import broadcasts
from bot.views import broadcast as broadcast_views
from bot.views import common as views
from bot.views import privacy as privacy_views


async def unknown_message(message: Message) -> None:
    await message.answer(views.not_understood(), reply_markup=main_menu())


@answer_after
async def stale_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    data = query.data or ""
    if data.startswith(f"{PrivacyCallback.__prefix__}:"):
        # Deleting data is serious: say plainly that this question no longer counts.
        callback_answer.text, callback_answer.show_alert = privacy_views.stale_text(), True
    elif await broadcast_started(data, query.from_user.id):
        callback_answer.text = broadcast_views.already_started()
    else:
        callback_answer.text = views.stale_button()


async def broadcast_started(data: str, admin_id: int) -> bool:
    """A Send button of a preview whose broadcast this admin already started."""
    if not data.startswith(f"{BroadcastCallback.__prefix__}:"):
        return False
    try:
        token = BroadcastCallback.unpack(data).token
    except (TypeError, ValueError):  # forged or from an older version of the bot
        return False
    return await broadcasts.started_by(token, admin_id)


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(unknown_message)
    router.callback_query.register(stale_button)
    return router
