"""The command list users see in Telegram's menu, registered per language with setMyCommands."""

from collections.abc import Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from loguru import logger


def user_commands() -> list[BotCommand]:
    return [
        BotCommand(command="start", description=_("Main menu")),
        BotCommand(command="train", description=_("Train a personal model on your photos")),
        BotCommand(command="generate", description=_("Generate portraits with your model")),
        BotCommand(command="models", description=_("Your models and their status")),
        BotCommand(command="history", description=_("Your last generations")),
        BotCommand(command="credits", description=_("Balance and prices")),
        BotCommand(command="language", description=_("Change the language")),
        BotCommand(command="cancel", description=_("Stop what you started")),
        BotCommand(command="help", description=_("What I can do")),
        BotCommand(command="privacy", description=_("What is stored about you")),
        BotCommand(command="delete", description=_("Delete your data")),
        BotCommand(command="paysupport", description=_("Help with payments and refunds")),
    ]


def admin_commands() -> list[BotCommand]:
    return [
        BotCommand(command="stats", description=_("Admin: statistics")),
        BotCommand(command="grant", description=_("Admin: give or take credits")),
        BotCommand(command="ban", description=_("Admin: ban a user")),
        BotCommand(command="unban", description=_("Admin: lift a ban")),
        BotCommand(command="refund", description=_("Admin: refund a Stars payment")),
        BotCommand(command="broadcast", description=_("Admin: message every user")),
    ]


async def register_commands(bot: Bot, i18n: I18n, admin_ids: Iterable[int] = ()) -> None:
    """Default (English) list plus one list per other language, for private chats; admins
    get theirs in their own chat only, so nobody else sees that admin commands exist."""
    for locale in i18n.available_locales:
        with i18n.context(), i18n.use_locale(locale):
            commands = user_commands()
            for_admins = commands + admin_commands()
        language_code = None if locale == i18n.default_locale else locale
        await bot.set_my_commands(
            commands, scope=BotCommandScopeAllPrivateChats(), language_code=language_code
        )
        for admin_id in admin_ids:
            try:
                await bot.set_my_commands(
                    for_admins,
                    scope=BotCommandScopeChat(chat_id=admin_id),
                    language_code=language_code,
                )
            except TelegramAPIError as error:  # e.g. the admin has not opened the bot yet
                logger.warning("could not set admin commands for {}: {}", admin_id, error)
