from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class BroadcastStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"


class RecipientStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed; a crash right now may send this one message twice
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the user blocked the bot
    FAILED = "failed"


class Broadcast(Model):
    """A message from an admin to every active user, delivered in the background."""

    id = fields.IntField(primary_key=True)
    admin_id = fields.BigIntField()
    # The confirm button's nonce: a double tap or a second replica starts nothing twice.
    nonce = fields.CharField(max_length=32, unique=True)
    text = fields.TextField()  # HTML, as the admin wrote it
    status = fields.CharEnumField(BroadcastStatus, max_length=16, default=BroadcastStatus.RUNNING)
    total = fields.IntField(default=0)
    progress_chat_id = fields.BigIntField(null=True)
    progress_message_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "broadcasts"


class BroadcastRecipient(Model):
    """One user's copy of a broadcast: marked `sending` before the message, `sent` after."""

    id = fields.BigIntField(primary_key=True)
    broadcast: fields.ForeignKeyRelation[Broadcast] = fields.ForeignKeyField(
        "models.Broadcast", related_name="recipients", on_delete=fields.CASCADE
    )
    broadcast_id: int  # set by Tortoise
    # Not a foreign key: a user who deletes their data mid-broadcast simply gets nothing.
    telegram_id = fields.BigIntField()
    status = fields.CharEnumField(RecipientStatus, max_length=16, default=RecipientStatus.PENDING)

    class Meta:
        table = "broadcast_recipients"
        unique_together = (("broadcast", "telegram_id"),)
        indexes = (("broadcast_id", "status"),)
