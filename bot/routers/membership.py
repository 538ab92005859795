from aiogram import Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from bot.models import User
from bot.services import users


async def bot_blocked(event: ChatMemberUpdated) -> None:
    await users.mark_blocked(event.from_user.id)


async def bot_unblocked(event: ChatMemberUpdated, user: User) -> None:
    await users.mark_active(user)


def create_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member.register(
        bot_blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED)
    )
    router.my_chat_member.register(
        bot_unblocked, ChatMemberUpdatedFilter(member_status_changed=MEMBER)
    )
    return router
