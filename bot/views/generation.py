from datetime import datetime

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.models import RUNNING_PROMPT_STATUSES, ModelStatus, PortraitModel, Prompt, PromptStatus
from bot.services.generation import PROMPT_MAX_LENGTH, PROMPT_MIN_LENGTH
from bot.views import jobs as job_views
from bot.views.credits import with_shortfall
from bot.views.models import status_label as model_status_label

SUMMARY_PROMPT_LENGTH = 300
CAPTION_PROMPT_LENGTH = 1000  # leaves room in Telegram's 1024-character caption


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def no_ready_models(models: list[PortraitModel]) -> str:
    if not models:
        return _("You have no models yet. Train one first: /train")
    training = [m for m in models if m.status in (ModelStatus.PENDING, ModelStatus.TRAINING)]
    if training:
        return _(
            "Your model <b>{name}</b> is not ready yet (status: {status}). I will message you "
            "when it is; meanwhile you can train another one: /train"
        ).format(name=html.quote(training[0].name), status=model_status_label(training[0].status))
    return _("None of your models is ready (they failed or expired). Train a new one: /train")


def choose_model() -> str:
    return _("Which model shall I use?")


def ask_prompt(model: PortraitModel) -> str:
    return _(
        "Model <b>{name}</b>. Now describe the portrait you want ({min}–{max} characters), "
        "or pick a style below."
    ).format(name=html.quote(model.name), min=PROMPT_MIN_LENGTH, max=PROMPT_MAX_LENGTH)


def prompt_problem(too_short: bool) -> str:
    if too_short:
        return _("That is too short: describe the portrait in at least {min} characters.").format(
            min=PROMPT_MIN_LENGTH
        )
    return _("That is too long: at most {max} characters, please.").format(max=PROMPT_MAX_LENGTH)


def summary(model: PortraitModel, prompt: str, images: int, cost: int, balance: int) -> str:
    text = _(
        "<b>Ready to generate</b>\n\nModel: <b>{model}</b>\nPrompt: {prompt}\nImages: {images}\n"
        "Cost: {cost} credits\nYour balance: {balance} credits"
    ).format(
        model=html.quote(model.name),
        prompt=html.quote(shorten(prompt, SUMMARY_PROMPT_LENGTH)),
        images=images,
        cost=cost,
        balance=balance,
    )
    return with_shortfall(text, cost, balance)


def started() -> str:
    return _("🎨 Generating your portraits. It usually takes a minute or two.")


def not_accepted() -> str:
    return _(
        "😕 The image service did not accept the job right now, so your credits were returned. "
        "Press “Try again” in a moment."
    )


def model_expired(model: PortraitModel) -> str:
    return _(
        "⌛ The model <b>{name}</b> is no longer available at the image service, so your credits "
        "were returned. Train a new one: /train"
    ).format(name=html.quote(model.name))


def caption(prompt: str) -> str:
    return "🎨 " + html.quote(shorten(prompt, CAPTION_PROMPT_LENGTH))


def undelivered() -> str:
    return _(
        "Your portraits are ready, but I could not send them just now. Get them with /history."
    )


def delivered() -> str:
    return _("Here are your portraits. What next?")


def failed(job: Prompt) -> str:
    reason = job_views.reason(job.error)
    return _(
        "❌ The generation failed: {reason}.\nYour credits were returned. Try again: /generate"
    ).format(reason=html.quote(reason))


def status_label(status: PromptStatus) -> str:
    return {
        PromptStatus.PENDING: _("⏳ starting"),
        PromptStatus.PROCESSING: _("🎨 in progress"),
        PromptStatus.READY: _("✅ ready"),
        PromptStatus.FAILED: _("❌ failed"),
    }[status]


def history(jobs: list[Prompt], names: dict[str, str]) -> str:
    if not jobs:
        return _("You have not generated anything yet: /generate")
    lines = []
    for number, job in enumerate(jobs, start=1):
        created: datetime = job.created_at
        lines.append(
            f"{number}. {html.quote(shorten(job.prompt, 80))}\n"
            f"   {html.quote(names.get(job.model_id, job.model_id))} · "
            f"{status_label(job.status)} · {created:%Y-%m-%d %H:%M}"
            + (
                " · " + job_views.running_time(created, job_views.usual_generation_time())
                if job.status in RUNNING_PROMPT_STATUSES
                else ""
            )
        )
    return _("<b>Your last generations</b>\n\n{items}").format(items="\n".join(lines))


def model_not_available() -> str:
    return _("This model is not available.")


def prompt_not_text() -> str:
    return _("Please describe the portrait in a text message, or pick a style.")


def already_started() -> str:
    return _("This generation is already being started.")


def reserved() -> str:
    return _("Credits reserved. Starting…")
