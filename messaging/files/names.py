"""The name a stored file is shown and downloaded under.

Made from the uploader's name, but nothing in it is trusted: no path, no
characters that hide or reorder text, and an extension that says what the
bytes are (``sniffing``), so ``evil.png`` that is a PDF downloads as
``evil.pdf``. Storage keys never use it (``storage.key_for``).
"""

import os
import re
import unicodedata

from messaging.files.sniffing import FileType

MAX_NAME_CHARS = 120
FALLBACK_STEM = "file"

# Bidirectional controls (they can make "txt.exe" read "exe.txt") and
# zero-width characters (they hide text). Other control and format
# characters (categories Cc, Cf) go as well, below.
_INVISIBLE = re.compile(
    "[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u180e\u00ad\u034f\ufff9-\ufffb]"
)
_SPACES = re.compile(r"\s+")


def _visible(name: str) -> str:
    name = _INVISIBLE.sub("", name)
    return "".join(
        " " if unicodedata.category(c) in {"Zl", "Zp"} else c
        for c in name
        if unicodedata.category(c) not in {"Cc", "Cf", "Cs", "Co", "Cn"} or c in "\t\n\r"
    )


def sanitize(name: str, file_type: FileType) -> str:
    """``name`` made safe to show and to offer as a download of a file of
    ``file_type``: its last path part (either slash), NFC, without control,
    format, bidi or zero-width characters, without leading dots, runs of
    whitespace one space, at most ``MAX_NAME_CHARS`` characters with the
    extension kept, and the extension the type's canonical one when it
    names another type. Nothing left: ``file.<ext>``."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = _SPACES.sub(" ", _visible(name)).strip()
    if name.lower() in file_type.extensions:
        name = ""  # ".pdf": an extension with no name before it
    name = name.lstrip(". ").rstrip(". ")
    stem, extension = os.path.splitext(name)
    if extension.lower() in file_type.extensions:
        extension = extension.lower()
    else:
        # A short alphanumeric suffix is a (wrong) extension and is replaced
        # ("evil.png" -> "evil.pdf"); anything else stays part of the name
        # ("v1.2 notes" -> "v1.2 notes.txt").
        if not _is_extension(extension):
            stem = name
        extension = file_type.extension
    stem = stem.rstrip(". ").strip() or FALLBACK_STEM
    stem = stem[: MAX_NAME_CHARS - len(extension)].rstrip(". ").strip() or FALLBACK_STEM
    return stem + extension


def _is_extension(suffix: str) -> bool:
    return 1 <= len(suffix) - 1 <= 5 and suffix[1:].isalnum()
