from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from bot.models.users import User


class ModelType(StrEnum):
    """Astria's classes of subject."""

    MAN = "man"
    WOMAN = "woman"
    BOY = "boy"
    GIRL = "girl"
    DOG = "dog"
    CAT = "cat"


class ModelStatus(StrEnum):
    PENDING = "pending"  # row created and credits reserved, N8N not answered yet
    TRAINING = "training"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"  # gone at Astria


class PromptStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


# A job in these states holds reserved credits and may still change: /delete and refunds wait.
RUNNING_MODEL_STATUSES = (ModelStatus.PENDING, ModelStatus.TRAINING)
RUNNING_PROMPT_STATUSES = (PromptStatus.PENDING, PromptStatus.PROCESSING)


class PortraitModel(Model):
    """A personal model trained on Astria (table `telegram_models`)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User",
        related_name="portrait_models",
        to_field="telegram_id",
        source_field="telegram_user_id",
        on_delete=fields.CASCADE,
    )
    user_id: int  # the user's telegram_id (to_field), set by Tortoise
    name = fields.TextField()
    model_id = fields.CharField(max_length=128, null=True, unique=True)  # NULL until N8N answers
    request_id = fields.UUIDField(unique=True)
    model_type = fields.CharEnumField(ModelType, max_length=16)
    status = fields.CharEnumField(ModelStatus, max_length=16, default=ModelStatus.PENDING)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    error = fields.TextField(null=True)

    class Meta:
        table = "telegram_models"


class Prompt(Model):
    """One generation job (table `telegram_prompts`)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User",
        related_name="prompts",
        to_field="telegram_id",
        source_field="telegram_user_id",
        on_delete=fields.CASCADE,
    )
    user_id: int  # the user's telegram_id (to_field), set by Tortoise
    model_id = fields.CharField(max_length=128)  # Astria's id of the model used, as in the seed
    prompt = fields.TextField()
    prompt_id = fields.CharField(max_length=128, null=True, unique=True)  # NULL until N8N answers
    request_id = fields.UUIDField(unique=True)
    status = fields.CharEnumField(PromptStatus, max_length=16, default=PromptStatus.PENDING)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    images: fields.Field[list[dict[str, str]] | None] = fields.JSONField(
        null=True
    )  # [{url, file_id}]; JSONB on PostgreSQL
    error = fields.TextField(null=True)
    # Set by whoever delivers the images (claimed when the job became ready); delivered_at
    # when the user was answered. A delivery that outlives its replica is picked up again.
    delivery_started_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "telegram_prompts"
