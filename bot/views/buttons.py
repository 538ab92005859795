"""Button labels: keyboards lay the buttons out, the words come from here."""

from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuAction
from bot.config import CreditPackage
from bot.models import ModelType

# --- Shared -----------------------------------------------------------------------------------


def cancel() -> str:
    return _("✖️ Cancel")


def menu() -> str:
    return _("☰ Menu")


def credits() -> str:
    return _("💳 Credits")


def train() -> str:
    return _("🧠 Train a model")


def generate() -> str:
    return _("🎨 Generate")


def try_again() -> str:
    return _("🔁 Try again")


def menu_entries() -> dict[MenuAction, str]:
    """The main menu's buttons, in their order (MENU itself is not one of them)."""
    return {
        MenuAction.TRAIN: train(),
        MenuAction.GENERATE: generate(),
        MenuAction.MODELS: _("🗂 My models"),
        MenuAction.CREDITS: credits(),
        MenuAction.LANGUAGE: _("🌐 Language"),
        MenuAction.HELP: _("❓ Help"),
    }


# --- Language ---------------------------------------------------------------------------------


def language(name: str, *, chosen: bool) -> str:
    """A language under its own name, ticked when it is the one in use."""
    return f"✅ {name}" if chosen else name


# --- Credits ----------------------------------------------------------------------------------


def buy_credits() -> str:
    return _("⭐ Buy credits")


def package(item: CreditPackage) -> str:
    return _("{credits} credits — {stars} ⭐").format(credits=item.credits, stars=item.stars)


# --- Training wizard --------------------------------------------------------------------------


def model_type_label(model_type: ModelType) -> str:
    return {
        ModelType.MAN: _("👨 Man"),
        ModelType.WOMAN: _("👩 Woman"),
        ModelType.BOY: _("👦 Boy"),
        ModelType.GIRL: _("👧 Girl"),
        ModelType.DOG: _("🐶 Dog"),
        ModelType.CAT: _("🐱 Cat"),
    }[model_type]


def start_training() -> str:
    return _("🚀 Start training")


def clear_photos() -> str:
    return _("🗑 Clear photos")


def confirm_and_pay() -> str:
    return _("✅ Confirm and pay")


def back_to_photos() -> str:
    return _("⬅️ Back to photos")


# --- Generation wizard ------------------------------------------------------------------------


def previous_page() -> str:
    return _("◀️ Back")


def next_page() -> str:
    return _("More ▶️")


def preset(name: str) -> str:
    """A style's name: it lives in bot/data/presets.json, and is translated like any text."""
    return _(name)


def generate_now() -> str:
    """The summary's Generate (the menu's entry is `generate`)."""
    return _("✅ Generate")


def change_prompt() -> str:
    return _("✏️ Change the prompt")


def more_like_this() -> str:
    return _("🔁 More like this")


def new_prompt() -> str:
    return _("✏️ New prompt")


def resend(number: int) -> str:
    return _("🖼 Resend #{number}").format(number=number)


# --- Privacy ----------------------------------------------------------------------------------


def delete_my_data() -> str:
    return _("🗑 Delete my data")


def confirm_delete() -> str:
    return _("🗑 Yes, delete everything")


def keep_my_data() -> str:
    return _("✖️ No, keep my data")


# --- Broadcast --------------------------------------------------------------------------------


def send_to_everyone() -> str:
    return _("✅ Send to everyone")
