from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from bot.models.users import User


class LedgerReason(StrEnum):
    WELCOME = "welcome"
    RESERVE_TRAINING = "reserve_training"
    RESERVE_GENERATION = "reserve_generation"
    RELEASE = "release"
    PURCHASE = "purchase"
    REFUND = "refund"
    ADMIN_GRANT = "admin_grant"
    N8N_GRANT = "n8n_grant"


class CreditEntry(Model):
    """One movement of a user's credits: (reason, reference) is unique, so a retry is a no-op."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User",
        related_name="ledger",
        to_field="telegram_id",
        source_field="telegram_user_id",
        # Money history outlives a user row: deleting a user who has ledger entries is refused.
        on_delete=fields.RESTRICT,
    )
    user_id: int  # the user's telegram_id (to_field), set by Tortoise
    delta = fields.IntField()
    reason = fields.CharEnumField(LedgerReason, max_length=32)
    reference = fields.CharField(max_length=128)
    balance_after = fields.IntField()
    # Why, in words (an admin's or N8N's reason), shown to the user in /credits.
    note = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "credit_ledger"
        unique_together = (("reason", "reference"),)
