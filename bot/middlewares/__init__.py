"""Dispatcher middlewares, in the order they run for an update."""

from bot.middlewares.banned import BannedUserMiddleware
from bot.middlewares.dedup import UpdateDedupMiddleware
from bot.middlewares.i18n import UserLocaleMiddleware
from bot.middlewares.private import PrivateChatsOnlyMiddleware
from bot.middlewares.throttling import FloodMiddleware
from bot.middlewares.users import UserMiddleware

__all__ = [
    "BannedUserMiddleware",
    "FloodMiddleware",
    "PrivateChatsOnlyMiddleware",
    "UpdateDedupMiddleware",
    "UserLocaleMiddleware",
    "UserMiddleware",
]
