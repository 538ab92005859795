from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from bot.models.jobs import ModelStatus, ModelType, PromptStatus
from bot.models.ledger import LedgerReason
from bot.models.users import UserStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.constraints import CheckConstraint

async def enforce_non_negative_credits(apps: object, schema_editor: BaseSchemaEditor) -> None:
    """CreateModel does not emit Meta.constraints (tortoise 1.1), so add the CHECK here.

    SQLite cannot ALTER TABLE ... ADD CONSTRAINT; triggers give the same guarantee there.
    """
    client = schema_editor.client
    if schema_editor.DIALECT == "sqlite":
        for event in ("INSERT", "UPDATE"):
            await client.execute_script(
                f"CREATE TRIGGER telegram_users_credits_nonnegative_{event.lower()} "
                f"BEFORE {event} ON telegram_users WHEN NEW.credits < 0 "
                "BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: "
                "telegram_users_credits_nonnegative'); END;"
            )
        return
    await client.execute_script(
        "ALTER TABLE telegram_users ADD CONSTRAINT telegram_users_credits_nonnegative "
        "CHECK (credits >= 0)"
    )


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('telegram_id', fields.BigIntField(unique=True)),
                ('username', fields.TextField(null=True, unique=False)),
                ('first_name', fields.TextField(null=True, unique=False)),
                ('last_name', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_active', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('status', fields.CharEnumField(default=UserStatus.ACTIVE, description='ACTIVE: active\nBLOCKED: blocked\nBANNED: banned', enum_type=UserStatus, max_length=16)),
                ('credits', fields.IntField(default=0)),
                ('language', fields.CharField(null=True, max_length=8)),
                ('language_code', fields.CharField(null=True, max_length=16)),
            ],
            options={'table': 'telegram_users', 'app': 'models', 'constraints': [CheckConstraint(check='credits >= 0', name='telegram_users_credits_nonnegative')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CreditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='telegram_user_id', db_constraint=True, to_field='telegram_id', related_name='ledger', on_delete=OnDelete.RESTRICT)),
                ('delta', fields.IntField()),
                ('reason', fields.CharEnumField(description='WELCOME: welcome\nRESERVE_TRAINING: reserve_training\nRESERVE_GENERATION: reserve_generation\nRELEASE: release\nPURCHASE: purchase\nREFUND: refund\nADMIN_GRANT: admin_grant\nN8N_GRANT: n8n_grant', enum_type=LedgerReason, max_length=32)),
                ('reference', fields.CharField(max_length=128)),
                ('balance_after', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'credit_ledger', 'app': 'models', 'unique_together': (('reason', 'reference'),), 'pk_attr': 'id', 'table_description': "One movement of a user's credits: (reason, reference) is unique, so a retry is a no-op."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PortraitModel',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='telegram_user_id', db_constraint=True, to_field='telegram_id', related_name='portrait_models', on_delete=OnDelete.CASCADE)),
                ('name', fields.TextField(unique=False)),
                ('model_id', fields.CharField(null=True, unique=True, max_length=128)),
                ('request_id', fields.UUIDField(unique=True)),
                ('model_type', fields.CharEnumField(description='MAN: man\nWOMAN: woman\nBOY: boy\nGIRL: girl\nDOG: dog\nCAT: cat', enum_type=ModelType, max_length=16)),
                ('status', fields.CharEnumField(default=ModelStatus.PENDING, description='PENDING: pending\nTRAINING: training\nREADY: ready\nFAILED: failed\nEXPIRED: expired', enum_type=ModelStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'telegram_models', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A personal model trained on Astria (table `telegram_models`).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Prompt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='telegram_user_id', db_constraint=True, to_field='telegram_id', related_name='prompts', on_delete=OnDelete.CASCADE)),
                ('model_id', fields.CharField(max_length=128)),
                ('prompt', fields.TextField(unique=False)),
                ('prompt_id', fields.CharField(null=True, unique=True, max_length=128)),
                ('request_id', fields.UUIDField(unique=True)),
                ('status', fields.CharEnumField(default=PromptStatus.PENDING, description='PENDING: pending\nPROCESSING: processing\nREADY: ready\nFAILED: failed', enum_type=PromptStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('images', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'telegram_prompts', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One generation job (table `telegram_prompts`).'},
            bases=['Model'],
        ),
        ops.RunPython(enforce_non_negative_credits),
    ]
