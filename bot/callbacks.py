"""Every kind of button the bot makes: one `CallbackData` class each (packed data fits Telegram's
64 bytes). Buttons of a flow that can go stale carry that flow's current token (`bot.tokens`)."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.models import ModelType


class Flow(StrEnum):
    """A conversation whose buttons carry a token: only the latest one's buttons act."""

    TRAIN = "train"  # one token per run of the training wizard
    GENERATE = "generate"  # one per summary: an earlier summary's Generate is stale
    DELETE = "delete"  # one per /delete question, spent by the first answer
    BROADCAST = "broadcast"  # one per preview; also the broadcast's idempotency key


class MenuAction(StrEnum):
    TRAIN = "train"
    GENERATE = "generate"
    MODELS = "models"
    CREDITS = "credits"
    LANGUAGE = "language"
    HELP = "help"
    MENU = "menu"  # show the main menu again


class MenuCallback(CallbackData, prefix="menu"):
    action: MenuAction


class LanguageCallback(CallbackData, prefix="lang"):
    code: str


class BuyCallback(CallbackData, prefix="buy"):
    """A package to buy; 0 credits means "show the packages"."""

    credits: int


# --- Training wizard --------------------------------------------------------------------------


class ModelTypeCallback(CallbackData, prefix="mtype"):
    model_type: ModelType
    token: str


class TrainAction(StrEnum):
    START = "start"  # photos → confirmation
    CLEAR = "clear"
    CANCEL = "cancel"
    CONFIRM = "confirm"  # reserve credits and send the job
    BACK = "back"  # confirmation → photos


class TrainCallback(CallbackData, prefix="train"):
    action: TrainAction
    token: str


# --- Generation wizard ------------------------------------------------------------------------


class ModelChoice(CallbackData, prefix="gmodel"):
    model: int  # our row id


class ModelPage(CallbackData, prefix="gpage"):
    page: int


class PresetChoice(CallbackData, prefix="gpreset"):
    preset: str


class GenerateAction(StrEnum):
    CONFIRM = "confirm"
    CHANGE_PROMPT = "prompt"
    CANCEL = "cancel"


class GenerateCallback(CallbackData, prefix="gen"):
    action: GenerateAction
    # For CONFIRM: the token of the summary that made the button.
    token: str = ""


class AfterAction(StrEnum):
    MORE = "more"  # the same prompt again, a new job
    NEW_PROMPT = "new"


class AfterCallback(CallbackData, prefix="after"):
    action: AfterAction
    job: int  # telegram_prompts row id


class ResendCallback(CallbackData, prefix="resend"):
    job: int


# --- Privacy and broadcast --------------------------------------------------------------------


class PrivacyAction(StrEnum):
    DELETE = "delete"  # from /privacy: ask to confirm, as /delete does
    CONFIRM = "confirm"
    KEEP = "keep"


class PrivacyCallback(CallbackData, prefix="privacy"):
    action: PrivacyAction
    token: str = ""  # for CONFIRM and KEEP: the question's token


class BroadcastAction(StrEnum):
    CONFIRM = "confirm"
    CANCEL = "cancel"


class BroadcastCallback(CallbackData, prefix="bcast"):
    action: BroadcastAction
    token: str  # the preview's token: the Broadcast row is unique by it


# Which flow's token each kind of token-carrying button holds.
FLOW_OF: dict[type[CallbackData], Flow] = {
    ModelTypeCallback: Flow.TRAIN,
    TrainCallback: Flow.TRAIN,
    GenerateCallback: Flow.GENERATE,
    PrivacyCallback: Flow.DELETE,
    BroadcastCallback: Flow.BROADCAST,
}
