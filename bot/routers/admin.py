"""Admin commands (ADMIN_TELEGRAM_ID only): /stats, /grant, /ban, /unban, /refund.
Everyone else falls through to the fallback: nothing hints that these exist."""

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.config import Settings
from bot.filters import IsAdmin
from bot.outbound import Outbox
from bot.outbound import credits as credit_news
from bot.services import admin, payments
from bot.services.credits import UnknownUser
from bot.views import admin as views


async def stats(message: Message) -> None:
    await message.answer(views.stats_text(await admin.statistics()))


async def grant(message: Message, command: CommandObject, outbox: Outbox) -> None:
    request = views.parse_grant(command.args)
    if request is None:
        await message.answer(views.grant_usage())
        return
    telegram_id, amount, note = request
    reference = f"{message.chat.id}:{message.message_id}"  # this very command, once
    try:
        result = await admin.grant(telegram_id, amount, reference, note)
    except UnknownUser:
        await message.answer(views.unknown_user(telegram_id))
        return
    await message.answer(views.grant_done(result, note))
    await credit_news.granted_by_admin(outbox, result, note)


async def ban(message: Message, command: CommandObject, settings: Settings) -> None:
    await set_banned(message, command, settings, banned=True)


async def unban(message: Message, command: CommandObject, settings: Settings) -> None:
    await set_banned(message, command, settings, banned=False)


async def set_banned(
    message: Message, command: CommandObject, settings: Settings, *, banned: bool
) -> None:
    telegram_id = views.parse_user_id(command.args)
    if telegram_id is None:
        await message.answer(views.ban_usage(banned))
        return
    if banned and telegram_id in settings.admin_ids:
        await message.answer(views.cannot_ban_admin())
        return
    try:
        changed = await admin.set_banned(telegram_id, banned)
    except admin.UnknownTarget:
        await message.answer(views.unknown_user(telegram_id))
        return
    await message.answer(views.ban_done(telegram_id, banned, changed))


async def refund(message: Message, command: CommandObject, bot: Bot, outbox: Outbox) -> None:
    charge_id = (command.args or "").strip()
    if not charge_id or " " in charge_id:
        await message.answer(views.refund_usage())
        return
    try:
        result = await payments.refund(bot, charge_id)
    except payments.RefundFailed as failure:
        await message.answer(views.refund_failed(charge_id, failure))
        return
    await message.answer(views.refund_done(charge_id, result))
    await credit_news.refunded(outbox, result)


def create_router() -> Router:
    router = Router(name="admin")
    router.message.filter(IsAdmin())
    router.message.register(stats, Command("stats"))
    router.message.register(grant, Command("grant"))
    router.message.register(ban, Command("ban"))
    router.message.register(unban, Command("unban"))
    router.message.register(refund, Command("refund"))
    return router
