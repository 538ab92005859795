"""The command list users see in Telegram's menu, registered per language with setMyCommands."""

from collections.abc import Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommandScopeAllPrivateChats, BotCommandScopeChat
from aiogram.utils.i18n import I18n
from loguru import logger

from bot.views.commands import admin_commands, user_commands


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
