"""The type comes from the bytes: every allowed kind recognised, everything
else refused, and neither the name nor anything else about the upload
changes what the bytes are."""

import pytest

from messaging.errors import UnsupportedFile
from messaging.files import sniffing
from tests.files import makers
from tests.files.uploading import GOOD_FILES


@pytest.mark.parametrize("which", sorted(GOOD_FILES))
def test_every_allowed_file_is_recognised(which):
    make, name, kind, content_type, _ = GOOD_FILES[which]
    detected = sniffing.sniff(make(), name)
    assert (detected.kind, detected.content_type) == (kind, content_type)


@pytest.mark.parametrize(
    "which, extension",
    [("jpeg", ".jpg"), ("png", ".png"), ("pdf", ".pdf"), ("docx", ".docx"), ("text", ".txt")],
)
def test_the_canonical_extension_comes_from_the_type(which, extension):
    make, *_ = GOOD_FILES[which]
    assert sniffing.sniff(make(), "whatever.bin").extension == extension


@pytest.mark.parametrize(
    "content, name, expected",
    [
        (makers.pdf(), "picture.png", "application/pdf"),
        (makers.png(), "report.pdf", "image/png"),
        (makers.docx(), "archive.zip", GOOD_FILES["docx"][3]),
        (makers.csv_file(), "scores.txt", "text/plain"),  # text: the name picks CSV only
        (makers.text(), "notes.CSV", "text/csv"),
        (makers.text(), "", "text/plain"),
    ],
)
def test_the_name_never_decides_the_type(content, name, expected):
    assert sniffing.sniff(content, name).content_type == expected


@pytest.mark.parametrize(
    "content, name",
    [
        (makers.svg_with_script(), "icon.svg"),
        (makers.svg_with_script(), "icon.png"),
        (makers.html_page(), "page.txt"),
        (makers.elf_executable(), "x.png"),
        (b'<?xml version="1.0"?><note>hi</note>', "data.xml"),
        (b"\xef\xbb\xbf  \n<html><script>alert(1)</script></html>", "page.txt"),
        (b"\n\t <!DOCTYPE html><p>hi</p>", "notes.txt"),
        (b"<script>alert(1)</script>", "notes.csv"),
        (b"<svg onload=alert(1)>", "a.txt"),
        (b"<!-- a comment -->", "a.txt"),
        (b"</p>", "a.txt"),
        (b"plain text with a NUL \x00 byte", "a.txt"),
        ("latin-1 caf\xe9".encode("latin-1"), "a.txt"),  # not UTF-8
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 64, "setup.pdf"),  # Windows exe
        (b"\xff\xfb\x90\x64" + b"\x00" * 400, "song.txt"),  # MP3 frames
    ],
)
def test_everything_else_is_refused(content, name):
    with pytest.raises(UnsupportedFile) as refused:
        sniffing.sniff(content, name)
    assert refused.value.code == "unsupported_file"
    assert refused.value.http_status == 415


@pytest.mark.parametrize(
    "content",
    [
        b"<3 you all",  # "<" that opens no tag
        "\ufeffcaf\u00e9 \u2615\n".encode(),  # UTF-8 with a BOM
        b"a < b and c > d\n",
        b"name,score\n<b>,1\n",  # markup later in the file is text
    ],
)
def test_text_that_merely_contains_angle_brackets_is_text(content):
    assert sniffing.sniff(content, "notes.txt").content_type == "text/plain"


@pytest.mark.parametrize(
    "maker, content_type",
    [
        (makers.jpeg_with_exif_rotation, "image/jpeg"),
        (makers.png, "image/png"),
        (makers.animated_gif, "image/gif"),
        (makers.pdf, "application/pdf"),
        (makers.docx, GOOD_FILES["docx"][3]),
        (makers.text, "text/plain"),
        (makers.csv_file, "text/csv"),
        # Images by their bytes; what makes them hostile is for the image
        # step (the polyglot's page is dropped, the bomb refused).
        (makers.png_html_polyglot, "image/png"),
        (makers.decompression_bomb, "image/png"),
        (makers.svg_with_script, None),
        (makers.html_page, None),
        (makers.elf_executable, None),
    ],
    ids=lambda value: getattr(value, "__name__", None) or str(value),
)
def test_every_maker(maker, content_type):
    name = "data.csv" if maker is makers.csv_file else "x.png"
    if content_type is None:
        with pytest.raises(UnsupportedFile):
            sniffing.sniff(maker(), name)
    else:
        assert sniffing.sniff(maker(), name).content_type == content_type
