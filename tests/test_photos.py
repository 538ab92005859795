"""Photo checks and preparation, on images made in memory."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import struct
import zlib
from typing import Any

import pillow_heif
import pytest
from PIL import ExifTags, Image

from bot.services import photos
from bot.services.photos import ImageInfo, PhotoProblem, PhotoRejected

N8N_PAYLOAD_LIMIT = 16 * 1024 * 1024  # n8n's default N8N_PAYLOAD_SIZE_MAX: 16 MiB
RED = (255, 0, 0)
PILLOW_DEFAULT_MAX_PIXELS = 1024 * 1024 * 1024 // 4 // 3  # about 89.5 Mpx


def encode(image: Image.Image, fmt: str = "JPEG", **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def plain(width: int, height: int, color: tuple[int, int, int] = (90, 140, 200)) -> Image.Image:
    return Image.new("RGB", (width, height), color)


def noisy(width: int, height: int) -> Image.Image:
    """Looks like a photo to a JPEG encoder: smooth colour areas plus grain."""
    base = Image.frombytes("RGB", (30, 40), os.urandom(30 * 40 * 3))
    base = base.resize((width, height), Image.Resampling.BICUBIC)
    grain_size = (max(1, width // 4), max(1, height // 4))
    grain = Image.frombytes("RGB", grain_size, os.urandom(grain_size[0] * grain_size[1] * 3))
    grain = grain.resize((width, height), Image.Resampling.BILINEAR)
    return Image.blend(base, grain, 0.2)


def decoded(jpeg: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(jpeg))
    image.load()
    return image


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims `width`x`height` (1-bit grey) but holds almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def rejected(data: bytes) -> tuple[PhotoRejected, PhotoRejected]:
    """What both `inspect_image` and `prepare_image` say about `data` (they must agree)."""
    with pytest.raises(PhotoRejected) as inspected:
        photos.inspect_image(data)
    with pytest.raises(PhotoRejected) as prepared:
        photos.prepare_image(data)
    assert inspected.value.problem == prepared.value.problem
    return inspected.value, prepared.value


def exif_with(orientation: int | None = None, gps: bool = False) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.IFD.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (55.0, 45.0, 21.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (37.0, 37.0, 4.0),
        }
    return exif


def assert_no_metadata(jpeg: bytes) -> None:
    image = decoded(jpeg)
    assert image.format == "JPEG"
    assert image.mode == "RGB"
    assert not image.getexif()
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "exif" not in image.info and "xmp" not in image.info and "comment" not in image.info
    assert b"Exif\x00\x00" not in jpeg
    assert b"PhoneMaker" not in jpeg
    assert b"ns.adobe.com/xap" not in jpeg


# --- accepted photos ---


def test_good_jpeg_passes_with_its_info() -> None:
    data = encode(noisy(800, 600), quality=92)
    assert photos.inspect_image(data) == ImageInfo(width=800, height=600, format="JPEG")
    prepared = decoded(photos.prepare_image(data))
    assert prepared.size == (800, 600)  # never upscaled
    assert prepared.mode == "RGB"


def test_large_photo_is_scaled_down_to_the_long_side() -> None:
    data = encode(noisy(4000, 3000), quality=90)
    assert photos.inspect_image(data) == ImageInfo(4000, 3000, "JPEG")
    assert decoded(photos.prepare_image(data)).size == (1024, 768)
    portrait = encode(noisy(3000, 4000), quality=90)
    assert decoded(photos.prepare_image(portrait)).size == (768, 1024)
    assert decoded(photos.prepare_image(portrait, long_side=2000)).size == (1500, 2000)


def test_png_with_alpha_becomes_rgb_on_white() -> None:
    image = Image.new("RGBA", (700, 600), (0, 0, 0, 0))  # transparent black
    image.paste((255, 0, 0, 255), (0, 0, 100, 100))
    data = encode(image, "PNG")
    assert photos.inspect_image(data) == ImageInfo(700, 600, "PNG")
    prepared = decoded(photos.prepare_image(data))
    assert prepared.mode == "RGB"
    assert prepared.size == (700, 600)
    assert all(channel >= 250 for channel in prepared.getpixel((500, 400)))  # type: ignore[union-attr]
    red, green, blue = prepared.getpixel((50, 50))  # type: ignore[misc]
    assert red > 230 and green < 30 and blue < 30


def test_paletted_png_with_transparency_becomes_white() -> None:
    image = Image.new("P", (600, 600), 0)
    image.putpalette([0, 0, 0, 255, 0, 0])
    image.info["transparency"] = 0
    data = encode(image, "PNG", transparency=0)
    prepared = decoded(photos.prepare_image(data))
    assert prepared.mode == "RGB"
    assert all(channel >= 250 for channel in prepared.getpixel((300, 300)))  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("image", "fmt", "expected"),
    [
        (Image.new("L", (600, 600), 128), "PNG", (128, 128, 128)),
        (Image.new("I;16", (600, 600), 32768), "PNG", (128, 128, 128)),
        (Image.new("CMYK", (600, 600), (0, 0, 0, 0)), "JPEG", (255, 255, 255)),
        (Image.new("1", (600, 600), 1), "PNG", (255, 255, 255)),
        (Image.new("LA", (600, 600), (0, 0)), "PNG", (255, 255, 255)),
    ],
    ids=["grey", "16-bit grey", "cmyk", "1-bit", "grey+alpha"],
)
def test_other_modes_become_rgb(image: Image.Image, fmt: str, expected: tuple[int, ...]) -> None:
    prepared = decoded(photos.prepare_image(encode(image, fmt)))
    assert prepared.mode == "RGB"
    pixel = prepared.getpixel((300, 300))
    assert isinstance(pixel, tuple)
    assert all(abs(a - b) <= 3 for a, b in zip(pixel, expected, strict=True)), pixel


def test_embedded_srgb_profile_is_applied_and_a_broken_one_ignored() -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for icc in (srgb, b"not an icc profile"):
        data = encode(plain(600, 600, (200, 100, 50)), quality=95, icc_profile=icc)
        pixel = decoded(photos.prepare_image(data)).getpixel((300, 300))
        assert isinstance(pixel, tuple)
        assert all(abs(a - b) <= 4 for a, b in zip(pixel, (200, 100, 50), strict=True)), pixel
        assert b"not an icc" not in photos.prepare_image(data)


def test_webp() -> None:
    data = encode(noisy(900, 700), "WEBP", quality=85)
    assert photos.inspect_image(data) == ImageInfo(900, 700, "WEBP")
    assert decoded(photos.prepare_image(data)).size == (900, 700)


def test_gif_uses_the_first_frame() -> None:
    frames = [plain(600, 600, RED), plain(600, 600, (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert photos.inspect_image(data).format == "GIF"
    red, _, blue = decoded(photos.prepare_image(data)).getpixel((300, 300))  # type: ignore[misc]
    assert red > 230 and blue < 30


def test_heic_opener_is_registered() -> None:
    assert "HEIF" in Image.OPEN
    assert Image.registered_extensions().get(".heic") == "HEIF"


def test_heic_from_an_iphone_like_file() -> None:
    data = encode(noisy(1200, 900), "HEIF", quality=80, exif=exif_with(gps=True).tobytes())
    assert pillow_heif.is_supported(data)
    assert photos.inspect_image(data) == ImageInfo(1200, 900, "HEIF")
    prepared = photos.prepare_image(data)
    assert decoded(prepared).size == (1024, 768)
    assert_no_metadata(prepared)


# --- EXIF: orientation and privacy ---


def test_too_small_uses_the_oriented_size() -> None:
    data = encode(noisy(1200, 500), exif=exif_with(orientation=6))
    inspected, prepared = rejected(data)
    for error in (inspected, prepared):
        assert error.problem is PhotoProblem.TOO_SMALL
        assert (error.width, error.height) == (500, 1200)


def test_orientation_is_applied() -> None:
    stored = plain(1200, 700, (20, 20, 20))
    stored.paste(RED, (0, 0, 100, 100))  # top-left as stored
    data = encode(stored, quality=95, exif=exif_with(orientation=6))
    assert photos.inspect_image(data) == ImageInfo(700, 1200, "JPEG")

    full = decoded(photos.prepare_image(data, long_side=1200))
    assert full.size == (700, 1200)
    # Orientation 6: shown rotated 90° clockwise, so the stored top-left is now top-right.
    red, green, blue = full.getpixel((650, 50))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60
    assert full.getpixel((50, 50))[0] < 60  # type: ignore[index]
    assert not full.getexif()  # no orientation tag left to rotate it twice

    scaled = decoded(photos.prepare_image(data))
    assert scaled.height > scaled.width
    assert scaled.size == (597, 1024)


def test_exif_gps_xmp_and_comments_do_not_leave() -> None:
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://ns.adobe.com/xap/1.0/"/></x:xmpmeta>'
    data = encode(
        noisy(1600, 1200), quality=92, exif=exif_with(gps=True), xmp=xmp, comment=b"secret place"
    )
    source = decoded(data)
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input does carry GPS
    prepared = photos.prepare_image(data)
    assert_no_metadata(prepared)
    assert b"secret place" not in prepared


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
def test_broken_exif_does_not_refuse_the_photo() -> None:
    data = encode(noisy(800, 600), exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f garbage")
    assert photos.inspect_image(data) == ImageInfo(800, 600, "JPEG")
    assert decoded(photos.prepare_image(data)).size == (800, 600)


# --- refused photos ---


def test_truncated_jpeg_is_not_an_image() -> None:
    data = encode(noisy(1600, 1200), quality=92)
    for cut in (len(data) // 2, len(data) - 200):
        inspected, _ = rejected(data[:cut])
        assert inspected.problem is PhotoProblem.NOT_AN_IMAGE


@pytest.mark.parametrize(
    "data",
    [
        os.urandom(50_000),
        b"",
        b"\xff\xd8\xff\xe0 JPEG-looking header only",
        b"GIF89a" + b"\x00" * 8,
    ],
    ids=["random", "empty", "jpeg-magic", "gif-magic"],
)
def test_garbage_is_not_an_image(data: bytes) -> None:
    inspected, _ = rejected(data)
    assert inspected.problem is PhotoProblem.NOT_AN_IMAGE
    assert "not_an_image" in str(inspected)


def test_small_photo_is_too_small() -> None:
    inspected, _ = rejected(encode(noisy(400, 900)))
    assert inspected.problem is PhotoProblem.TOO_SMALL
    assert (inspected.width, inspected.height) == (400, 900)
    assert str(inspected).startswith("too_small (400x900)")
    assert photos.inspect_image(encode(noisy(512, 900))).width == 512  # the limit itself passes


def test_bomb_that_pillow_only_warns_about_is_refused() -> None:
    data = png_header(12_000, 10_000)  # 120 Mpx: above the limit, below Pillow's error
    assert len(data) < 200
    assert Image.MAX_IMAGE_PIXELS is not None
    assert Image.MAX_IMAGE_PIXELS < 120_000_000 < 2 * Image.MAX_IMAGE_PIXELS
    for check in (photos.inspect_image, photos.prepare_image):
        with (
            pytest.warns(Image.DecompressionBombWarning),
            pytest.raises(PhotoRejected) as error,
        ):
            check(data)
        assert error.value.problem is PhotoProblem.TOO_MANY_PIXELS
        assert (error.value.width, error.value.height) == (12_000, 10_000)


def test_bomb_that_pillow_errors_about_is_refused() -> None:
    inspected, _ = rejected(png_header(20_000, 20_000))
    assert inspected.problem is PhotoProblem.TOO_MANY_PIXELS


def test_bomb_guard_is_a_bmp_header_too() -> None:
    width, height = 15_000, 15_000
    header = struct.pack("<2sIHHI", b"BM", 54, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    inspected, _ = rejected(header + info)
    assert inspected.problem is PhotoProblem.TOO_MANY_PIXELS


def test_pillow_limit_is_left_at_its_default() -> None:
    assert Image.MAX_IMAGE_PIXELS == PILLOW_DEFAULT_MAX_PIXELS


def test_file_size_limit() -> None:
    photos.check_file_size(None)
    photos.check_file_size(photos.MAX_FILE_BYTES)
    with pytest.raises(PhotoRejected) as error:
        photos.check_file_size(20 * 1024 * 1024 + 1)
    assert error.value.problem is PhotoProblem.FILE_TOO_BIG
    assert error.value.problem == "file_too_big"
    big = b"\xff\xd8" + b"\x00" * photos.MAX_FILE_BYTES
    for check in (photos.inspect_image, photos.prepare_image):
        with pytest.raises(PhotoRejected) as error:
            check(big)
        assert error.value.problem is PhotoProblem.FILE_TOO_BIG


def test_bad_arguments() -> None:
    data = encode(noisy(600, 600))
    with pytest.raises(ValueError):
        photos.prepare_image(data, long_side=0)
    with pytest.raises(ValueError):
        photos.prepare_image(data, quality=0)


def test_data_url() -> None:
    jpeg = photos.prepare_image(encode(noisy(600, 600)))
    url = photos.to_data_url(jpeg)
    prefix = "data:image/jpeg;base64,"
    assert url.startswith(prefix)
    assert base64.b64decode(url.removeprefix(prefix)) == jpeg


def test_twenty_photos_fit_in_one_n8n_request() -> None:
    sources = [encode(noisy(3000, 4000), quality=92) for _ in range(20)]
    assert all(2_000_000 < len(source) < photos.MAX_FILE_BYTES for source in sources)
    urls = [photos.to_data_url(photos.prepare_image(source)) for source in sources]
    body = json.dumps({"telegram_id": 123456789, "name": "me", "photos": urls}).encode()
    print(
        f"\n20 photos of {sum(map(len, sources)) / 2**20:.1f} MiB in total"
        f" -> JSON body of {len(body) / 2**20:.2f} MiB (limit {N8N_PAYLOAD_LIMIT / 2**20:.0f} MiB)"
    )
    assert len(body) < N8N_PAYLOAD_LIMIT


# --- off the event loop ---


async def test_async_variants() -> None:
    data = encode(noisy(4000, 3000))
    assert await photos.inspect_image_async(data) == ImageInfo(4000, 3000, "JPEG")
    assert decoded(await photos.prepare_image_async(data, long_side=800)).size == (800, 600)
    with pytest.raises(PhotoRejected) as error:
        await photos.inspect_image_async(png_header(20_000, 20_000))
    assert error.value.problem is PhotoProblem.TOO_MANY_PIXELS
    with pytest.raises(PhotoRejected) as error:
        await photos.prepare_image_async(b"nope")
    assert error.value.problem is PhotoProblem.NOT_AN_IMAGE


async def test_async_work_does_not_block_the_event_loop() -> None:
    data = encode(noisy(4000, 3000))
    done = asyncio.Event()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    async def work() -> None:
        await photos.prepare_image_async(data)
        await photos.inspect_image_async(data)
        done.set()

    await asyncio.gather(work(), ticker())
    assert ticks > 1
