"""Notices about a user's credits and payments that nobody asked for at that moment: a grant
(N8N or an admin), a refund, and payment-support requests reaching the admins."""

from __future__ import annotations

from collections.abc import Iterable

from bot.callbacks import MenuAction
from bot.keyboards.menu import menu_button
from bot.models import Payment, User
from bot.outbound.outbox import Outbox
from bot.services.admin import Grant as AdminGrant
from bot.services.payments import Refund
from bot.views import admin as admin_views
from bot.views import credits as credits_views


async def granted_by_workflow(
    outbox: Outbox, telegram_id: int, amount: int, reason: str | None, balance: int
) -> None:
    await outbox.notify_id(
        telegram_id,
        lambda: (
            credits_views.grant_notice(amount, reason, balance),
            menu_button(MenuAction.CREDITS),
        ),
    )


async def granted_by_admin(outbox: Outbox, result: AdminGrant, note: str | None) -> None:
    if result.applied and result.delta:
        await outbox.notify_id(
            result.telegram_id, lambda: (admin_views.grant_notice(result, note), None)
        )


async def refunded(outbox: Outbox, result: Refund) -> None:
    await outbox.notify_id(result.telegram_id, lambda: (credits_views.refund_notice(result), None))


async def support_request(
    outbox: Outbox,
    admin_ids: Iterable[int],
    user: User,
    request: str,
    recent: list[Payment],
) -> bool:
    """To every admin, each in their language; True when at least one got it."""
    name = user.first_name or user.username or str(user.telegram_id)
    delivered = False
    for admin_id in sorted(admin_ids):
        # An admin who never opened the bot has no row: their copy is in the default language.
        admin = await User.get_or_none(telegram_id=admin_id) or User(telegram_id=admin_id)
        delivered |= await outbox.notify(
            admin,
            lambda: (
                credits_views.support_request_for_admins(user.telegram_id, name, request, recent),
                None,
            ),
        )
    return delivered
