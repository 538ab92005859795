"""Tortoise models. Table and column names follow the seed design (section 4)."""

from bot.models.broadcasts import Broadcast, BroadcastRecipient, BroadcastStatus, RecipientStatus
from bot.models.jobs import (
    RUNNING_MODEL_STATUSES,
    RUNNING_PROMPT_STATUSES,
    ModelStatus,
    ModelType,
    PortraitModel,
    Prompt,
    PromptStatus,
)
from bot.models.ledger import CreditEntry, LedgerReason
from bot.models.payments import Payment, PaymentStatus
from bot.models.privacy import PendingModelDeletion
from bot.models.users import User, UserStatus

__all__ = [
    "RUNNING_MODEL_STATUSES",
    "RUNNING_PROMPT_STATUSES",
    "Broadcast",
    "BroadcastRecipient",
    "BroadcastStatus",
    "CreditEntry",
    "LedgerReason",
    "ModelStatus",
    "ModelType",
    "Payment",
    "PaymentStatus",
    "PendingModelDeletion",
    "PortraitModel",
    "Prompt",
    "PromptStatus",
    "RecipientStatus",
    "User",
    "UserStatus",
]
