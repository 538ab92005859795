"""Pure rules, without a bot: album sizes, photos of the training wizard, names, prompts, retry
backoff, admin command arguments."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from bot.services.generation import (
    PROMPT_MAX_LENGTH,
    PROMPT_MIN_LENGTH,
    InvalidPrompt,
    album_sizes,
    check_prompt,
)
from bot.services.photos import PhotoProblem
from bot.services.privacy import (
    backoff,
)
from bot.services.training import (
    NAME_MAX_LENGTH,
    InvalidName,
    NameProblem,
    PhotoItem,
    add_photos,
    is_image_document,
    normalise_name,
)
from bot.views.admin import (
    MAX_GRANT,
    MAX_NOTE_LENGTH,
    parse_grant,
    parse_user_id,
)

# --- album_sizes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "sizes"),
    [
        (-3, []),
        (0, []),
        (1, [1]),  # a single image overall: sent as a photo
        (2, [2]),
        (9, [9]),
        (10, [10]),
        (11, [6, 5]),
        (12, [10, 2]),
        (19, [10, 9]),
        (20, [10, 10]),
        (21, [10, 6, 5]),
        (22, [10, 10, 2]),
        (31, [10, 10, 6, 5]),
    ],
)
def test_album_sizes(count: int, sizes: list[int]) -> None:
    assert album_sizes(count) == sizes


@pytest.mark.parametrize("largest", [3, 4, 10])
@pytest.mark.parametrize("count", range(1, 101))
def test_albums_hold_every_image_in_as_few_albums_as_possible_and_never_a_lone_one(
    count: int, largest: int
) -> None:
    sizes = album_sizes(count, largest)
    assert sum(sizes) == count
    assert all(1 <= size <= largest for size in sizes)
    assert len(sizes) == math.ceil(count / largest)
    if count > 1:
        assert 1 not in sizes


# --- add_photos -------------------------------------------------------------------------------


def photo(unique_id: str) -> PhotoItem:
    return PhotoItem(file_id=f"file-{unique_id}", file_unique_id=unique_id, message_id=1)


def checked(*specs: str | tuple[str, str]) -> list[tuple[PhotoItem, PhotoProblem | None]]:
    """Photos as checked: a name ("a") is a usable photo, a pair ("b", "too_small") a photo
    refused with that problem."""
    return [
        (photo(spec), None) if isinstance(spec, str) else (photo(spec[0]), PhotoProblem(spec[1]))
        for spec in specs
    ]


def numbered(count: int) -> list[str]:
    return [f"p{number}" for number in range(1, count + 1)]


@pytest.mark.parametrize(
    ("kept_before", "arriving", "max_photos", "counts", "refused", "kept_after"),
    [
        ([], checked(), 20, (0, 0, 0, 0), [], []),
        ([], checked("a", "b", "c"), 20, (3, 0, 0, 3), [], ["a", "b", "c"]),
        (
            [],
            checked("a", ("b", "too_small"), "c"),
            20,
            (2, 0, 0, 2),
            [("b", "too_small")],
            ["a", "c"],
        ),
        (["a"], checked("a", "b", "b"), 20, (1, 2, 0, 2), [], ["a", "b"]),
        (numbered(19), checked("x", "y", "z"), 20, (1, 0, 2, 20), [], [*numbered(19), "x"]),
        # A refused photo takes no place: the next usable one still fits.
        (
            numbered(19),
            checked(("x", "download"), "y"),
            20,
            (1, 0, 0, 20),
            [("x", "download")],
            [*numbered(19), "y"],
        ),
        (
            numbered(20),
            checked("p1", ("q", "download"), "r"),
            20,
            (0, 1, 1, 20),
            [("q", "download")],
            numbered(20),
        ),
    ],
    ids=[
        "nothing",
        "all-usable",
        "refused-not-counted",
        "duplicates-ignored",
        "over-the-limit",
        "refused-takes-no-place",
        "already-full",
    ],
)
def test_add_photos(
    kept_before: list[str],
    arriving: list[tuple[PhotoItem, PhotoProblem | None]],
    max_photos: int,
    counts: tuple[int, int, int, int],
    refused: list[tuple[str, str]],
    kept_after: list[str],
) -> None:
    kept = [photo(unique_id) for unique_id in kept_before]
    batch = add_photos(kept, arriving, max_photos)
    assert (batch.accepted, batch.duplicates, batch.over_limit, batch.total) == counts
    assert [(f.item.file_unique_id, f.problem) for f in batch.refused] == refused
    assert [item.file_unique_id for item in kept] == kept_after
    assert batch.total == len(kept)


def test_a_duplicate_is_recognised_by_its_unique_id_not_its_file_id() -> None:
    kept = [photo("a")]
    again = PhotoItem(file_id="another-file-id", file_unique_id="a", message_id=2)
    batch = add_photos(kept, [(again, None)], max_photos=20)
    assert (batch.accepted, batch.duplicates) == (0, 1)
    assert kept == [photo("a")]


# --- Model names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Anna", "Anna"),
        ("  Anna   Maria \n", "Anna Maria"),
        ("Anna\tMaria", "Anna Maria"),
        ("Anna\u00a0Maria", "Anna Maria"),  # a no-break space is whitespace too
        ("Зоя 🌸", "Зоя 🌸"),
        ("a" * NAME_MAX_LENGTH, "a" * NAME_MAX_LENGTH),
        ("a" + " " * 100 + "b", "a b"),  # the length counts after collapsing
    ],
)
def test_a_name_is_kept_with_its_whitespace_collapsed(raw: str, name: str) -> None:
    assert normalise_name(raw) == name


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", NameProblem.EMPTY),
        ("  \n\t ", NameProblem.EMPTY),
        ("a" * (NAME_MAX_LENGTH + 1), NameProblem.TOO_LONG),
        ("Anna\x00", NameProblem.NOT_PRINTABLE),
        ("Anna\x07Maria", NameProblem.NOT_PRINTABLE),
        ("Anna\u200bMaria", NameProblem.NOT_PRINTABLE),  # zero-width space
        ("Anna\u202eairaM", NameProblem.NOT_PRINTABLE),  # right-to-left override
    ],
)
def test_a_name_is_refused(raw: str, problem: NameProblem) -> None:
    with pytest.raises(InvalidName) as refused:
        normalise_name(raw)
    assert refused.value.problem is problem


# --- Prompts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "prompt"),
    [
        ("a cat", "a cat"),
        ("  a cat\n", "a cat"),
        ("a  cat\nin a hat", "a  cat\nin a hat"),  # only the ends are trimmed
        ("x" * PROMPT_MIN_LENGTH, "x" * PROMPT_MIN_LENGTH),
        ("x" * PROMPT_MAX_LENGTH, "x" * PROMPT_MAX_LENGTH),
        (" " + "x" * PROMPT_MAX_LENGTH + " ", "x" * PROMPT_MAX_LENGTH),
    ],
)
def test_a_prompt_is_kept_trimmed(raw: str, prompt: str) -> None:
    assert check_prompt(raw) == prompt


@pytest.mark.parametrize(
    ("raw", "too_short"),
    [
        ("", True),
        ("x" * (PROMPT_MIN_LENGTH - 1), True),
        ("  " + "x" * (PROMPT_MIN_LENGTH - 1) + "  ", True),
        ("x" * (PROMPT_MAX_LENGTH + 1), False),
    ],
)
def test_a_prompt_is_refused(raw: str, too_short: bool) -> None:
    with pytest.raises(InvalidPrompt) as refused:
        check_prompt(raw)
    assert refused.value.too_short is too_short


# --- Documents sent as training photos --------------------------------------------------------


@pytest.mark.parametrize(
    ("mime_type", "file_name", "is_image"),
    [
        ("image/jpeg", "photo.jpg", True),
        ("image/png", None, True),
        ("image/heic", "photo.bin", True),  # the type is enough
        ("application/octet-stream", "IMG_0001.HEIC", True),  # so is the extension
        (None, "photo.JPEG", True),
        (None, "photo.webp", True),
        (None, "photo.heif", True),
        ("application/pdf", "scan.pdf", False),
        ("video/mp4", "clip.mp4", False),
        ("", "archive.jpg.zip", False),
        (None, "jpg", False),
        (None, None, False),
    ],
)
def test_is_image_document(mime_type: str | None, file_name: str | None, is_image: bool) -> None:
    assert is_image_document(mime_type, file_name) is is_image


# --- Backoff of model deletion retries ---------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "minutes"),
    [(-5, 1), (0, 1), (1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (30, 60), (10**9, 60)],
)
def test_backoff_doubles_from_a_minute_up_to_an_hour(attempts: int, minutes: int) -> None:
    assert backoff(attempts) == timedelta(minutes=minutes)


def test_backoff_never_shrinks() -> None:
    waits = [backoff(attempts) for attempts in range(50)]
    assert waits == sorted(waits)


# --- Admin command arguments ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "user_id"),
    [
        ("123", 123),
        (" 42 ", 42),
        (str(2**63 - 1), 2**63 - 1),
        (str(2**63), None),
        ("0", None),
        ("-5", None),
        ("+5", None),
        ("12 34", None),
        ("1.5", None),
        ("abc", None),
        ("", None),
        (None, None),
        ("²", None),  # digits to str.isdigit(), not to int()
        ("12²", None),
        ("٣", None),  # an Arabic-Indic digit
    ],
)
def test_parse_user_id(text: str | None, user_id: int | None) -> None:
    assert parse_user_id(text) == user_id


@pytest.mark.parametrize(
    ("args", "grant"),
    [
        ("123 50", (123, 50, None)),
        ("123 +50", (123, 50, None)),
        ("123 -50 refund", (123, -50, "refund")),
        ("  123   50   for the   contest  ", (123, 50, "for the   contest")),
        (f"123 {MAX_GRANT}", (123, MAX_GRANT, None)),
        (f"123 -{MAX_GRANT}", (123, -MAX_GRANT, None)),
        ("123 50 " + "n" * (MAX_NOTE_LENGTH + 50), (123, 50, "n" * MAX_NOTE_LENGTH)),
        (None, None),
        ("", None),
        ("123", None),
        ("abc 50", None),
        ("0 50", None),
        ("123 abc", None),
        ("123 5.5", None),
        ("123 0", None),
        ("123 -0", None),
        (f"123 {MAX_GRANT + 1}", None),
        (f"123 -{MAX_GRANT + 1}", None),
        ("123 +-5", None),
        ("123 --5", None),
        ("123 ²", None),
        ("12² 5", None),
    ],
)
def test_parse_grant(args: str | None, grant: tuple[int, int, str | None] | None) -> None:
    assert parse_grant(args) == grant
