"""Images as Parley stores them: decoded fully, turned upright, re-encoded
without any metadata, with a thumbnail.

What is stored is never what was uploaded: EXIF (camera, GPS position),
XMP, ICC profiles, comments and anything appended after the image (a
PNG/HTML polyglot's page) are gone, and a file that does not decode to the
end is refused. Images with more pixels than ``MAX_IMAGE_PIXELS`` are
refused from their header, before any pixel is decoded (decompression
bombs).
"""

import io
import threading
from dataclasses import dataclass

from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, ImageSequence

from messaging.errors import FileRefused
from messaging.files.sniffing import GIF, JPEG, PNG, WEBP, FileType

JPEG_QUALITY = 88
# Pillow's name for each image type Parley stores.
_PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG", GIF: "GIF", WEBP: "WEBP"}

# Decoding an image within the pixel limit can take hundreds of MB and
# seconds of CPU: at most this many at once in a process, whoever asks (an
# upload, a link card's image), so a burst queues instead of exhausting the
# process's memory.
DECODES_AT_ONCE = 2
_DECODES = threading.BoundedSemaphore(DECODES_AT_ONCE)


@dataclass(frozen=True)
class ProcessedImage:
    content: bytes  # the image to store, in its own type
    width: int
    height: int
    thumbnail: bytes
    thumbnail_type: FileType  # JPEG, or PNG when the image has transparency
    thumbnail_width: int
    thumbnail_height: int


def _max_pixels() -> int:
    return settings.PARLEY["MAX_IMAGE_PIXELS"]


def _damaged() -> FileRefused:
    return FileRefused(_("The image is damaged or incomplete."), code="damaged_file")


def _too_large() -> FileRefused:
    return FileRefused(
        _("The image has too many pixels (at most %(count)s).")
        % {"count": number_format(_max_pixels(), force_grouping=True)},
        code="image_too_large",
    )


def _has_alpha(image: Image.Image) -> bool:
    """Whether any pixel is (partly) transparent."""
    if "transparency" in image.info or image.mode in {"PA", "RGBa", "La"}:
        image = image.convert("RGBA")
    if "A" not in image.getbands():
        return False
    lowest, _highest = image.getchannel("A").getextrema()
    return isinstance(lowest, int | float) and lowest < 255


def _plain(image: Image.Image) -> Image.Image:
    """A copy that carries pixels only: Pillow writes what ``info`` holds
    (ICC profile, EXIF, comments, XMP) unless told otherwise. A palette
    image's transparent index is part of its pixels, and stays."""
    copy = image.copy()
    transparency = image.info.get("transparency")
    copy.info = {} if transparency is None else {"transparency": transparency}
    return copy


def _encode(image: Image.Image, file_type: FileType, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, _PILLOW_FORMATS[file_type], **options)
    return out.getvalue()


def _frames(image: Image.Image) -> tuple[list[Image.Image], list[int]]:
    """Every frame of an animated image, composed as shown, and how long
    each shows (ms), within the pixel budget (frames × width × height): a
    small image of thousands of frames is a bomb too."""
    frames, durations = [], []
    pixels = 0
    for frame in ImageSequence.Iterator(image):
        pixels += frame.width * frame.height
        if pixels > _max_pixels():
            raise _too_large()
        durations.append(frame.info.get("duration", 100))
        frames.append(_plain(frame.convert("RGBA")))
    return frames, durations


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says. EXIF that cannot be
    read turns nothing: the pixels are sound, and no EXIF is kept anyway."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        return image


def _reencode(image: Image.Image, file_type: FileType) -> tuple[bytes, Image.Image]:
    """The image's bytes in ``file_type`` without metadata, and its first
    frame (for the thumbnail). Only GIFs keep their animation; an animated
    WebP or PNG is stored as its first frame."""
    if file_type is GIF and getattr(image, "is_animated", False):
        frames, durations = _frames(image)
        content = _encode(
            frames[0],
            GIF,
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=image.info.get("loop", 0),
            # Frames are whole pictures: clear each before the next.
            disposal=2,
        )
        return content, frames[0]
    image.load()
    upright = _plain(_upright(image))
    if file_type is JPEG:
        if upright.mode not in {"RGB", "L"}:
            upright = upright.convert("RGB")
        return _encode(upright, JPEG, quality=JPEG_QUALITY), upright
    if file_type is PNG:
        return _encode(upright, PNG, optimize=True), upright
    if file_type is WEBP:
        if upright.mode not in {"RGB", "RGBA"}:
            upright = upright.convert("RGBA" if _has_alpha(upright) else "RGB")
        return _encode(upright, WEBP, quality=JPEG_QUALITY), upright
    # A still GIF: one frame, its palette and transparent index kept.
    return _encode(upright, GIF), upright


def _thumbnail(first_frame: Image.Image) -> tuple[bytes, FileType, Image.Image]:
    side = settings.PARLEY["THUMBNAIL_MAX_PIXELS"]
    if _has_alpha(first_frame):
        thumb = first_frame.convert("RGBA")
        thumb.thumbnail((side, side))
        return _encode(thumb, PNG, optimize=True), PNG, thumb
    thumb = first_frame.convert("RGB")
    thumb.thumbnail((side, side))
    return _encode(thumb, JPEG, quality=JPEG_QUALITY), JPEG, thumb


def process(content: bytes, file_type: FileType) -> ProcessedImage:
    """``_process``, at most ``DECODES_AT_ONCE`` at a time in a process."""
    with _DECODES:
        return _process(content, file_type)


def _process(content: bytes, file_type: FileType) -> ProcessedImage:
    """Decode ``content`` (sniffed as ``file_type``, an image type) and make
    what is stored: the upright image re-encoded in its own type with no
    metadata (JPEG quality 88; PNG optimized; GIF animation kept, frames
    composed), and a thumbnail of the first frame, at most
    ``THUMBNAIL_MAX_PIXELS`` on its longest side (JPEG; PNG when the image
    has transparency).

    Raises ``FileRefused``: ``image_too_large`` over ``MAX_IMAGE_PIXELS``
    (read from the header; Pillow's own limit is set to the same), or
    ``damaged_file`` when the image does not decode to its end.
    """
    # Pillow's own bomb check, for any path that opens an image: it refuses
    # at twice this (and warns above it), after Parley's check below.
    Image.MAX_IMAGE_PIXELS = _max_pixels()
    try:
        image = Image.open(io.BytesIO(content), formats=[_PILLOW_FORMATS[file_type]])
    except Image.DecompressionBombError:
        raise _too_large() from None
    except Exception:
        # UnidentifiedImageError, a broken header: whatever a decoder raises
        # on bytes it cannot read, the file is damaged, not the server.
        raise _damaged() from None
    with image:
        pixels = image.width * image.height
        if pixels > _max_pixels():
            raise _too_large()
        try:
            stored, first_frame = _reencode(image, file_type)
            thumbnail, thumbnail_type, thumb = _thumbnail(first_frame)
        except FileRefused:
            raise
        except Image.DecompressionBombError:
            raise _too_large() from None
        except Exception:
            # Pillow's "image file is truncated", broken chunks and CRCs,
            # and a decoder's IndexError on a GIF cut short.
            raise _damaged() from None
    width, height = first_frame.size
    return ProcessedImage(
        content=stored,
        width=width,
        height=height,
        thumbnail=thumbnail,
        thumbnail_type=thumbnail_type,
        thumbnail_width=thumb.width,
        thumbnail_height=thumb.height,
    )
