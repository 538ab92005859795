"""The command list users see in Telegram's menu, registered per language with setMyCommands."""

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _


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
    ]


async def register_commands(bot: Bot, i18n: I18n) -> None:
    """Default (English) list plus one list per other language, for private chats."""
    scope = BotCommandScopeAllPrivateChats()
    for locale in i18n.available_locales:
        with i18n.context(), i18n.use_locale(locale):
            commands = user_commands()
        language_code = None if locale == i18n.default_locale else locale
        await bot.set_my_commands(commands, scope=scope, language_code=language_code)
