"""Hostile uploads through the API: each refused with its code and nothing
stored, or stored in a form that cannot hurt (an image re-encoded)."""

import pytest

from messaging.files import storage
from messaging.files.models import Attachment
from tests.files import makers, uploading
from tests.files.uploading import (
    error_code,
    stored_files,
    upload,
    upload_url,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db]

# The upload tests' fixtures (tests/files/uploading.py).
api = uploading.api
group = uploading.group


@pytest.mark.parametrize(
    "content, name, status, code",
    [
        (makers.svg_with_script(), "icon.svg", 415, "unsupported_file"),
        (makers.svg_with_script(), "icon.png", 415, "unsupported_file"),
        (makers.html_page(), "page.html", 415, "unsupported_file"),
        (makers.html_page(), "notes.txt", 415, "unsupported_file"),
        (makers.elf_executable(), "x.png", 415, "unsupported_file"),
        (makers.decompression_bomb(), "big.png", 422, "image_too_large"),
        (makers.truncated(makers.jpeg_with_exif_rotation()), "cut.jpg", 422, "damaged_file"),
        (makers.truncated(makers.png()), "cut.png", 422, "damaged_file"),
        (makers.truncated(makers.pdf("one", "two")), "cut.pdf", 422, "damaged_file"),
        (makers.truncated(makers.docx()), "cut.docx", 422, "damaged_file"),
        (b"", "empty.txt", 422, "empty_file"),
    ],
    ids=[
        "svg",
        "svg-named-png",
        "html",
        "html-named-txt",
        "elf-named-png",
        "decompression-bomb",
        "truncated-jpeg",
        "truncated-png",
        "truncated-pdf",
        "truncated-docx",
        "empty",
    ],
)
def test_hostile_files_are_refused_and_nothing_is_stored(
    api, group, student, media_root, content, name, status, code
):
    client = api(student)
    response = upload(client, group, content, name)
    assert response.status_code == status, response.content
    assert error_code(response) == code
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []
    # The client goes on working.
    assert upload(client, group, makers.png(), "fine.png").status_code == 201


def test_a_png_html_polyglot_is_stored_without_its_page(api, group, student):
    response = upload(api(student), group, makers.png_html_polyglot(), "cute.png")
    assert response.status_code == 201
    attachment = Attachment.objects.get(pk=response.json()["id"])
    assert attachment.content_type == "image/png"
    for key in (attachment.storage_key, attachment.thumbnail_key):
        with storage.open_file(key) as f:
            content = f.read()
        assert b"<html" not in content
        assert b"<script" not in content


def test_a_pdf_with_javascript_is_stored_as_a_pdf(api, group, student):
    """Accepted (it is a PDF), and stored as one: it is only ever downloaded
    or shown as rendered pages, never opened by the browser's PDF viewer."""
    response = upload(api(student), group, makers.pdf(javascript="app.alert(1)"), "x.html")
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["content_type"], body["name"]) == ("pdf", "application/pdf", "x.pdf")


def test_the_browser_content_type_is_not_believed(api, group, student, media_root):
    """The part says image/png; the bytes are HTML."""
    boundary = "b0undary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="cat.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + makers.html_page()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = api(student).generic(
        "POST", upload_url(group), body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 415
    assert stored_files(media_root) == []


def test_an_oversized_declared_body_is_refused_before_it_is_read(api, group, student, settings):
    """Content-Length over the limit (and the multipart allowance): 413 at
    once, whoever asks; the body (here not even multipart) is never parsed,
    which would have answered 400."""
    settings.PARLEY = {**settings.PARLEY, "MAX_UPLOAD_BYTES": 1_000}
    declared = str(1_000 + 64 * 1024 + 1)
    for client in (api(student), api()):
        response = client.generic(
            "POST",
            upload_url(group),
            b"--x\r\nnot multipart at all",
            content_type="multipart/form-data; boundary=x",
            CONTENT_LENGTH=declared,
        )
        assert response.status_code == 413
        assert error_code(response) == "file_too_large"
    assert not Attachment.objects.exists()


def test_a_body_without_an_honest_length_is_cut_off_while_it_is_read(
    api, group, student, settings, monkeypatch, media_root
):
    """Within the multipart allowance, but the file is over the limit: the
    request's first upload handler refuses it as it arrives, before the file
    is spooled whole or the upload service sees it."""
    from messaging.files.api import uploads as upload_api

    def never(**kwargs):
        raise AssertionError("the service was reached")

    monkeypatch.setattr(upload_api.uploads, "create_upload", never)
    settings.PARLEY = {**settings.PARLEY, "MAX_UPLOAD_BYTES": 1_000}
    response = upload(api(student), group, b"a" * 1_001, "big.txt")
    assert response.status_code == 413
    assert error_code(response) == "file_too_large"
    assert stored_files(media_root) == []


def test_a_zip_bomb_is_refused_from_its_directory(api, group, student, media_root, monkeypatch):
    import io
    import zipfile

    from messaging.files.services import uploads

    monkeypatch.setattr(uploads, "MAX_UNZIPPED_BYTES", 1024 * 1024)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (2 * 1024 * 1024))
    response = upload(api(student), group, bomb.getvalue(), "bomb.zip")
    assert response.status_code == 422, response.content
    assert error_code(response) == "damaged_file"
    assert stored_files(media_root) == []


@pytest.mark.parametrize("zip64", [False, True], ids=["zip", "zip64"])
def test_a_zip_listing_too_many_members_is_refused_before_its_directory_is_read(
    api, group, student, media_root, monkeypatch, zip64
):
    """A directory of many empty members costs its reading, not its
    expansion: it is refused from the length the end record gives it, and
    zipfile never parses it."""
    import io
    import zipfile

    from messaging.files.services import uploads

    monkeypatch.setattr(uploads, "MAX_ZIP_DIRECTORY_BYTES", 64 * 1024)
    if zip64:
        # Past 65,535 members zipfile writes the zip64 end records: so it
        # does here past one.
        monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w", zipfile.ZIP_STORED) as archive:
        for n in range(2_000):
            archive.writestr(f"{n:08}.txt", b"")
    content = many.getvalue()
    assert (b"PK\x06\x06" in content) == zip64
    if zip64:
        # zipfile believes the zip64 record: the classic one may say anything.
        end = content.rfind(b"PK\x05\x06")
        content = content[: end + 12] + bytes(4) + content[end + 16 :]

    def not_read(*args, **kwargs):
        raise AssertionError("the directory was parsed")

    monkeypatch.setattr(zipfile, "ZipFile", not_read)
    response = upload(api(student), group, content, "many.zip")
    assert response.status_code == 422, response.content
    assert error_code(response) == "damaged_file"
    assert response.json()["error"]["message"] == "The archive lists too many files."
    assert stored_files(media_root) == []
