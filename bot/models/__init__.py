"""Tortoise models. Table and column names follow the seed design (section 4)."""

from bot.models.jobs import ModelStatus, ModelType, PortraitModel, Prompt, PromptStatus
from bot.models.ledger import CreditEntry, LedgerReason
from bot.models.users import User, UserStatus

__all__ = [
    "CreditEntry",
    "LedgerReason",
    "ModelStatus",
    "ModelType",
    "PortraitModel",
    "Prompt",
    "PromptStatus",
    "User",
    "UserStatus",
]
