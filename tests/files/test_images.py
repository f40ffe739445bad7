"""Images are stored as Parley re-encodes them: upright, without metadata,
decoded to the end, within the pixel limit, with a thumbnail."""

import io

import pytest
from PIL import Image, ImageSequence, PngImagePlugin

from messaging.errors import FileRefused
from messaging.files import images, sniffing
from tests.files import makers
from tests.files.uploading import animated_gif


def opened(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def close_to(pixel, color, tolerance=12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], color, strict=True))


RED, BLUE = (255, 0, 0), (0, 0, 255)


def test_exif_orientation_is_applied_and_metadata_removed():
    original = makers.jpeg_with_exif_rotation(60, 30)
    assert b"SecretCam" in original  # what must go is there to begin with
    result = images.process(original, sniffing.JPEG)
    stored = opened(result.content)
    assert stored.format == "JPEG"
    assert stored.size == (30, 60) == (result.width, result.height)
    # Orientation 6 turns the picture a quarter clockwise: its left half
    # (red) is now on top, its right half (blue) below.
    assert close_to(stored.getpixel((15, 10)), RED)
    assert close_to(stored.getpixel((15, 50)), BLUE)
    # No EXIF at all: no orientation to apply twice, no camera, no GPS.
    assert not stored.getexif()
    assert "exif" not in stored.info
    assert b"SecretCam" not in result.content
    assert b"Exif" not in result.content
    thumb = opened(result.thumbnail)
    assert thumb.format == "JPEG"
    assert thumb.size == (30, 60) == (result.thumbnail_width, result.thumbnail_height)
    assert close_to(thumb.getpixel((15, 10)), RED)


def test_png_text_chunks_and_colour_profiles_are_removed():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Secret Person")
    out = io.BytesIO()
    Image.new("RGB", (10, 10), "green").save(out, "PNG", pnginfo=info, icc_profile=b"\0" * 200)
    assert b"Secret Person" in out.getvalue()
    result = images.process(out.getvalue(), sniffing.PNG)
    stored = opened(result.content)
    assert stored.format == "PNG"
    assert b"Secret Person" not in result.content
    assert "icc_profile" not in stored.info
    assert stored.text == {}


def test_a_png_html_polyglot_loses_its_page():
    polyglot = makers.png_html_polyglot()
    assert b"<html" in polyglot
    result = images.process(polyglot, sniffing.PNG)
    assert b"<html" not in result.content
    assert b"<script" not in result.content
    assert opened(result.content).size == (64, 48)


def test_animated_gif_keeps_its_frames_and_its_thumbnail_is_the_first_frame():
    result = images.process(animated_gif(("red", "lime", "blue")), sniffing.GIF)
    stored = opened(result.content)
    frames = [frame.convert("RGB") for frame in ImageSequence.Iterator(stored)]
    assert len(frames) == 3
    assert [f.getpixel((5, 5)) for f in frames] == [RED, (0, 255, 0), BLUE]
    assert b"secret comment" not in result.content
    thumb = opened(result.thumbnail)
    assert thumb.format == "JPEG"  # no transparency
    assert close_to(thumb.getpixel((5, 5)), RED)


def test_a_still_gif_stays_one_frame():
    result = images.process(animated_gif(("red",)), sniffing.GIF)
    stored = opened(result.content)
    assert getattr(stored, "n_frames", 1) == 1
    assert close_to(stored.convert("RGB").getpixel((1, 1)), RED)


def test_thumbnails_fit_the_longest_side_and_keep_transparency(settings):
    settings.PARLEY = {**settings.PARLEY, "THUMBNAIL_MAX_PIXELS": 100}
    out = io.BytesIO()
    Image.new("RGBA", (400, 200), (255, 0, 0, 0)).save(out, "PNG")
    result = images.process(out.getvalue(), sniffing.PNG)
    assert (result.width, result.height) == (400, 200)
    assert (result.thumbnail_width, result.thumbnail_height) == (100, 50)
    assert result.thumbnail_type is sniffing.PNG
    thumb = opened(result.thumbnail)
    assert thumb.format == "PNG"
    assert thumb.getpixel((1, 1))[3] == 0


def test_small_images_are_not_enlarged():
    result = images.process(makers.png(64, 48), sniffing.PNG)
    assert (result.thumbnail_width, result.thumbnail_height) == (64, 48)


def test_webp_is_stored_as_webp():
    out = io.BytesIO()
    Image.new("RGB", (20, 10), "orange").save(out, "WEBP")
    result = images.process(out.getvalue(), sniffing.WEBP)
    assert opened(result.content).format == "WEBP"


def test_a_decompression_bomb_is_refused_from_its_header():
    with pytest.raises(FileRefused) as refused:
        images.process(makers.decompression_bomb(), sniffing.PNG)
    assert refused.value.code == "image_too_large"
    assert refused.value.http_status == 422


def test_the_pixel_limit_is_the_setting_and_pillow_is_told(settings):
    settings.PARLEY = {**settings.PARLEY, "MAX_IMAGE_PIXELS": 64 * 48 - 1}
    with pytest.raises(FileRefused) as refused:
        images.process(makers.png(64, 48), sniffing.PNG)
    assert refused.value.code == "image_too_large"
    assert Image.MAX_IMAGE_PIXELS == 64 * 48 - 1


def test_many_frames_count_against_the_pixel_limit(settings):
    settings.PARLEY = {**settings.PARLEY, "MAX_IMAGE_PIXELS": 40 * 30 * 2}
    with pytest.raises(FileRefused) as refused:
        images.process(animated_gif(("red", "lime", "blue")), sniffing.GIF)
    assert refused.value.code == "image_too_large"


@pytest.mark.parametrize(
    "content, file_type",
    [
        (makers.truncated(makers.jpeg_with_exif_rotation()), sniffing.JPEG),
        (makers.truncated(makers.png()), sniffing.PNG),
        (makers.truncated(animated_gif()), sniffing.GIF),
        (makers.png()[:40], sniffing.PNG),  # the header and nothing else
    ],
)
def test_truncated_images_are_damaged(content, file_type):
    with pytest.raises(FileRefused) as refused:
        images.process(content, file_type)
    assert refused.value.code == "damaged_file"


def test_bytes_of_another_format_are_damaged():
    """Pillow reads only the sniffed format: a GIF decoder never opens a
    file sniffed as a PNG."""
    with pytest.raises(FileRefused) as refused:
        images.process(animated_gif(), sniffing.PNG)
    assert refused.value.code == "damaged_file"


def test_unreadable_exif_does_not_refuse_a_sound_image():
    out = io.BytesIO()
    broken_exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03\x00\x00\x00\x01"
    Image.new("RGB", (20, 10), "red").save(out, "JPEG", exif=broken_exif)
    result = images.process(out.getvalue(), sniffing.JPEG)
    assert (result.width, result.height) == (20, 10)
    assert b"Exif" not in result.content


def test_decoding_takes_one_of_the_processes_few_slots(monkeypatch):
    """Every decode (an upload's, a link card's image) holds one of
    ``DECODES_AT_ONCE`` slots while it runs, and gives it back after, even
    when the image is refused."""
    held = []

    def decode(content, file_type):
        held.append(images._DECODES._value)
        raise images._damaged()

    monkeypatch.setattr(images, "_process", decode)
    with pytest.raises(FileRefused):
        images.process(b"", sniffing.PNG)
    assert held == [images.DECODES_AT_ONCE - 1]
    assert images._DECODES._value == images.DECODES_AT_ONCE
    # The link card's image goes through the same door.
    from messaging.threads.services import previews

    assert previews.images.process is images.process
