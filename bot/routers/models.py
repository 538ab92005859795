from aiogram import F, Router, html
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.keyboards.menu import MenuAction, MenuCallback
from bot.models import ModelStatus, PortraitModel, User
from bot.services.generation import models_of


def status_label(status: ModelStatus) -> str:
    return {
        ModelStatus.PENDING: _("⏳ starting"),
        ModelStatus.TRAINING: _("🧠 training"),
        ModelStatus.READY: _("✅ ready"),
        ModelStatus.FAILED: _("❌ failed"),
        ModelStatus.EXPIRED: _("⌛ expired"),
    }[status]


def models_text(models: list[PortraitModel]) -> str:
    if not models:
        return _("You have no models yet. Send /train to create your first one.")
    lines = [
        f"• <b>{html.quote(model.name)}</b> — {status_label(model.status)}, "
        f"{model.created_at:%Y-%m-%d}"
        for model in models
    ]
    return _("<b>Your models</b>\n\n{models}").format(models="\n".join(lines))


async def models_command(message: Message, user: User) -> None:
    await message.answer(models_text(await models_of(user.telegram_id)))


async def models_button(query: CallbackQuery, user: User) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(models_text(await models_of(user.telegram_id)))


def create_router() -> Router:
    router = Router(name="models")
    router.message.register(models_command, Command("models"))
    router.callback_query.register(
        models_button, MenuCallback.filter(F.action == MenuAction.MODELS)
    )
    return router
