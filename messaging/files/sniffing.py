"""What a file is, decided from its bytes.

``filetype`` reads the magic numbers at the head of the file; Parley's
allowlist decides what may be stored. Neither the name nor the browser's
``Content-Type`` decides the type: the name only tells CSV from plain text,
and only once the bytes are known to be text.

Allowed:

* images: JPEG, PNG (an APNG counts as a PNG), GIF, WebP;
* PDF;
* office documents: docx, xlsx, pptx, odt, ods, odp, and the old binary
  doc, xls, ppt;
* text: plain text and CSV: no magic number, UTF-8 (a BOM is fine) or
  ASCII, no NUL byte, and not markup: text whose first non-blank character
  opens a tag (``<!doctype``, ``<html``, ``<svg``, ``<?xml``, ``<script``,
  any ``<`` followed by a letter, ``!``, ``?`` or ``/``) is refused, so HTML,
  SVG and XML are never stored;
* archives: zip, gzip, tar, 7z (stored and offered for download, never
  opened).

Everything else raises ``UnsupportedFile``.
"""

import os
import re
from dataclasses import dataclass

import filetype
from django.utils.translation import gettext as _

from messaging.errors import UnsupportedFile
from messaging.files.models import AttachmentKind


@dataclass(frozen=True)
class FileType:
    """An allowed type: its kind, its MIME type, the extensions that name it
    (the first one canonical, with its dot)."""

    kind: str
    content_type: str
    extensions: tuple[str, ...]
    # Held in a zip container, whose central directory must be readable.
    zipped: bool = False

    @property
    def extension(self) -> str:
        return self.extensions[0]


JPEG = FileType(AttachmentKind.IMAGE, "image/jpeg", (".jpg", ".jpeg", ".jpe"))
PNG = FileType(AttachmentKind.IMAGE, "image/png", (".png",))
GIF = FileType(AttachmentKind.IMAGE, "image/gif", (".gif",))
WEBP = FileType(AttachmentKind.IMAGE, "image/webp", (".webp",))
PDF = FileType(AttachmentKind.PDF, "application/pdf", (".pdf",))
TEXT = FileType(AttachmentKind.TEXT, "text/plain", (".txt", ".text", ".log", ".md"))
CSV = FileType(AttachmentKind.TEXT, "text/csv", (".csv",))
ZIP = FileType(AttachmentKind.ARCHIVE, "application/zip", (".zip",), zipped=True)


def _office(content_type: str, extension: str, *, zipped: bool = True) -> FileType:
    return FileType(AttachmentKind.OFFICE, content_type, (extension,), zipped=zipped)


# filetype's name for a type (its ``extension``) -> what Parley stores.
_ALLOWED: dict[str, FileType] = {
    "jpg": JPEG,
    "png": PNG,
    "apng": PNG,
    "gif": GIF,
    "webp": WEBP,
    "pdf": PDF,
    "docx": _office(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"
    ),
    "xlsx": _office("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    "pptx": _office(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx"
    ),
    "odt": _office("application/vnd.oasis.opendocument.text", ".odt"),
    "ods": _office("application/vnd.oasis.opendocument.spreadsheet", ".ods"),
    "odp": _office("application/vnd.oasis.opendocument.presentation", ".odp"),
    "doc": _office("application/msword", ".doc", zipped=False),
    "xls": _office("application/vnd.ms-excel", ".xls", zipped=False),
    "ppt": _office("application/vnd.ms-powerpoint", ".ppt", zipped=False),
    "zip": ZIP,
    "gz": FileType(AttachmentKind.ARCHIVE, "application/gzip", (".gz", ".tgz")),
    "tar": FileType(AttachmentKind.ARCHIVE, "application/x-tar", (".tar",)),
    "7z": FileType(AttachmentKind.ARCHIVE, "application/x-7z-compressed", (".7z",)),
}

# After optional whitespace (and a BOM, removed before): "<" opening a tag,
# a declaration, a processing instruction or a closing tag. Browsers and
# XML readers take such a file for markup, whatever it is called.
_MARKUP = re.compile(rb"\A\s*<[A-Za-z!?/]")
_BOM = b"\xef\xbb\xbf"


def _is_text(content: bytes) -> bool:
    if b"\x00" in content:
        return False
    try:
        content.removeprefix(_BOM).decode("utf-8")  # ASCII is UTF-8
    except UnicodeDecodeError:
        return False
    return True


def _is_markup(content: bytes) -> bool:
    return _MARKUP.match(content.removeprefix(_BOM)) is not None


def sniff(content: bytes, name: str = "") -> FileType:
    """The allowed type of ``content`` (the whole file), or
    ``UnsupportedFile``. ``name`` (the uploader's) only chooses CSV over
    plain text for a file whose bytes are text."""
    detected = filetype.guess(content)
    if detected is not None:
        allowed = _ALLOWED.get(detected.extension)
        if allowed is None:
            raise UnsupportedFile(
                _("Files of this type (%(type)s) cannot be shared.") % {"type": detected.mime}
            )
        return allowed
    if not _is_text(content):
        raise UnsupportedFile(_("Files of this type cannot be shared."))
    if _is_markup(content):
        raise UnsupportedFile(_("HTML, SVG and XML files cannot be shared."))
    extension = os.path.splitext(name)[1].lower()
    return CSV if extension in CSV.extensions else TEXT
