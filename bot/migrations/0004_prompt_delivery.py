from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.migrations.schema_editor.base import BaseSchemaEditor

async def mark_ready_jobs_delivered(apps: object, schema_editor: BaseSchemaEditor) -> None:
    """Jobs already ready were delivered (or given up on) before this column existed: the
    redelivery sweep must not send them again."""
    client = schema_editor.client
    await client.execute_script(
        "UPDATE telegram_prompts SET delivered_at = updated_at, "
        "delivery_started_at = updated_at WHERE status = 'ready'"
    )


class Migration(migrations.Migration):
    dependencies = [('models', '0003_erased_key')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Prompt',
            name='delivered_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Prompt',
            name='delivery_started_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(mark_ready_jobs_delivered),
    ]
