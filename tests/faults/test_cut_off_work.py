"""Fault case 8 (docs/reliability.md): work cut off halfway leaves nothing
half-made. An upload whose connection ends before its body is complete
stores no file and no row, on a real server process (production profile),
and the server goes on taking uploads; a preview job whose Celery worker is
killed (SIGKILL, mid-conversion) shows nothing meanwhile, and runs again on
the next worker (``acks_late``) to a complete preview."""

import http.client
import json
import os
import socket
import struct
import time
from pathlib import Path

import pytest

from accounts import services as account_services
from messaging.files.models import Attachment, PreviewState
from messaging.files.tasks import make_preview
from tests.files import makers
from tests.files.preview_helpers import DOCX, stored_attachment, stored_objects
from tests.files.uploading import raw_multipart, stored_files, upload_url
from tests.notifications.test_celery_worker import Worker
from tests.servers import production_profile

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

UPLOAD_BYTES = 600_000


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """One folder for this test's stored files, this process's and its
    children's alike."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def post_upload(port: int, token: str, conversation, content: bytes, name: str):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        body, content_type = raw_multipart(content, name)
        headers = {"Authorization": f"Token {token}", "Content-Type": content_type}
        connection.request("POST", upload_url(conversation), body, headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def send_half_and_go(port: int, token: str, conversation, *, reset: bool) -> None:
    """The request's headers promise the whole body; half of it is sent,
    then the connection ends: closed (FIN), or reset (RST) as a crashed
    client's kernel does."""
    body, content_type = raw_multipart(b"a" * UPLOAD_BYTES, "half.txt")
    head = (
        f"POST {upload_url(conversation)} HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        f"Authorization: Token {token}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    client = socket.create_connection(("127.0.0.1", port), timeout=30)
    client.sendall(head + body[: len(body) // 2])
    if reset:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_an_upload_cut_off_halfway_stores_nothing(asgi_server, direct, assigned, media, reset):
    mentor, _ = assigned
    server = asgi_server(extra_env=production_profile(MEDIA_ROOT=str(media)))
    token = account_services.issue_api_token(user=mentor)

    for _ in range(3):
        send_half_and_go(server.port, token, direct, reset=reset)
    # The server takes the next upload, whole.
    status, body = post_upload(server.port, token, direct, b"b" * UPLOAD_BYTES, "whole.txt")
    assert status == 201, body

    assert list(Attachment.objects.values_list("name", flat=True)) == ["whole.txt"]
    whole = Attachment.objects.get()
    assert [p.relative_to(media).as_posix() for p in stored_files(media)] == [whole.storage_key]
    assert (media / whole.storage_key).stat().st_size == UPLOAD_BYTES
    assert "Traceback" not in server.log()


def soffice_children(pid: int) -> list[int]:
    """LibreOffice processes ``pid`` started (the converter gives each its
    own session, so they are not in the worker's process group)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"office" in cmdline:
            found.append(int(entry))
    return found


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def test_a_preview_job_killed_mid_conversion_shows_nothing_then_runs_again(
    direct, assigned, media, tmp_path, on_the_broker
):
    mentor, _ = assigned
    on_the_broker.control.purge()
    attachment = stored_attachment(
        conversation=direct,
        uploader=mentor,
        data=makers.docx("Essay, first draft", "Comments at the end"),
        kind_type_extension=DOCX,
    )
    # A dead worker's unacknowledged task comes back within seconds.
    env = {
        "MEDIA_ROOT": str(media),
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "CELERY_UNACKED_RESTORE_SECONDS": "1",
    }
    first = Worker(tmp_path / "first.log", env)
    second = None
    try:
        assert first.wait_for("ready."), first.text()
        result = make_preview.delay(str(attachment.pk))
        converting = wait_until(
            lambda: soffice_children(first.process.pid), 120, "the worker starts LibreOffice"
        )
        first.kill()
        for pid in converting:  # what a crashed machine would also have lost
            with pytest.raises(ProcessLookupError):
                while True:
                    os.kill(pid, 9)
                    time.sleep(0.05)

        # Nothing half-made is shown: the preview is still to come.
        attachment.refresh_from_db()
        assert attachment.preview_state == PreviewState.PENDING
        assert attachment.preview_pages == [] and attachment.page_count in (0, None)

        second = Worker(tmp_path / "second.log", env)
        assert second.wait_for(f"[{result.id}] succeeded", timeout=120), second.text()
    finally:
        first.stop()
        if second is not None:
            second.stop()

    attachment.refresh_from_db()
    assert attachment.preview_state == PreviewState.READY, attachment.preview_error
    assert attachment.page_count == 1
    assert "Essay, first draft" in attachment.extracted_text
    assert stored_objects(attachment) == ["original.docx", "page-1.png"]
