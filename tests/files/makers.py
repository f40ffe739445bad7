"""Real files the tests make: images, PDFs, an office document, text, and
the hostile ones. Each returns bytes."""

import io
import zlib

from PIL import Image

from messaging.management.demo_files import pdf_from_objects


def jpeg_with_exif_rotation(width: int = 60, height: int = 30) -> bytes:
    """A ``width``×``height`` JPEG whose EXIF says "rotate 90° clockwise"
    (orientation 6), with a camera make and GPS position that must not
    survive. Shown upright it is ``height``×``width``. Its left half is red
    and its right half blue, so a test can see the rotation was applied."""
    image = Image.new("RGB", (width, height), "red")
    image.paste(Image.new("RGB", (width // 2, height), "blue"), (width // 2, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png(width: int = 64, height: int = 48, color: str = "green") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def animated_gif(width: int = 40, height: int = 40, frames: int = 3) -> bytes:
    # Frames of clearly different colours: Pillow merges frames that look alike.
    colours = ["red", "lime", "blue", "yellow", "fuchsia", "aqua"]
    images = [Image.new("RGB", (width, height), colours[i % len(colours)]) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def pdf(*page_texts: str, javascript: str | None = None) -> bytes:
    """A PDF with one page per text (Helvetica, selectable text). With
    ``javascript``, the document runs it on open (/OpenAction)."""
    page_texts = page_texts or ("Hello from a PDF",)
    count = len(page_texts)
    # 1 catalog, 2 pages, 3 font, then per page: page object, content stream.
    first_page = 4
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(count)).encode()
    catalog = b"<< /Type /Catalog /Pages 2 0 R"
    if javascript is not None:
        catalog += b" /OpenAction << /S /JavaScript /JS (" + javascript.encode() + b") >>"
    objects = [
        catalog + b" >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(page_texts):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = b"BT /F1 24 Tf 72 700 Td (" + escaped.encode("latin-1") + b") Tj ET"
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (first_page + 2 * i + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    return pdf_from_objects(objects)


def docx(*paragraphs: str) -> bytes:
    from docx import Document

    document = Document()
    for paragraph in paragraphs or ("Hello from a Word document",):
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def text(content: str = "line one\nline two <b>not bold</b>\n") -> bytes:
    return content.encode()


def csv_file() -> bytes:
    return b"name,score\nAda,10\n<script>alert(1)</script>,3\n"


# --- Hostile files ------------------------------------------------------------


def png_html_polyglot() -> bytes:
    """A valid PNG with an HTML page (with script) appended to it."""
    return png() + b"<html><body><script>document.title='pwned'</script></body></html>"


def svg_with_script() -> bytes:
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>document.title='pwned'</script><rect width='10' height='10'/></svg>"
    )


def html_page() -> bytes:
    return b"<!DOCTYPE html><html><body><script>document.title='pwned'</script></body></html>"


def elf_executable() -> bytes:
    """The start of a Linux executable (to be named ``.png``)."""
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200


def decompression_bomb(side: int = 20_000) -> bytes:
    """A PNG of ``side``×``side`` pixels that compresses to a few hundred KB:
    its header alone says it is too big to open."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
        )

    header = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def truncated(content: bytes) -> bytes:
    """The first half of ``content``."""
    return content[: len(content) // 2]
