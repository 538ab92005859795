from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.models import RUNNING_MODEL_STATUSES, ModelStatus, PortraitModel
from bot.views import jobs as job_views


def status_label(status: ModelStatus) -> str:
    return {
        ModelStatus.PENDING: _("⏳ starting"),
        ModelStatus.TRAINING: _("🧠 training"),
        ModelStatus.READY: _("✅ ready"),
        ModelStatus.FAILED: _("❌ failed"),
        ModelStatus.EXPIRED: _("⌛ expired"),
    }[status]


def models_text(models: list[PortraitModel]) -> str:
    if not models:
        return _("You have no models yet. Send /train to create your first one.")
    lines = [
        f"• <b>{html.quote(model.name)}</b> — {status_label(model.status)}, "
        f"{model.created_at:%Y-%m-%d}"
        + (
            " · " + job_views.running_time(model.created_at, job_views.usual_training_time())
            if model.status in RUNNING_MODEL_STATUSES
            else ""
        )
        for model in models
    ]
    return _("<b>Your models</b>\n\n{models}").format(models="\n".join(lines))
