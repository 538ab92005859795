"""The bodies N8N sends (its callbacks `POST /n8n/...`, and its answers to `/status`, which
have the callbacks' shape), validated by pydantic.

`parse` turns a decoded body into one of the models below or raises `BadBody`, whose message
is one line naming the bad field first (`"model_id: String should have at most 128
characters"`; several problems are joined with "; "); the web door answers it with 400.
Unknown fields are ignored. How many images a generation may report depends on the settings, so
`PromptReport` is validated with the context `{"images_per_prompt": n}` (`parse` passes it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from bot.models import ModelStatus, PromptStatus

MAX_ID_LENGTH = 128  # model_id, prompt_id, reference
MAX_ERROR_LENGTH = 1000
MAX_URL_LENGTH = 2048
IMAGES_PER_PROMPT_FACTOR = 2  # a generation may report up to twice IMAGES_PER_PROMPT images
MAX_GRANT_CREDITS = 1_000_000
MAX_REASON_LENGTH = 200  # longer reasons are cut, not refused
MAX_TELEGRAM_ID = 2**63 - 1  # BIGINT

BodyT = TypeVar("BodyT", bound=BaseModel)
StatusT = TypeVar("StatusT", bound=StrEnum)


class BadBody(ValueError):
    """A body that is not JSON, not an object, or does not match its model; the message says
    why in one line."""


def describe(error: ValidationError) -> str:
    """`"images[2]: Input should be an http(s) URL; status: ..."`: each problem with its field
    path first."""
    problems = []
    for problem in error.errors(include_url=False):
        path = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in problem["loc"]
        )
        path = path.removeprefix(".")
        problems.append(f"{path}: {problem['msg']}" if path else problem["msg"])
    return "; ".join(problems)


def parse(schema: type[BodyT], body: Any, *, images_per_prompt: int) -> BodyT:
    """Validates a decoded JSON body; raises BadBody."""
    if not isinstance(body, dict):
        raise BadBody("body must be a JSON object")
    try:
        return schema.model_validate(body, context={"images_per_prompt": images_per_prompt})
    except ValidationError as error:
        raise BadBody(describe(error)) from None


def _text(value: Any) -> Any:
    """Ids may come as integers (an id becomes its string); strings lose outer whitespace."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value


def _canonical_uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise PydanticCustomError("uuid_parsing", "Input should be a valid UUID") from None


def _truncate_reason(value: str) -> str:
    return value[:MAX_REASON_LENGTH]


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise PydanticCustomError("url_scheme", "Input should be an http(s) URL")
    return value


def _digits(value: Any) -> Any:
    """A telegram_id may come as a string of digits."""
    if isinstance(value, str) and value.strip().isdecimal():
        try:
            return int(value)
        except ValueError:  # more digits than int() reads; refused as not an integer
            return value
    return value


def _one_of(*statuses: StatusT) -> Callable[[Any], StatusT]:
    """Only the statuses N8N may report (not, say, `pending`), by their value."""
    by_value = {status.value: status for status in statuses}
    names = [repr(status.value) for status in statuses]
    expected = ", ".join(names[:-1]) + f" or {names[-1]}"

    def status_of(value: Any) -> StatusT:
        if isinstance(value, str) and value in by_value:
            return by_value[value]
        raise PydanticCustomError(
            "literal_error", "Input should be {expected}", {"expected": expected}
        )

    return status_of


# A non-blank string, or an integer (which becomes its string), stripped.
Text = Annotated[str, StringConstraints(strict=True, min_length=1), BeforeValidator(_text)]
JobId = Annotated[
    str,
    StringConstraints(strict=True, min_length=1, max_length=MAX_ID_LENGTH),
    BeforeValidator(_text),
]
ErrorText = Annotated[
    str,
    StringConstraints(strict=True, min_length=1, max_length=MAX_ERROR_LENGTH),
    BeforeValidator(_text),
]
RequestId = Annotated[Text, AfterValidator(_canonical_uuid)]
Reason = Annotated[Text, AfterValidator(_truncate_reason)]
ImageUrl = Annotated[
    str, StringConstraints(strict=True, max_length=MAX_URL_LENGTH), AfterValidator(_http_url)
]
TelegramId = Annotated[int, Field(strict=True, gt=0, le=MAX_TELEGRAM_ID), BeforeValidator(_digits)]
Credits = Annotated[int, Field(strict=True, ge=1, le=MAX_GRANT_CREDITS)]


class Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ModelReport(Body):
    """`POST /n8n/model-status`: a training's progress. `job_id` is the body's `model_id`."""

    job_id: JobId = Field(validation_alias="model_id")
    request_id: RequestId | None = None
    status: Annotated[
        ModelStatus,
        PlainValidator(_one_of(ModelStatus.TRAINING, ModelStatus.READY, ModelStatus.FAILED)),
    ]
    error: ErrorText | None = None


class PromptReport(Body):
    """`POST /n8n/prompt-status`: a generation's progress. `job_id` is the body's `prompt_id`;
    `images` is empty when absent. Needs the context `{"images_per_prompt": n}`."""

    job_id: JobId = Field(validation_alias="prompt_id")
    request_id: RequestId | None = None
    status: Annotated[
        PromptStatus,
        PlainValidator(_one_of(PromptStatus.PROCESSING, PromptStatus.READY, PromptStatus.FAILED)),
    ]
    error: ErrorText | None = None
    images: list[ImageUrl] = []

    @field_validator("images", mode="before")
    @classmethod
    def at_most_twice_images_per_prompt(cls, value: Any, info: ValidationInfo) -> Any:
        """Checked before the URLs themselves, so a long list costs nothing."""
        if value is None:
            return []
        context = info.context or {}
        if "images_per_prompt" not in context:
            raise TypeError('validate PromptReport with context={"images_per_prompt": n}')
        limit = IMAGES_PER_PROMPT_FACTOR * int(context["images_per_prompt"])
        if isinstance(value, list) and len(value) > limit:
            raise PydanticCustomError(
                "too_long",
                "List should have at most {max_length} items, not {actual_length}",
                {"max_length": limit, "actual_length": len(value)},
            )
        return value


class GrantRequest(Body):
    """`POST /n8n/credits`: credits granted by a workflow, once per `reference`."""

    telegram_id: TelegramId
    amount: Credits
    reference: JobId
    reason: Reason | None = None
