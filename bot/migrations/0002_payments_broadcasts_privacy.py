from tortoise import migrations
from tortoise.migrations import operations as ops
from bot.models.broadcasts import BroadcastStatus, RecipientStatus
from bot.models.payments import PaymentStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Broadcast',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('admin_id', fields.BigIntField()),
                ('nonce', fields.CharField(unique=True, max_length=32)),
                ('text', fields.TextField(unique=False)),
                ('status', fields.CharEnumField(default=BroadcastStatus.RUNNING, description='RUNNING: running\nDONE: done', enum_type=BroadcastStatus, max_length=16)),
                ('total', fields.IntField(default=0)),
                ('progress_chat_id', fields.BigIntField(null=True)),
                ('progress_message_id', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'broadcasts', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A message from an admin to every active user, delivered in the background.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BroadcastRecipient',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('broadcast', fields.ForeignKeyField('models.Broadcast', source_field='broadcast_id', db_constraint=True, to_field='id', related_name='recipients', on_delete=OnDelete.CASCADE)),
                ('telegram_id', fields.BigIntField()),
                ('status', fields.CharEnumField(default=RecipientStatus.PENDING, description='PENDING: pending\nSENDING: sending\nSENT: sent\nBLOCKED: blocked\nFAILED: failed', enum_type=RecipientStatus, max_length=16)),
            ],
            options={'table': 'broadcast_recipients', 'app': 'models', 'unique_together': (('broadcast', 'telegram_id'),), 'indexes': [Index(fields=['broadcast_id', 'status'])], 'pk_attr': 'id', 'table_description': "One user's copy of a broadcast: marked `sending` before the message, `sent` after."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Payment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='telegram_user_id', db_constraint=True, to_field='telegram_id', related_name='payments', on_delete=OnDelete.RESTRICT)),
                ('charge_id', fields.CharField(unique=True, max_length=255)),
                ('credits', fields.IntField()),
                ('stars', fields.IntField()),
                ('status', fields.CharEnumField(default=PaymentStatus.PAID, description='PAID: paid\nREFUNDED: refunded', enum_type=PaymentStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('refunded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'payments', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A Telegram Stars payment: one row per telegram_payment_charge_id, kept for accounting'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PendingModelDeletion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('model_id', fields.CharField(unique=True, max_length=128)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'pending_model_deletions', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A model of a deleted user that N8N has not confirmed deleting yet: retried by a'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='CreditEntry',
            name='note',
            field=fields.TextField(null=True, unique=False),
        ),
    ]
