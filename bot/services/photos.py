"""Users' photos: checking and preparing them for training (seed: `image_utils`,
`ApiClient.process_photo`). Pure Pillow, no Telegram code.

- `check_file_size` refuses from Telegram's announced size, before any download;
- `inspect_image` decodes the whole file (a truncated JPEG is refused, not just a bad header)
  and reports its size as the user sees it (after EXIF orientation);
- `prepare_image` turns it into a small RGB JPEG without any metadata (EXIF GPS, XMP, comments
  never leave), ready for `to_data_url`;
- the `*_async` variants run the same work in a thread, off the event loop.

Decompression bombs: Pillow's `Image.MAX_IMAGE_PIXELS` keeps its default and is never changed
here. `Image.open` raises `DecompressionBombError` above twice that limit, but between one and
two times it only *warns*. Turning that warning into an error with `warnings.catch_warnings()`
is not an option: warning filters are process-global and not thread-safe, and these functions
run in worker threads. So the pixel count read from the header (right after `Image.open`,
before any pixel is decoded) is compared with the limit here, and everything above it is
refused; the error (and the warning, should a filter have made it an exception) count too.
"""

from __future__ import annotations

import asyncio
import base64
import io
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import pillow_heif
from loguru import logger
from PIL import ExifTags, Image, ImageCms, ImageOps

MAX_FILE_BYTES: Final = 20 * 1024 * 1024  # Telegram bots can download at most 20 MB
MIN_SHORT_SIDE: Final = 512
DEFAULT_LONG_SIDE: Final = 1024
JPEG_QUALITY: Final = 90

# Formats whose "decoder" runs an external program (Ghostscript): never for untrusted uploads.
_REFUSED_FORMATS: Final = frozenset({"EPS"})
# Orientations 5-8 swap width and height.
_SWAPPING_ORIENTATIONS: Final = frozenset({5, 6, 7, 8})
# Formats whose `draft` is real DCT scaling of the whole stream (for HEIF it would swap in an
# embedded thumbnail, so the main image would not be decoded at all).
_DRAFT_FORMATS: Final = frozenset({"JPEG", "MPO"})
_WHITE: Final = (255, 255, 255, 255)

pillow_heif.register_heif_opener()
Image.init()


class PhotoProblem(StrEnum):
    FILE_TOO_BIG = "file_too_big"
    NOT_AN_IMAGE = "not_an_image"
    TOO_MANY_PIXELS = "too_many_pixels"
    TOO_SMALL = "too_small"
    DOWNLOAD = "download"  # Telegram would not give us the file


class PhotoRejected(Exception):
    """A photo that cannot be used, and why (`problem`); dimensions when they are known."""

    def __init__(
        self,
        problem: PhotoProblem,
        detail: str = "",
        *,
        width: int | None = None,
        height: int | None = None,
    ) -> None:
        self.problem = problem
        self.detail = detail
        self.width = width
        self.height = height
        super().__init__(problem, detail, width, height)

    def __str__(self) -> str:
        text = self.problem.value
        if self.width is not None and self.height is not None:
            text += f" ({self.width}x{self.height})"
        if self.detail:
            text += f": {self.detail}"
        return text


@dataclass(frozen=True)
class ImageInfo:
    width: int  # after EXIF orientation
    height: int
    format: str  # Pillow's name: "JPEG", "PNG", "WEBP", "HEIF", ...


def check_file_size(size: int | None) -> None:
    """Refuses more than `MAX_FILE_BYTES`; an unknown size (None) passes."""
    if size is not None and size > MAX_FILE_BYTES:
        raise PhotoRejected(
            PhotoProblem.FILE_TOO_BIG, f"{size} bytes, the limit is {MAX_FILE_BYTES}"
        )


def inspect_image(data: bytes) -> ImageInfo:
    """Decodes the whole image; its oriented size, or `PhotoRejected`."""
    check_file_size(len(data))
    with _open(data) as image:
        size = image.size  # before `draft` may shrink it
        # Decoding at 1/8 scale still reads (and checks) the whole JPEG stream, 64 times cheaper.
        _decode(image, draft_box=(1, 1))
        width, height = _oriented_size(image, size=size)
        _check_short_side(width, height)
        return ImageInfo(width=width, height=height, format=image.format or "unknown")


def prepare_image(
    data: bytes, *, long_side: int = DEFAULT_LONG_SIDE, quality: int = JPEG_QUALITY
) -> bytes:
    """An RGB JPEG of the photo, upright, long side at most `long_side`, without metadata."""
    if long_side < 1:
        raise ValueError(f"long_side must be positive, got {long_side}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be within 1..100, got {quality}")
    check_file_size(len(data))
    with _open(data) as image:
        width, height = image.size
        scale = min(1.0, long_side / max(width, height))
        draft_box = None
        if scale < 1:
            draft_box = (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale)))
        _decode(image, draft_box=draft_box)
        oriented_width, oriented_height = _oriented_size(image, size=(width, height))
        _check_short_side(oriented_width, oriented_height)
        try:
            upright = _upright(image)
            rgb = _to_rgb(upright)
        except Exception as error:
            if isinstance(error, MemoryError):
                raise
            raise PhotoRejected(
                PhotoProblem.NOT_AN_IMAGE,
                f"cannot convert {image.mode}: {type(error).__name__}",
                width=oriented_width,
                height=oriented_height,
            ) from error
        target = (
            max(1, round(oriented_width * scale)),
            max(1, round(oriented_height * scale)),
        )
        if rgb.size != target:
            rgb = rgb.resize(target, Image.Resampling.LANCZOS)
        # Saved before `image` closes (closing also drops the pixels `rgb` may still share).
        rgb.info = {}  # nothing of the original's metadata (EXIF, XMP, comments, ICC) goes out
        output = io.BytesIO()
        rgb.save(output, format="JPEG", quality=quality, optimize=True)
    return output.getvalue()


def to_data_url(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


async def inspect_image_async(data: bytes) -> ImageInfo:
    return await asyncio.to_thread(inspect_image, data)


async def prepare_image_async(
    data: bytes, *, long_side: int = DEFAULT_LONG_SIDE, quality: int = JPEG_QUALITY
) -> bytes:
    return await asyncio.to_thread(prepare_image, data, long_side=long_side, quality=quality)


def _open(data: bytes) -> Image.Image:
    """Reads the header only, and applies the pixel limit before anything is decoded."""
    formats = [name for name in Image.OPEN if name not in _REFUSED_FORMATS]
    try:
        image = Image.open(io.BytesIO(data), formats=formats)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PhotoRejected(PhotoProblem.TOO_MANY_PIXELS, str(error)) from error
    except Exception as error:
        if isinstance(error, MemoryError):
            raise
        logger.debug("photo refused, does not open: {}", type(error).__name__)
        raise PhotoRejected(
            PhotoProblem.NOT_AN_IMAGE, f"unrecognised or broken file ({type(error).__name__})"
        ) from error
    width, height = image.size
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:
        image.close()
        raise PhotoRejected(
            PhotoProblem.TOO_MANY_PIXELS,
            f"{width * height} pixels, the limit is {limit}",
            width=width,
            height=height,
        )
    return image


def _decode(image: Image.Image, *, draft_box: tuple[int, int] | None) -> None:
    """Decodes every pixel (of the first frame); JPEGs may be decoded scaled down."""
    try:
        if draft_box is not None and image.format in _DRAFT_FORMATS:
            image.draft(None, draft_box)
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PhotoRejected(PhotoProblem.TOO_MANY_PIXELS, str(error)) from error
    except Exception as error:
        if isinstance(error, MemoryError):
            raise
        logger.debug("photo refused, does not decode: {}", type(error).__name__)
        raise PhotoRejected(
            PhotoProblem.NOT_AN_IMAGE, f"the image does not decode ({type(error).__name__})"
        ) from error


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1..8); 1 when absent or unreadable."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # broken EXIF does not make a broken photo
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _oriented_size(image: Image.Image, size: tuple[int, int] | None = None) -> tuple[int, int]:
    width, height = size or image.size
    if _orientation(image) in _SWAPPING_ORIENTATIONS:
        return height, width
    return width, height


def _check_short_side(width: int, height: int) -> None:
    if min(width, height) < MIN_SHORT_SIDE:
        raise PhotoRejected(
            PhotoProblem.TOO_SMALL,
            f"the short side must be at least {MIN_SHORT_SIDE} pixels",
            width=width,
            height=height,
        )


def _upright(image: Image.Image) -> Image.Image:
    if _orientation(image) == 1:
        return image
    upright = ImageOps.exif_transpose(image)
    return image if upright is None else upright


def _to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB in sRGB: 16-bit scaled down, transparency composited on white, an embedded
    colour profile (Display P3 of phones, CMYK) converted to sRGB when it can be."""
    icc_profile = image.info.get("icc_profile")
    if image.mode.startswith("I;16") or image.mode == "I":
        image = _eight_bit_gray(image)
    if image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, _WHITE)
        image = Image.alpha_composite(white, rgba).convert("RGB")
    elif image.mode in ("1", "P", "F"):
        image = image.convert("RGB" if image.mode == "P" else "L")
    if icc_profile and image.mode in ("RGB", "L", "CMYK"):
        converted = _to_srgb(image, icc_profile)
        if converted is not None:
            return converted
    return image if image.mode == "RGB" else image.convert("RGB")


def _eight_bit_gray(image: Image.Image) -> Image.Image:
    if image.mode != "I":
        image = image.convert("I")
    _low, high = image.getextrema()
    assert isinstance(high, int | float)
    if high > 255:  # 16-bit samples (32-bit "I" beyond 16 bits is scaled to its own maximum)
        factor = 255 / max(65535, high)
        image = image.point(lambda value: value * factor)
    return image.convert("L")


def _to_srgb(image: Image.Image, icc_profile: bytes) -> Image.Image | None:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        # A new sRGB profile per call: LittleCMS profile handles are not shared between threads.
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except Exception as error:
        if isinstance(error, MemoryError):
            raise
        logger.debug("colour profile ignored: {}", type(error).__name__)
        return None
    return converted
