from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_payments_broadcasts_privacy')]

    initial = False

    operations = [
        ops.AddField(
            model_name='User',
            name='banned_when_erased',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='User',
            name='erased_key',
            field=fields.CharField(null=True, db_index=True, max_length=80),
        ),
    ]
