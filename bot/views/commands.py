"""The command list users see in Telegram's menu (and in /help), in the current language."""

from aiogram.types import BotCommand
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


def help_text() -> str:
    lines = [f"/{command.command} — {command.description}" for command in user_commands()]
    return _(
        "<b>What I can do</b>\n\n{commands}\n\nAnything else: /cancel stops what you started."
    ).format(commands="\n".join(lines))
