from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model


class UserStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"  # the user blocked the bot (my_chat_member: kicked)
    BANNED = "banned"  # set by an admin; nothing the user does overwrites it
    # The anonymous holder of a deleted user's payments and ledger (telegram_id is opaque).
    ERASED = "erased"


class User(Model):
    id = fields.IntField(primary_key=True)
    telegram_id = fields.BigIntField(unique=True)
    username = fields.TextField(null=True)
    first_name = fields.TextField(null=True)
    last_name = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_active = fields.DatetimeField(auto_now_add=True)
    status = fields.CharEnumField(UserStatus, max_length=16, default=UserStatus.ACTIVE)
    credits = fields.IntField(default=0)
    # Chosen with /language; NULL means "follow the Telegram client's language".
    language = fields.CharField(max_length=8, null=True)
    # Last language_code seen from the Telegram client; used for messages sent outside an update.
    language_code = fields.CharField(max_length=16, null=True)
    # On an erased row only: a keyed hash of the deleted person's id (services/users.
    # erased_reference), so someone who comes back gets no second welcome bonus and no way
    # around a ban, while the row itself names nobody.
    erased_key = fields.CharField(max_length=80, null=True, db_index=True)
    # db_default: rows that exist when the column is added need a value.
    banned_when_erased = fields.BooleanField(default=False, db_default=False)

    class Meta:
        table = "telegram_users"
        constraints = (
            CheckConstraint(check="credits >= 0", name="telegram_users_credits_nonnegative"),
        )

    def __str__(self) -> str:
        return f"User(telegram_id={self.telegram_id})"
