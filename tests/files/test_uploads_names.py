"""Stored names: the uploader's name made safe, its extension the type's."""

import pytest

from messaging.files import names, sniffing


@pytest.mark.parametrize(
    "given, file_type, expected",
    [
        ("../../etc/passwd", sniffing.TEXT, "passwd.txt"),
        ("..\\..\\windows\\win.ini", sniffing.TEXT, "win.txt"),
        ("C:\\Users\\ada\\essay.pdf", sniffing.PDF, "essay.pdf"),
        ("evil.png", sniffing.PDF, "evil.pdf"),
        ("photo.JPEG", sniffing.JPEG, "photo.jpeg"),
        ("photo", sniffing.JPEG, "photo.jpg"),
        ("page.html", sniffing.TEXT, "page.txt"),
        ("v1.2 final notes", sniffing.TEXT, "v1.2 final notes.txt"),
        (".htaccess", sniffing.TEXT, "htaccess.txt"),
        ("...", sniffing.PNG, "file.png"),
        (".PNG", sniffing.PNG, "file.png"),
        ("", sniffing.PNG, "file.png"),
        ("  lots   of\tspace  .csv", sniffing.CSV, "lots of space.csv"),
        # Right-to-left override: "harmless\u202egnp.exe" reads "harmlessexe.png".
        ("harmless\u202egnp.exe", sniffing.PNG, "harmlessgnp.png"),
        ("zero\u200bwidth\u2060joined.pdf", sniffing.PDF, "zerowidthjoined.pdf"),
        ("bell\x07and\x00nul.txt", sniffing.TEXT, "bellandnul.txt"),
        ("line\nbreak.txt", sniffing.TEXT, "line break.txt"),
        ("cafe\u0301.pdf", sniffing.PDF, "caf\u00e9.pdf"),  # NFC
    ],
)
def test_names_are_sanitised(given, file_type, expected):
    assert names.sanitize(given, file_type) == expected


def test_long_names_keep_their_extension():
    name = names.sanitize("x" * 300 + ".docx", sniffing.PDF)
    assert len(name) == names.MAX_NAME_CHARS
    assert name.endswith("x.pdf")
