from tortoise import fields
from tortoise.models import Model


class PendingModelDeletion(Model):
    """A model of a deleted user that N8N has not confirmed deleting yet: retried by a
    periodic worker until it does. Holds Astria's model id only, nothing about the user."""

    id = fields.IntField(primary_key=True)
    model_id = fields.CharField(max_length=128, unique=True)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    next_attempt_at = fields.DatetimeField()

    class Meta:
        table = "pending_model_deletions"
