"""/start and the main menu."""

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.models import User


def greeting(user: User, *, returning: bool) -> str:
    name = html.quote(user.first_name or user.username or "")
    if returning:
        return _("Welcome back, {name}! What shall we do?").format(name=name)
    return _(
        "Hi, {name}! I turn your selfies into AI portraits.\n\n"
        "1. <b>Train</b> a personal model on 10–20 of your photos.\n"
        "2. <b>Generate</b> portraits of you from a prompt or a style.\n\n"
        "Your balance: <b>{credits}</b> credits."
    ).format(name=name, credits=user.credits)
