"""Turning a stored document into preview pages and text: PDF pages to PNG
with pypdfium2, office documents to PDF with headless LibreOffice, text and
CSV decoded. No database, no storage: paths and bytes in, bytes and text out
(``services.previews`` stores and records the result).

PDFium is C++ parsing bytes anyone may upload, and a hostile file can make
it loop or balloon: ``render_pdf_isolated`` runs it in a child process
(``python -m messaging.files.rendering``) that is killed when its time is
up, so a preview can always fail but never hang a worker or take it down.

pypdfium2 ships PDFium without its JavaScript engine (V8/XFA are not
built in): a PDF's /OpenAction or form scripts are never run here, only the
page content is drawn.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import json
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

logger = logging.getLogger(__name__)

# The project root: the child process imports this module from there.
ROOT = Path(__file__).resolve().parents[2]

# A page is drawn at the preview width; a freak page shape (a PDF may say a
# page is a mile tall) is capped at this many widths high.
MAX_PAGE_ASPECT = 4

# The PDF child's exit status for a file it refuses (its reason on stdout).
_REFUSED = 3

# The address space the PDF child may use.
CHILD_MEMORY_BYTES = 1024 * 1024 * 1024
# The address space LibreOffice may use: a conversion of an ordinary
# document maps under 512 MiB; a document made to balloon fails its preview
# instead of taking the worker's machine's memory.
OFFICE_MEMORY_BYTES = 2 * 1024 * 1024 * 1024

# Run argv[2:] with an address space of argv[1] bytes. soffice is a script
# that starts soffice.bin: a limit set before the exec holds for both. (Not
# ``preexec_fn``, which is unsafe in a process with threads.)
_EXEC_WITH_MEMORY_LIMIT = (
    "import os, resource, sys; limit = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit)); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


class RenderError(Exception):
    """The file cannot be previewed; ``str(error)`` is a short reason fit to
    show a user (no paths, no library internals)."""


class RenderTimeout(RenderError):
    pass


@dataclass(frozen=True)
class Page:
    """One rendered page: PNG bytes and their size in pixels."""

    data: bytes
    width: int
    height: int


class Rendered(NamedTuple):
    """``(pages, page_count, text)``."""

    pages: list[Page]
    page_count: int  # pages in the document; ``pages`` holds the first few
    text: str


def clean_text(text: str, max_chars: int) -> str:
    """Line breaks as ``\\n`` and no NUL (PostgreSQL text refuses it)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return text[:max_chars]


# --- PDF ---------------------------------------------------------------------


def render_pdf(
    source: str | Path | bytes, *, max_pages: int, width: int, max_chars: int | None = None
) -> Rendered:
    """The first ``max_pages`` pages drawn ``width`` pixels wide (PNG), the
    document's page count, and the text of all its pages up to
    ``max_chars`` (default ``EXTRACTED_TEXT_MAX_CHARS``). In this process:
    callers that take untrusted files use ``render_pdf_isolated``. Raises
    ``RenderError`` for a file PDFium cannot open (damaged, encrypted, not a
    PDF)."""
    import pypdfium2 as pdfium

    if max_chars is None:
        from django.conf import settings

        max_chars = settings.PARLEY["EXTRACTED_TEXT_MAX_CHARS"]

    try:
        document = pdfium.PdfDocument(source if isinstance(source, bytes) else str(source))
    except pdfium.PdfiumError as exc:
        raise RenderError("The PDF is damaged or protected.") from exc
    try:
        page_count = len(document)
        pages: list[Page] = []
        texts: list[str] = []
        collected = 0
        for index in range(page_count):
            page = document[index]
            try:
                if index < max_pages:
                    pages.append(_draw(page, width))
                if collected < max_chars:
                    textpage = page.get_textpage()
                    try:
                        text = textpage.get_text_bounded()
                    finally:
                        textpage.close()
                    texts.append(text)
                    collected += len(text) + 2
                elif index >= max_pages:
                    break
            finally:
                page.close()
        return Rendered(pages, page_count, clean_text("\n\n".join(texts).strip(), max_chars))
    except pdfium.PdfiumError as exc:
        raise RenderError("The PDF is damaged.") from exc
    finally:
        document.close()


def _draw(page, width: int) -> Page:
    import io

    page_width, page_height = page.get_size()
    if page_width <= 0 or page_height <= 0:
        raise RenderError("The PDF has a page without a size.")
    scale = min(width / page_width, width * MAX_PAGE_ASPECT / page_height)
    bitmap = page.render(scale=scale)
    try:
        image = bitmap.to_pil()
    finally:
        bitmap.close()
    # PDFium rounds the pixel size up: 612 pt at 900/612 comes out 901 wide.
    target_width = min(width, image.width)
    if image.width != target_width:
        target_height = max(1, round(image.height * target_width / image.width))
        image = image.resize((target_width, target_height))
    out = io.BytesIO()
    image.convert("RGB").save(out, "PNG", compress_level=6)
    return Page(out.getvalue(), image.width, image.height)


def render_pdf_isolated(
    path: str | Path,
    *,
    max_pages: int,
    width: int,
    max_chars: int,
    timeout: float,
    memory_bytes: int = CHILD_MEMORY_BYTES,
) -> Rendered:
    """``render_pdf`` in a child process killed after ``timeout`` seconds
    (``RenderTimeout``) and limited to ``memory_bytes`` of address space.
    The child writes its pages and a JSON summary into a folder of its own,
    removed afterwards."""
    if timeout <= 0:
        raise RenderTimeout("The preview took too long.")
    with tempfile.TemporaryDirectory(prefix="parley-render-") as outdir:
        command = [
            sys.executable,
            "-m",
            "messaging.files.rendering",
            str(path),
            outdir,
            "--max-pages",
            str(max_pages),
            "--width",
            str(width),
            "--max-chars",
            str(max_chars),
            "--memory-bytes",
            str(memory_bytes),
        ]
        done = run_killing_group(command, timeout=timeout, cwd=ROOT, env=_child_env())
        summary_path = Path(outdir) / "result.json"
        if done.returncode != 0 or not summary_path.exists():
            output = done.stdout.decode(errors="replace").strip()
            # The child prints a RenderError's reason as its last line;
            # anything else (a crash inside PDFium, the memory limit) is a
            # file that cannot be read, told in the log.
            if done.returncode == _REFUSED and output:
                raise RenderError(output.splitlines()[-1][:200])
            logger.warning("PDF renderer exited with %s: %s", done.returncode, output[-2000:])
            raise RenderError("The PDF could not be read.")
        summary = json.loads(summary_path.read_text())
        pages = [
            Page((Path(outdir) / p["file"]).read_bytes(), p["width"], p["height"])
            for p in summary["pages"]
        ]
        return Rendered(pages, summary["page_count"], summary["text"])


# --- Office documents ------------------------------------------------------------


def office_to_pdf(
    path: str | Path,
    *,
    timeout: float,
    outdir: str | Path,
    memory_bytes: int = OFFICE_MEMORY_BYTES,
) -> Path:
    """Convert ``path`` (docx, xlsx, pptx, odt, …) to PDF with headless
    LibreOffice, into ``outdir``; the PDF's path. Each conversion has a
    LibreOffice profile of its own (``-env:UserInstallation``): two
    conversions sharing one would wait on its lock, or one would quietly
    hand its work to the other's process. LibreOffice gets ``memory_bytes``
    of address space; past it the conversion fails (``RenderError``). After
    ``timeout`` seconds the whole process group (soffice starts soffice.bin)
    is killed and ``RenderTimeout`` raised."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise RenderError(
            "LibreOffice (soffice) is not installed, so office documents have no preview."
        )
    if timeout <= 0:
        raise RenderTimeout("The preview took too long.")
    path = Path(path)
    outdir = Path(outdir)
    with tempfile.TemporaryDirectory(prefix="parley-soffice-") as profile:
        _harden_profile(Path(profile))
        command = [
            sys.executable,
            "-c",
            _EXEC_WITH_MEMORY_LIMIT,
            str(memory_bytes),
            soffice,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--norestore",
            "--nologo",
            "--nolockcheck",
            "--convert-to",
            "pdf",
            "--outdir",
            str(outdir),
            str(path),
        ]
        # LibreOffice writes into $HOME too (fonts cache): keep it in the profile.
        done = run_killing_group(command, timeout=timeout, env=_child_env(HOME=profile))
    converted = outdir / (path.stem + ".pdf")
    if done.returncode != 0 or not converted.exists() or converted.stat().st_size == 0:
        logger.warning(
            "LibreOffice exited with %s: %s",
            done.returncode,
            done.stdout.decode(errors="replace").strip()[-2000:],
        )
        raise RenderError("The document could not be converted.")
    return converted


# LibreOffice's settings for a document nobody trusts, written into each
# conversion's fresh profile. Without them a document's linked images are
# fetched while it converts: an http:// link makes the worker request any
# address the uploader names (internal services, cloud metadata), and a
# file:// link draws a file of the worker's machine into the preview.
#   BlockUntrustedRefererLinks: no linked resource is loaded from a document
#     outside the trusted locations (there are none);
#   a manual proxy on a closed local port: anything that still goes to the
#     network fails at once;
#   links never updated (Writer, Calc); macros never run.
_UNTRUSTED_DOCUMENT_SETTINGS = {
    ("/org.openoffice.Office.Common/Security/Scripting", "BlockUntrustedRefererLinks"): "true",
    ("/org.openoffice.Office.Common/Security/Scripting", "DisableMacrosExecution"): "true",
    ("/org.openoffice.Office.Common/Security/Scripting", "MacroSecurityLevel"): "3",
    ("/org.openoffice.Inet/Settings", "ooInetProxyType"): "1",
    ("/org.openoffice.Inet/Settings", "ooInetHTTPProxyName"): "127.0.0.1",
    ("/org.openoffice.Inet/Settings", "ooInetHTTPProxyPort"): "9",
    ("/org.openoffice.Inet/Settings", "ooInetHTTPSProxyName"): "127.0.0.1",
    ("/org.openoffice.Inet/Settings", "ooInetHTTPSProxyPort"): "9",
    ("/org.openoffice.Inet/Settings", "ooInetFTPProxyName"): "127.0.0.1",
    ("/org.openoffice.Inet/Settings", "ooInetFTPProxyPort"): "9",
    ("/org.openoffice.Inet/Settings", "ooInetNoProxy"): "",
    ("/org.openoffice.Office.Writer/Content/Update", "Link"): "2",
    ("/org.openoffice.Office.Calc/Content/Update", "Link"): "2",
}


def _harden_profile(profile: Path) -> None:
    """Write ``_UNTRUSTED_DOCUMENT_SETTINGS`` where LibreOffice reads a
    profile's settings (``user/registrymodifications.xcu``)."""
    from xml.sax.saxutils import escape, quoteattr

    items = "".join(
        f"<item oor:path={quoteattr(group)}><prop oor:name={quoteattr(name)} "
        f'oor:op="fuse"><value>{escape(value)}</value></prop></item>\n'
        for (group, name), value in _UNTRUSTED_DOCUMENT_SETTINGS.items()
    )
    user = profile / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        f"{items}</oor:items>\n"
    )


def _child_env(**extra: str) -> dict[str, str]:
    """The environment of a process that reads uploaded bytes: what it needs
    to run and nothing of the worker's (no database URL, no keys)."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    return {**env, **extra}


def run_killing_group(
    command: list[str], *, timeout: float, **popen
) -> subprocess.CompletedProcess[bytes]:
    """``subprocess.run`` whose timeout kills the child's whole process group,
    not just the child (``subprocess.run`` alone would leave soffice.bin, or
    anything the child started, running). Raises ``RenderTimeout``."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **popen,
    )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise RenderTimeout("The preview took too long.") from None
    except BaseException:
        _kill_group(process)
        raise
    # A child may leave helpers behind in its group even when it exits.
    _kill_group(process)
    return subprocess.CompletedProcess(command, process.returncode, out, b"")


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


# --- Text ----------------------------------------------------------------------


def read_text(path: str | Path, *, max_chars: int) -> str:
    """A text or CSV file's text, up to ``max_chars``: UTF-8 (a BOM is
    dropped), UTF-16 when it starts with its BOM, otherwise Windows-1252,
    the usual encoding of a spreadsheet saved as CSV. Bytes that do not
    decode are replaced, never raised on."""
    with open(path, "rb") as f:
        # At most 4 bytes a character in UTF-8: enough bytes, never the whole
        # of a large file.
        data = f.read(max_chars * 4 + 4)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = _decode_utf8_prefix(data)
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    return clean_text(text, max_chars)


def _decode_utf8_prefix(data: bytes) -> str:
    """UTF-8, forgiving only a character cut in half at the end of what was
    read."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    return decoder.decode(data, final=False)


# --- The child process ----------------------------------------------------------------


def _child(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m messaging.files.rendering")
    parser.add_argument("pdf")
    parser.add_argument("outdir")
    parser.add_argument("--max-pages", type=int, required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--max-chars", type=int, required=True)
    parser.add_argument("--memory-bytes", type=int, default=CHILD_MEMORY_BYTES)
    args = parser.parse_args(argv)
    # A file that makes PDFium allocate without end fails here, in this
    # process, rather than pushing the worker's machine into swap. Pages
    # drawn 900 pixels wide need a few tens of megabytes.
    resource.setrlimit(resource.RLIMIT_AS, (args.memory_bytes, args.memory_bytes))
    started = time.monotonic()
    try:
        rendered = render_pdf(
            args.pdf, max_pages=args.max_pages, width=args.width, max_chars=args.max_chars
        )
    except RenderError as exc:
        print(str(exc))
        return _REFUSED
    outdir = Path(args.outdir)
    pages = []
    for number, page in enumerate(rendered.pages, start=1):
        name = f"page-{number}.png"
        (outdir / name).write_bytes(page.data)
        pages.append({"file": name, "width": page.width, "height": page.height})
    summary = {
        "page_count": rendered.page_count,
        "pages": pages,
        "text": rendered.text,
        "seconds": round(time.monotonic() - started, 3),
    }
    (outdir / "result.json").write_text(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
