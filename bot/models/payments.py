from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from bot.models.users import User


class PaymentStatus(StrEnum):
    PAID = "paid"
    REFUNDED = "refunded"


class Payment(Model):
    """A Telegram Stars payment: one row per telegram_payment_charge_id, kept for accounting
    even after the user deletes their data (the row then points at an anonymous user)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User",
        related_name="payments",
        to_field="telegram_id",
        source_field="telegram_user_id",
        on_delete=fields.RESTRICT,
    )
    user_id: int  # the user's telegram_id (to_field), set by Tortoise
    charge_id = fields.CharField(max_length=255, unique=True)  # telegram_payment_charge_id
    credits = fields.IntField()
    stars = fields.IntField()
    status = fields.CharEnumField(PaymentStatus, max_length=16, default=PaymentStatus.PAID)
    created_at = fields.DatetimeField(auto_now_add=True)
    refunded_at = fields.DatetimeField(null=True)

    class Meta:
        table = "payments"
