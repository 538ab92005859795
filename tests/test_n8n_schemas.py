"""The bodies of N8N's callbacks: what each model accepts, normalises and refuses, and how the
400 message reads."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from bot.models import ModelStatus, PromptStatus
from bot.services.n8n_bodies import (
    MAX_TELEGRAM_ID,
    BadBody,
    GrantRequest,
    ModelReport,
    PromptReport,
    parse,
)

UUID = "12345678-1234-5678-1234-567812345678"
URL = "https://images.example.org/a.png"


def valid(schema: type[BaseModel], body: Any, images_per_prompt: int = 4) -> Any:
    return parse(schema, body, images_per_prompt=images_per_prompt)


def refused(schema: type[BaseModel], body: Any, images_per_prompt: int = 4) -> str:
    with pytest.raises(BadBody) as problem:
        parse(schema, body, images_per_prompt=images_per_prompt)
    return str(problem.value)


MODEL = {"model_id": "tune-1", "status": "ready"}
PROMPT = {"prompt_id": "prompt-1", "status": "ready"}
GRANT = {"telegram_id": 42, "amount": 50, "reference": "promo-1"}
# Each report model with its id field, and a grant with its reference: the same id rules.
IDS = [(ModelReport, MODEL, "model_id"), (PromptReport, PROMPT, "prompt_id")]
ALL_IDS = [*IDS, (GrantRequest, GRANT, "reference")]


def id_of(schema: type[BaseModel], parsed: Any) -> str:
    return str(parsed.reference if schema is GrantRequest else parsed.job_id)


# ---------------------------------------------------------------- ids


@pytest.mark.parametrize(("schema", "body", "field"), ALL_IDS)
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("abc", "abc"),
        ("  abc \n", "abc"),
        (123, "123"),
        (0, "0"),
        (-5, "-5"),
        ("x" * 128, "x" * 128),
    ],
)
def test_an_id_is_a_stripped_string_or_an_integer(
    schema: type[BaseModel], body: dict[str, Any], field: str, given: Any, expected: str
) -> None:
    assert id_of(schema, valid(schema, {**body, field: given})) == expected


@pytest.mark.parametrize(("schema", "body", "field"), ALL_IDS)
@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "String should have at least 1 character"),
        ("  \t", "String should have at least 1 character"),
        (None, "Input should be a valid string"),
        (True, "Input should be a valid string"),
        (1.5, "Input should be a valid string"),
        (["a"], "Input should be a valid string"),
        ({"a": 1}, "Input should be a valid string"),
        ("x" * 129, "String should have at most 128 characters"),
        (" " + "x" * 129 + " ", "String should have at most 128 characters"),
    ],
)
def test_a_bad_id_is_refused_by_name(
    schema: type[BaseModel], body: dict[str, Any], field: str, given: Any, message: str
) -> None:
    assert refused(schema, {**body, field: given}) == f"{field}: {message}"


@pytest.mark.parametrize(("schema", "body", "field"), ALL_IDS)
def test_an_id_is_required(schema: type[BaseModel], body: dict[str, Any], field: str) -> None:
    missing = {key: value for key, value in body.items() if key != field}
    assert refused(schema, missing) == f"{field}: Field required"


def test_the_128_characters_count_after_stripping() -> None:
    assert valid(ModelReport, {**MODEL, "model_id": "  " + "x" * 128 + "  "}).job_id == "x" * 128


# ---------------------------------------------------------------- request_id


@pytest.mark.parametrize(("schema", "body", "field"), IDS)
@pytest.mark.parametrize(
    "given",
    [
        UUID,
        UUID.upper(),
        f"  {UUID}  ",
        UUID.replace("-", ""),
        "{" + UUID + "}",
        f"urn:uuid:{UUID}",
        int(UUID.replace("-", "")),  # an integer becomes its string: 32 hex digits
    ],
)
def test_request_id_is_any_uuid_form_made_canonical(
    schema: type[BaseModel], body: dict[str, Any], field: str, given: Any
) -> None:
    assert valid(schema, {**body, "request_id": given}).request_id == UUID


@pytest.mark.parametrize(("schema", "body", "field"), IDS)
def test_request_id_is_optional(schema: type[BaseModel], body: dict[str, Any], field: str) -> None:
    assert valid(schema, body).request_id is None
    assert valid(schema, {**body, "request_id": None}).request_id is None


@pytest.mark.parametrize(("schema", "body", "field"), IDS)
@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("nope", "Input should be a valid UUID"),
        (5, "Input should be a valid UUID"),
        (UUID + "0", "Input should be a valid UUID"),
        ("", "String should have at least 1 character"),
        (" ", "String should have at least 1 character"),
        (False, "Input should be a valid string"),
        ([UUID], "Input should be a valid string"),
    ],
)
def test_a_bad_request_id_is_refused(
    schema: type[BaseModel], body: dict[str, Any], field: str, given: Any, message: str
) -> None:
    assert refused(schema, {**body, "request_id": given}) == f"request_id: {message}"


# ---------------------------------------------------------------- status


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("training", ModelStatus.TRAINING),
        ("ready", ModelStatus.READY),
        ("failed", ModelStatus.FAILED),
    ],
)
def test_model_statuses(given: str, expected: ModelStatus) -> None:
    status = valid(ModelReport, {**MODEL, "status": given}).status
    assert status is expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("processing", PromptStatus.PROCESSING),
        ("ready", PromptStatus.READY),
        ("failed", PromptStatus.FAILED),
    ],
)
def test_prompt_statuses(given: str, expected: PromptStatus) -> None:
    status = valid(PromptReport, {**PROMPT, "status": given}).status
    assert status is expected


@pytest.mark.parametrize(
    ("schema", "body", "expected"),
    [
        (ModelReport, MODEL, "'training', 'ready' or 'failed'"),
        (PromptReport, PROMPT, "'processing', 'ready' or 'failed'"),
    ],
)
@pytest.mark.parametrize(
    "given", ["pending", "expired", "done", "READY", " ready", "", None, 1, True, ["ready"]]
)
def test_any_other_status_is_refused(
    schema: type[BaseModel], body: dict[str, Any], expected: str, given: Any
) -> None:
    assert refused(schema, {**body, "status": given}) == f"status: Input should be {expected}"


@pytest.mark.parametrize(("schema", "body", "field"), IDS)
def test_status_is_required(schema: type[BaseModel], body: dict[str, Any], field: str) -> None:
    assert refused(schema, {field: "x"}) == "status: Field required"


# ---------------------------------------------------------------- error


@pytest.mark.parametrize(("schema", "body", "field"), IDS)
def test_error_is_optional_stripped_and_at_most_1000_characters(
    schema: type[BaseModel], body: dict[str, Any], field: str
) -> None:
    assert valid(schema, body).error is None
    assert valid(schema, {**body, "error": None}).error is None
    assert valid(schema, {**body, "error": "  NSFW filter\n"}).error == "NSFW filter"
    assert valid(schema, {**body, "error": 500}).error == "500"
    assert valid(schema, {**body, "error": "e" * 1000}).error == "e" * 1000
    too_long = "error: String should have at most 1000 characters"
    assert refused(schema, {**body, "error": "e" * 1001}) == too_long
    assert refused(schema, {**body, "error": " "}) == (
        "error: String should have at least 1 character"
    )
    assert (
        refused(schema, {**body, "error": {"code": 1}}) == "error: Input should be a valid string"
    )


# ---------------------------------------------------------------- images


def test_images_are_optional_http_urls() -> None:
    assert valid(PromptReport, PROMPT).images == []
    assert valid(PromptReport, {**PROMPT, "images": None}).images == []
    assert valid(PromptReport, {**PROMPT, "images": []}).images == []
    urls = [URL, "http://example.org/b.jpg"]
    assert valid(PromptReport, {**PROMPT, "images": urls}).images == urls


@pytest.mark.parametrize(
    ("images", "message"),
    [
        ("x", "images: Input should be a valid list"),
        (URL, "images: Input should be a valid list"),
        ({"url": URL}, "images: Input should be a valid list"),
        ([URL, "ftp://example.org/a.png"], "images[1]: Input should be an http(s) URL"),
        (["data:image/png;base64,AAAA"], "images[0]: Input should be an http(s) URL"),
        (["HTTPS://example.org/a.png"], "images[0]: Input should be an http(s) URL"),
        ([" https://example.org/a.png"], "images[0]: Input should be an http(s) URL"),
        ([URL, 5], "images[1]: Input should be a valid string"),
        ([None], "images[0]: Input should be a valid string"),
        (
            ["ftp://a", {"url": URL}],
            "images[0]: Input should be an http(s) URL; images[1]: Input should be a valid string",
        ),
    ],
)
def test_bad_images_are_refused(images: Any, message: str) -> None:
    assert refused(PromptReport, {**PROMPT, "images": images}) == message


def test_an_image_url_is_at_most_2048_characters() -> None:
    longest = "https://example.org/" + "a" * (2048 - len("https://example.org/"))
    assert valid(PromptReport, {**PROMPT, "images": [longest]}).images == [longest]
    assert refused(PromptReport, {**PROMPT, "images": [URL, longest + "a"]}) == (
        "images[1]: String should have at most 2048 characters"
    )


@pytest.mark.parametrize("images_per_prompt", [1, 4, 8])
def test_at_most_twice_images_per_prompt_urls(images_per_prompt: int) -> None:
    limit = 2 * images_per_prompt
    urls = [f"{URL}?n={n}" for n in range(limit + 1)]
    report = valid(PromptReport, {**PROMPT, "images": urls[:limit]}, images_per_prompt)
    assert report.images == urls[:limit]
    assert refused(PromptReport, {**PROMPT, "images": urls}, images_per_prompt) == (
        f"images: List should have at most {limit} items, not {limit + 1}"
    )


def test_the_image_count_is_checked_before_the_urls() -> None:
    message = refused(PromptReport, {**PROMPT, "images": [1] * 10_000})
    assert message == "images: List should have at most 8 items, not 10000"


def test_a_prompt_report_needs_images_per_prompt_in_its_context() -> None:
    with pytest.raises(TypeError, match="images_per_prompt"):
        PromptReport.model_validate({**PROMPT, "images": [URL]})
    assert PromptReport.model_validate(PROMPT).images == []  # no images, nothing to bound


def test_a_model_report_has_no_images() -> None:
    report = valid(ModelReport, {**MODEL, "images": "not even a list"})
    assert not hasattr(report, "images")


# ---------------------------------------------------------------- grant


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (1, 1),
        (8006, 8006),
        (MAX_TELEGRAM_ID, 2**63 - 1),
        ("8006", 8006),
        (" 8006\n", 8006),
        ("0008006", 8006),
        (str(MAX_TELEGRAM_ID), MAX_TELEGRAM_ID),
    ],
)
def test_telegram_id_is_a_positive_integer_or_digits(given: Any, expected: int) -> None:
    assert valid(GrantRequest, {**GRANT, "telegram_id": given}).telegram_id == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (0, "Input should be greater than 0"),
        (-1, "Input should be greater than 0"),
        ("0", "Input should be greater than 0"),
        (2**63, "Input should be less than or equal to 9223372036854775807"),
        (str(2**63), "Input should be less than or equal to 9223372036854775807"),
        (True, "Input should be a valid integer"),
        (False, "Input should be a valid integer"),
        (42.0, "Input should be a valid integer"),
        ("me", "Input should be a valid integer"),
        ("", "Input should be a valid integer"),
        ("-5", "Input should be a valid integer"),
        ("4.2", "Input should be a valid integer"),
        ("²", "Input should be a valid integer"),  # a digit, but not a decimal one
        ("9" * 5000, "Input should be a valid integer"),  # beyond what int() reads
        (None, "Input should be a valid integer"),
        ([42], "Input should be a valid integer"),
    ],
)
def test_a_bad_telegram_id_is_refused(given: Any, message: str) -> None:
    assert refused(GrantRequest, {**GRANT, "telegram_id": given}) == f"telegram_id: {message}"


@pytest.mark.parametrize("amount", [1, 50, 1_000_000])
def test_amount_is_1_to_a_million(amount: int) -> None:
    assert valid(GrantRequest, {**GRANT, "amount": amount}).amount == amount


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (0, "Input should be greater than or equal to 1"),
        (-50, "Input should be greater than or equal to 1"),
        (1_000_001, "Input should be less than or equal to 1000000"),
        (True, "Input should be a valid integer"),
        ("40", "Input should be a valid integer"),
        (40.0, "Input should be a valid integer"),
        (None, "Input should be a valid integer"),
    ],
)
def test_a_bad_amount_is_refused(given: Any, message: str) -> None:
    assert refused(GrantRequest, {**GRANT, "amount": given}) == f"amount: {message}"


def test_reason_is_optional_stripped_and_cut_to_200_characters() -> None:
    assert valid(GrantRequest, GRANT).reason is None
    assert valid(GrantRequest, {**GRANT, "reason": None}).reason is None
    assert valid(GrantRequest, {**GRANT, "reason": "  Promo \n"}).reason == "Promo"
    assert valid(GrantRequest, {**GRANT, "reason": "r" * 200}).reason == "r" * 200
    assert valid(GrantRequest, {**GRANT, "reason": "r" * 5000}).reason == "r" * 200
    assert refused(GrantRequest, {**GRANT, "reason": "  "}) == (
        "reason: String should have at least 1 character"
    )


def test_a_grant_reads_like_before() -> None:
    grant = valid(
        GrantRequest, {"telegram_id": "8006", "amount": 40, "reference": 7, "reason": "Promo"}
    )
    assert (grant.telegram_id, grant.amount, grant.reference, grant.reason) == (
        8006,
        40,
        "7",
        "Promo",
    )


# ---------------------------------------------------------------- the body as a whole


@pytest.mark.parametrize(("schema", "body", "field"), ALL_IDS)
@pytest.mark.parametrize("given", [[], ["a"], "text", 5, None, True])
def test_a_body_must_be_an_object(
    schema: type[BaseModel], body: dict[str, Any], field: str, given: Any
) -> None:
    assert refused(schema, given) == "body must be a JSON object"


@pytest.mark.parametrize(("schema", "body", "field"), ALL_IDS)
def test_unknown_fields_are_ignored(
    schema: type[BaseModel], body: dict[str, Any], field: str
) -> None:
    parsed = valid(schema, {**body, "unexpected": {"nested": [1, 2]}, "job_id": "not this one"})
    assert id_of(schema, parsed) == body[field]
    assert not hasattr(parsed, "unexpected")


def test_a_full_report_reads_like_before() -> None:
    report = valid(
        PromptReport,
        {
            "prompt_id": 17,
            "request_id": UUID.upper(),
            "status": "ready",
            "images": [URL],
            "error": " none ",
        },
    )
    assert (report.job_id, report.request_id, report.status, report.images, report.error) == (
        "17",
        UUID,
        PromptStatus.READY,
        [URL],
        "none",
    )


def test_every_problem_is_named_in_one_line() -> None:
    message = refused(
        ModelReport,
        {"model_id": "m" * 129, "request_id": "nope", "status": "done", "error": ""},
    )
    assert message == (
        "model_id: String should have at most 128 characters; "
        "request_id: Input should be a valid UUID; "
        "status: Input should be 'training', 'ready' or 'failed'; "
        "error: String should have at least 1 character"
    )
    assert "\n" not in message
    assert refused(GrantRequest, {}) == (
        "telegram_id: Field required; amount: Field required; reference: Field required"
    )


def test_a_report_cannot_be_changed() -> None:
    report: ModelReport = valid(ModelReport, MODEL)
    with pytest.raises(ValueError, match="frozen"):
        report.status = ModelStatus.FAILED  # type: ignore[misc]
