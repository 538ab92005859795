"""Read side of the user's portrait models."""

from bot.models import PortraitModel


async def models_of(telegram_id: int) -> list[PortraitModel]:
    return await PortraitModel.filter(user_id=telegram_id).order_by("-created_at", "-id")
