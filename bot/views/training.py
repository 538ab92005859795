from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.models import ModelType, PortraitModel
from bot.services.photos import PhotoProblem
from bot.services.training import NAME_MAX_LENGTH, NameProblem, PhotoBatch, PhotoFailure, PhotoItem
from bot.views import jobs as job_views
from bot.views.buttons import model_type_label
from bot.views.credits import with_shortfall


def name_problem(problem: NameProblem, max_length: int) -> str:
    return {
        NameProblem.EMPTY: _("The name cannot be empty. How shall we call your model?"),
        NameProblem.TOO_LONG: _(
            "That name is too long: at most {max_length} characters, please. Try a shorter one."
        ).format(max_length=max_length),
        NameProblem.NOT_PRINTABLE: _(
            "The name can only contain printable characters. Please send another one."
        ),
        NameProblem.TAKEN: _(
            "You already have a model with that name. Please choose another name."
        ),
    }[problem]


def photo_problem(problem: PhotoProblem) -> str:
    return {
        PhotoProblem.FILE_TOO_BIG: _("the file is larger than 20 MB"),
        PhotoProblem.NOT_AN_IMAGE: _("it is not an image I can read"),
        PhotoProblem.TOO_MANY_PIXELS: _("the image is too large (too many pixels)"),
        PhotoProblem.TOO_SMALL: _("it is too small: the short side must be at least 512 px"),
        PhotoProblem.DOWNLOAD: _("I could not download it from Telegram"),
    }[problem]


def photo_label(item: PhotoItem) -> str:
    """How a photo is named in reports: its file name, else its place in its album."""
    if item.is_document:
        return item.file_name or _("This file")
    if item.number:
        return _("Photo {number}").format(number=item.number)
    return _("This photo")


def photo_guidance(min_photos: int, max_photos: int) -> str:
    return _(
        "Now send {min_photos}–{max_photos} photos of the person (or pet):\n"
        "• one subject, the face clearly visible;\n"
        "• different backgrounds, angles and expressions;\n"
        "• no sunglasses, no other people, no heavy filters.\n\n"
        "Send them as photos or as files, one by one or as albums."
    ).format(min_photos=min_photos, max_photos=max_photos)


def progress(total: int, min_photos: int, max_photos: int) -> str:
    line = _("Photos: {total}/{max_photos}.").format(total=total, max_photos=max_photos)
    if total < min_photos:
        return (
            line
            + " "
            + _("Send at least {missing} more to start training.").format(
                missing=min_photos - total
            )
        )
    if total < max_photos:
        return line + " " + _("You can start training now or add more photos.")
    return line + " " + _("That is the maximum: you can start training.")


def batch_report(batch: PhotoBatch, min_photos: int, max_photos: int) -> str:
    lines: list[str] = []
    if batch.accepted:
        lines.append(_("✅ Accepted: {count}.").format(count=batch.accepted))
    for failure in batch.refused:
        lines.append(
            _("❌ {label} refused: {reason}.").format(
                label=html.quote(photo_label(failure.item)), reason=photo_problem(failure.problem)
            )
        )
    if batch.duplicates:
        lines.append(_("♻️ Already received, ignored: {count}.").format(count=batch.duplicates))
    if batch.over_limit:
        lines.append(
            _("✋ Not added, the limit of {max_photos} is reached: {count}.").format(
                max_photos=max_photos, count=batch.over_limit
            )
        )
    lines.append("")
    lines.append(progress(batch.total, min_photos, max_photos))
    return "\n".join(lines)


def summary(name: str, model_type: ModelType, photos: int, cost: int, balance: int) -> str:
    text = _(
        "<b>Ready to train</b>\n\n"
        "Name: <b>{name}</b>\nType: {model_type}\nPhotos: {photos}\n"
        "Cost: {cost} credits\nYour balance: {balance} credits"
    ).format(
        name=html.quote(name),
        model_type=model_type_label(model_type),
        photos=photos,
        cost=cost,
        balance=balance,
    )
    return with_shortfall(text, cost, balance)


def failures(items: list[PhotoFailure]) -> str:
    return "\n".join(
        _("❌ {label}: {reason}.").format(
            label=html.quote(photo_label(item.item)), reason=photo_problem(item.problem)
        )
        for item in items
    )


def started(name: str) -> str:
    return _(
        "🧠 Training of <b>{name}</b> has started. It usually takes 20–40 minutes; "
        "I will message you when it is ready."
    ).format(name=html.quote(name))


def too_few_after_check(kept: int, min_photos: int) -> str:
    return _(
        "Only {kept} photos are usable, fewer than the {min_photos} needed, so training was not "
        "started and your credits were returned. Send a few more photos, then start again."
    ).format(kept=kept, min_photos=min_photos)


def not_accepted() -> str:
    return _(
        "😕 The training service did not accept the job right now, so your credits were "
        "returned. Your photos are kept: press “Try again” in a moment."
    )


def ready(model: PortraitModel) -> str:
    return _("✅ Your model <b>{name}</b> is ready! Let's create some portraits.").format(
        name=html.quote(model.name)
    )


def failed(model: PortraitModel) -> str:
    reason = job_views.reason(model.error)
    return _(
        "❌ Training of <b>{name}</b> failed: {reason}.\nYour credits were returned. "
        "You can try again with other photos: /train"
    ).format(name=html.quote(model.name), reason=html.quote(reason))


def ask_name() -> str:
    return _(
        "Let's train your personal model. How shall we call it? (up to {max_length} characters)"
    ).format(max_length=NAME_MAX_LENGTH)


def ask_model_type() -> str:
    return _("Who is in the photos?")


def name_not_text() -> str:
    return _("Please send the model's name as a text message.")


def not_an_image() -> str:
    return _("That file is not an image. Please send photos (JPEG, PNG, WebP or HEIC).")


def arrived_too_late(count: int) -> str:
    return _("These {count} photos arrived after you moved on, so they were not added.").format(
        count=count
    )


def waiting_for_photos() -> str:
    return _("I am waiting for photos now. Send photos or image files, or press a button below.")


def photos_cleared() -> str:
    return _("Photos cleared.")


def too_few_photos(min_photos: int) -> str:
    return _("Send at least {min_photos} photos first.").format(min_photos=min_photos)


def already_started() -> str:
    return _("This training is already being started.")


def reserved() -> str:
    return _("Credits reserved. Preparing your photos…")
