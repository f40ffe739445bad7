"""Fixtures and helpers of the upload tests (imported by name by
test_uploads*.py and test_upload_attacks.py)."""

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from messaging import services
from tests.files import makers


@pytest.fixture
def api():
    """``api(user)``: a session client for ``user``; ``api()`` anonymous."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def group(mentor, student, assigned):
    """A group run by ``mentor`` with ``student`` in it."""
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Drafts"
    )


@pytest.fixture
def outsider(make_user):
    return make_user(Role.STUDENT, name="Olive Outsider")


@pytest.fixture
def denials_for():
    """``denials_for(user)``: the access.denied audit rows for ``user``."""
    from messaging.models import AuditAction, AuditLog

    def rows(user):
        return list(AuditLog.objects.filter(actor=user, action=AuditAction.ACCESS_DENIED))

    return rows


def upload_url(conversation_or_id) -> str:
    pk = getattr(conversation_or_id, "pk", conversation_or_id)
    return f"/api/conversations/{pk}/attachments/"


def named(content: bytes, name: str) -> io.BytesIO:
    """A file object the test client sends as a multipart file part."""
    part = io.BytesIO(content)
    part.name = name
    return part


def upload(client, conversation, content: bytes, name: str):
    return client.post(upload_url(conversation), {"file": named(content, name)}, format="multipart")


def raw_multipart(content: bytes, filename: str, *, field: str = "file") -> tuple[bytes, str]:
    """A multipart body written by hand: the test client would reduce the
    file name to its base name before the server ever saw it."""
    boundary = "parleyboundary"
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def stored_files(media_root: Path) -> list[Path]:
    if not media_root.exists():
        return []
    return sorted(p for p in media_root.rglob("*") if p.is_file())


def error_code(response) -> str:
    return response.json()["error"]["code"]


# --- Files the makers do not make ---------------------------------------------------


def webp() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (20, 10), "orange").save(out, "WEBP")
    return out.getvalue()


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes/readme.txt", "hello")
    return out.getvalue()


def odt() -> bytes:
    """The frame of an OpenDocument text: its ``mimetype`` entry first,
    stored uncompressed, as the format requires."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


def gzip_file() -> bytes:
    import gzip

    return gzip.compress(b"some log lines\n" * 10)


def tar_archive() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        data = b"hello"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def seven_zip() -> bytes:
    """A 7z signature header (the magic and version; Parley never opens one)."""
    return b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24


def animated_gif(colors=("red", "lime", "blue"), size=(40, 30)) -> bytes:
    """An animated GIF whose frames differ (Pillow folds identical frames
    into one), with a comment that must not survive."""
    from PIL import Image

    frames = [Image.new("RGB", size, color) for color in colors]
    out = io.BytesIO()
    frames[0].save(
        out,
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=[100, 200, 300][: len(frames)],
        loop=0,
        comment=b"secret comment",
    )
    return out.getvalue()


GOOD_FILES = {
    # name: (content maker, upload name, kind, content type, stored name)
    "jpeg": (makers.jpeg_with_exif_rotation, "photo.JPG", "image", "image/jpeg", "photo.jpg"),
    "png": (makers.png, "diagram.png", "image", "image/png", "diagram.png"),
    "gif": (animated_gif, "wave.gif", "image", "image/gif", "wave.gif"),
    "gif-maker": (makers.animated_gif, "still.gif", "image", "image/gif", "still.gif"),
    "webp": (webp, "sticker.webp", "image", "image/webp", "sticker.webp"),
    "pdf": (makers.pdf, "essay.pdf", "pdf", "application/pdf", "essay.pdf"),
    "docx": (
        makers.docx,
        "draft.docx",
        "office",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "draft.docx",
    ),
    "odt": (odt, "draft.odt", "office", "application/vnd.oasis.opendocument.text", "draft.odt"),
    "text": (makers.text, "notes.txt", "text", "text/plain", "notes.txt"),
    "csv": (makers.csv_file, "scores.csv", "text", "text/csv", "scores.csv"),
    "zip": (zip_archive, "bundle.zip", "archive", "application/zip", "bundle.zip"),
    "gzip": (gzip_file, "log.gz", "archive", "application/gzip", "log.gz"),
    "tar": (tar_archive, "bundle.tar", "archive", "application/x-tar", "bundle.tar"),
    "7z": (seven_zip, "bundle.7z", "archive", "application/x-7z-compressed", "bundle.7z"),
}
