"""Document previews (messaging.files.services.previews): real PDFs rendered
by PDFium, a real DOCX through real LibreOffice, text and CSV excerpts, the
failures a hostile or slow file causes, the live frame on the real channel
layer, and the task in a real Celery worker on the Redis broker."""

import asyncio
import contextlib
import io
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone
from PIL import Image

from messaging import events, services
from messaging.files import payloads, rendering, storage, tasks
from messaging.files.models import Attachment, PreviewState
from messaging.files.services.previews import fail_abandoned, make_preview
from messaging.models import Message, MessageType
from messaging.moderation.services import actions as moderation_actions
from tests.files import makers
from tests.files.preview_helpers import (
    CSV,
    DOCX,
    PDF,
    TEXT,
    docx_with_linked_image,
    stored_attachment,
    stored_objects,
)

# The socket fixtures of tests/realtime: real sessions, the real ASGI stack.
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def upload(direct, assigned):
    """``upload(data, kind_type_extension)`` → a pending attachment the
    mentor uploaded to the direct conversation."""
    mentor, _ = assigned

    def make(data: bytes, kind_type_extension=PDF, **fields) -> Attachment:
        return stored_attachment(
            conversation=direct,
            uploader=mentor,
            data=data,
            kind_type_extension=kind_type_extension,
            **fields,
        )

    return make


def previewed(attachment: Attachment) -> Attachment:
    make_preview(attachment.pk)
    attachment.refresh_from_db()
    return attachment


def page_image(key: str) -> Image.Image:
    with storage.open_file(key) as f:
        image = Image.open(io.BytesIO(f.read()))
        image.load()
    return image


def test_a_pdf_gets_its_pages_rendered_and_its_text_kept(upload, settings):
    attachment = previewed(upload(makers.pdf("First page words", "Second page words")))

    assert attachment.preview_state == PreviewState.READY
    assert attachment.preview_error == ""
    assert attachment.page_count == 2
    assert len(attachment.preview_pages) == 2
    width = settings.PARLEY["PREVIEW_PAGE_WIDTH"]
    for number, page in enumerate(attachment.preview_pages, start=1):
        assert page["key"] == storage.key_for(attachment.pk, f"page-{number}", ".png")
        image = page_image(page["key"])
        assert image.format == "PNG"
        # A US Letter page drawn at the preview width keeps its shape.
        assert (image.width, image.height) == (page["width"], page["height"])
        assert page["width"] == width
        assert page["height"] == pytest.approx(width * 792 / 612, abs=2)
    assert "First page words" in attachment.extracted_text
    assert "Second page words" in attachment.extracted_text
    # The payload points at Parley's own preview URLs, one per page.
    preview = payloads.attachment_payload(attachment)["preview"]
    assert preview["state"] == "ready" and preview["page_count"] == 2
    assert [p["url"] for p in preview["pages"]] == [
        payloads.preview_url(attachment, 1),
        payloads.preview_url(attachment, 2),
    ]
    assert preview["excerpt"] is None  # excerpts are for text files


def test_only_the_first_pages_are_rendered_but_all_the_text_is_kept(upload, settings):
    settings.PARLEY = {**settings.PARLEY, "PREVIEW_MAX_PAGES": 2}
    texts = [f"Words of page {n}" for n in range(1, 6)]
    attachment = previewed(upload(makers.pdf(*texts)))

    assert attachment.preview_state == PreviewState.READY
    assert attachment.page_count == 5
    assert len(attachment.preview_pages) == 2
    assert stored_objects(attachment) == ["original.pdf", "page-1.png", "page-2.png"]
    for text in texts:
        assert text in attachment.extracted_text


def test_extracted_text_stops_at_its_limit(upload, settings):
    settings.PARLEY = {**settings.PARLEY, "EXTRACTED_TEXT_MAX_CHARS": 10}
    attachment = previewed(upload(makers.pdf("A fairly long first page", "Second page")))
    assert attachment.preview_state == PreviewState.READY
    assert attachment.extracted_text == "A fairly l"


def test_a_docx_is_converted_by_libreoffice_and_rendered(upload):
    attachment = previewed(
        upload(makers.docx("Draft essay, chapter one", "Mentor notes follow"), DOCX)
    )

    assert attachment.preview_state == PreviewState.READY, attachment.preview_error
    assert attachment.page_count == 1
    assert len(attachment.preview_pages) == 1
    page = attachment.preview_pages[0]
    assert page_image(page["key"]).size == (page["width"], page["height"])
    assert "Draft essay, chapter one" in attachment.extracted_text
    assert "Mentor notes follow" in attachment.extracted_text
    assert stored_objects(attachment) == ["original.docx", "page-1.png"]


@pytest.mark.parametrize(
    ("data", "kind_type_extension", "expected"),
    [
        (makers.text(), TEXT, "line one\nline two <b>not bold</b>\n"),
        (makers.csv_file(), CSV, "name,score\nAda,10\n<script>alert(1)</script>,3\n"),
        ("naïve café\r\nsecond line".encode("cp1252"), TEXT, "naïve café\nsecond line"),
        ("\ufeffutf-8 with a BOM: ☕".encode(), TEXT, "utf-8 with a BOM: ☕"),
    ],
    ids=["text", "csv", "windows-1252", "utf-8-bom"],
)
def test_text_and_csv_get_their_text_and_a_plain_excerpt(
    upload, data, kind_type_extension, expected
):
    attachment = previewed(upload(data, kind_type_extension))

    assert attachment.preview_state == PreviewState.READY
    assert attachment.extracted_text == expected
    assert attachment.page_count == 0 and attachment.preview_pages == []
    # The excerpt is the text as it is (plain text; pages escape it).
    preview = payloads.attachment_payload(attachment)["preview"]
    assert preview["excerpt"] == expected
    assert stored_objects(attachment) == [f"original{kind_type_extension[2]}"]


def test_the_excerpt_is_cut_at_its_limit(upload, settings):
    settings.PARLEY = {**settings.PARLEY, "EXCERPT_MAX_CHARS": 8}
    attachment = previewed(upload(b"0123456789abcdef", TEXT))
    assert attachment.extracted_text == "0123456789abcdef"
    assert payloads.attachment_payload(attachment)["preview"]["excerpt"] == "01234567"


@pytest.mark.parametrize(
    ("data", "kind_type_extension"),
    [
        (b"%PDF-1.7\n" + bytes(range(256)) * 8, PDF),
        (makers.truncated(makers.pdf("Half a document", "is not one")), PDF),
        (b"PK\x03\x04" + b"\x00" * 300, DOCX),
    ],
    ids=["garbage-pdf", "truncated-pdf", "garbage-docx"],
)
def test_a_damaged_file_fails_with_a_reason_and_leaves_no_pages(
    upload, data, kind_type_extension, caplog
):
    attachment = upload(data, kind_type_extension)

    make_preview(attachment.pk)  # no exception

    attachment.refresh_from_db()
    assert attachment.preview_state == PreviewState.FAILED
    assert attachment.preview_error
    assert len(attachment.preview_error) <= 200
    assert "/" not in attachment.preview_error  # a reason, not a path
    assert attachment.preview_pages == [] and attachment.page_count == 0
    assert stored_objects(attachment) == [f"original{kind_type_extension[2]}"]
    assert payloads.attachment_payload(attachment)["preview"]["state"] == "failed"


def test_a_storage_failure_half_way_removes_the_pages_already_stored(upload, monkeypatch):
    attachment = upload(makers.pdf("one", "two", "three"))
    real_save = storage.save
    saved = []

    def save_two_then_fail(key, content):
        if len(saved) == 2:
            raise OSError("disk full")
        saved.append(real_save(key, content))
        return saved[-1]

    monkeypatch.setattr(storage, "save", save_two_then_fail)
    make_preview(attachment.pk)

    attachment.refresh_from_db()
    assert len(saved) == 2
    assert attachment.preview_state == PreviewState.FAILED
    assert "disk full" not in attachment.preview_error  # internals stay in the log
    assert stored_objects(attachment) == ["original.pdf"]


@pytest.mark.parametrize(
    ("data", "kind_type_extension"),
    [(makers.docx("Never converted in time"), DOCX), (makers.pdf("Never drawn in time"), PDF)],
    ids=["docx", "pdf"],
)
def test_a_preview_that_takes_too_long_fails(upload, settings, data, kind_type_extension):
    # Far less than LibreOffice or a Python child process needs to start.
    settings.PARLEY = {**settings.PARLEY, "PREVIEW_TIMEOUT_SECONDS": 0.01}
    attachment = previewed(upload(data, kind_type_extension))

    assert attachment.preview_state == PreviewState.FAILED
    assert "too long" in attachment.preview_error
    assert stored_objects(attachment) == [f"original{kind_type_extension[2]}"]


def test_concurrent_conversions_each_get_their_own_libreoffice(tmp_path):
    """Two conversions at once: with a shared profile the second soffice
    would hand its file to the first and exit; each must produce its PDF."""
    texts = [f"Document number {n}" for n in range(3)]
    sources = []
    for n, text in enumerate(texts):
        source = tmp_path / f"in-{n}" / "original.docx"
        source.parent.mkdir()
        source.write_bytes(makers.docx(text))
        sources.append(source)

    def convert(source):
        pdf = rendering.office_to_pdf(source, timeout=120, outdir=source.parent)
        return rendering.render_pdf(pdf, max_pages=1, width=100, max_chars=1000).text

    with ThreadPoolExecutor(max_workers=len(sources)) as pool:
        results = list(pool.map(convert, sources))
    assert results == texts


@pytest.fixture
def http_server():
    """A local HTTP server that notes every path asked of it."""
    requested: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            requested.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requested
    server.shutdown()
    server.server_close()


def test_a_document_s_linked_image_is_never_fetched(upload, http_server):
    """Server-side request forgery: a DOCX whose picture links to an
    internal address must not make the worker ask for it."""
    base, requested = http_server
    attachment = previewed(
        upload(docx_with_linked_image(f"{base}/latest/meta-data/secret.png"), DOCX)
    )

    assert attachment.preview_state == PreviewState.READY, attachment.preview_error
    assert "Before the picture" in attachment.extracted_text
    assert requested == []


def test_a_document_s_link_to_a_local_file_is_never_drawn(upload, tmp_path):
    """A file:// link must not put a file of the worker's machine into the
    preview: here a red picture, which must not show on the page."""
    secret = tmp_path / "secret.png"
    Image.new("RGB", (200, 200), "red").save(secret)
    attachment = previewed(upload(docx_with_linked_image(secret.as_uri()), DOCX))

    assert attachment.preview_state == PreviewState.READY, attachment.preview_error
    page = page_image(attachment.preview_pages[0]["key"]).convert("RGB")
    colors = page.getcolors(maxcolors=page.width * page.height)
    red = sum(count for count, (r, g, b) in colors if r > 200 and g < 60 and b < 60)
    assert red == 0


def test_without_libreoffice_an_office_document_fails_clearly(upload, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    attachment = previewed(upload(makers.docx("No converter here"), DOCX))

    assert attachment.preview_state == PreviewState.FAILED
    assert "LibreOffice" in attachment.preview_error


def test_a_pdf_with_javascript_is_rendered_and_its_script_never_runs(upload, tmp_path):
    marker = tmp_path / "ran"
    script = (
        f"this.exportDataObject({{cName: 'x', nLaunch: 2}}); "
        f"app.launchURL('file://{marker}'); app.alert('pwned');"
    )
    attachment = previewed(upload(makers.pdf("Annotated draft", javascript=script)))

    assert attachment.preview_state == PreviewState.READY
    assert attachment.page_count == 1
    # The page is drawn; the script is neither run nor taken for text.
    assert attachment.extracted_text == "Annotated draft"
    assert stored_objects(attachment) == ["original.pdf", "page-1.png"]
    assert not marker.exists()


def test_a_second_run_changes_nothing(upload, django_capture_on_commit_callbacks):
    attachment = previewed(upload(makers.pdf("Once only")))
    before = Attachment.objects.values().get(pk=attachment.pk)
    objects = stored_objects(attachment)

    with django_capture_on_commit_callbacks() as callbacks:
        make_preview(attachment.pk)

    assert Attachment.objects.values().get(pk=attachment.pk) == before
    assert stored_objects(attachment) == objects
    assert callbacks == []


def test_nothing_happens_for_an_attachment_that_is_not_pending_or_is_gone(upload):
    image_like = upload(makers.pdf("Not pending"), preview_state=PreviewState.NONE)
    make_preview(image_like.pk)
    image_like.refresh_from_db()
    assert image_like.preview_state == PreviewState.NONE
    assert stored_objects(image_like) == ["original.pdf"]

    make_preview(uuid.uuid4())  # no such attachment: no error


def test_the_task_takes_the_id_as_text(upload):
    attachment = upload(makers.pdf("Through the task"))
    tasks.make_preview.delay(str(attachment.pk))  # eager in tests
    attachment.refresh_from_db()
    assert attachment.preview_state == PreviewState.READY


# --- The live frame, on the real channel layer --------------------------------------


@contextlib.asynccontextmanager
async def _listening(group: str):
    """A channel in ``group`` on the real channel layer, for the block."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    try:
        yield layer, channel
    finally:
        await layer.group_discard(group, channel)


async def _next_frame(layer, channel) -> dict:
    message = await asyncio.wait_for(layer.receive(channel), timeout=10)
    return json.loads(message["frame"])


async def _assert_nothing_was_published(layer, channel, group: str) -> None:
    # Anything the preview published went out before this marker (one
    # Redis, commands in order): the marker is the first thing to arrive.
    await layer.group_send(group, {"type": "marker", "frame": '{"type": "marker"}'})
    assert await _next_frame(layer, channel) == {"type": "marker"}


async def _sent_with(conversation, sender, *, content: str, data: bytes) -> tuple:
    """A message of ``sender`` and a pending attachment of ``data`` it carries."""
    message = (
        await sync_to_async(services.send_message)(
            sender=sender, conversation_id=conversation.pk, content=content, client_id=uuid.uuid4()
        )
    ).message
    attachment = await sync_to_async(stored_attachment)(
        conversation=conversation, uploader=sender, data=data, message=message
    )
    return message, attachment


@pytest.mark.django_db(transaction=True)
async def test_a_sent_attachment_s_preview_is_announced_to_the_conversation(direct, assigned):
    mentor, _ = assigned
    message, attachment = await _sent_with(
        direct, mentor, content="My draft", data=makers.pdf("Draft")
    )
    async with _listening(events.conversation_group(direct.pk)) as (layer, channel):
        await sync_to_async(make_preview)(attachment.pk)

        frame = await _next_frame(layer, channel)
        assert frame["type"] == "attachment.updated"
        assert frame["conversation_id"] == str(direct.pk)
        assert frame["message_id"] == str(message.pk)
        assert frame["attachment"]["id"] == str(attachment.pk)
        assert frame["attachment"]["preview"]["state"] == "ready"
        assert frame["attachment"]["preview"]["page_count"] == 1
        assert len(frame["attachment"]["preview"]["pages"]) == 1


@pytest.mark.django_db(transaction=True)
async def test_a_failed_preview_is_announced_too(direct, assigned):
    mentor, _ = assigned
    _, attachment = await _sent_with(direct, mentor, content="Broken", data=b"%PDF-1.4 nonsense")
    async with _listening(events.conversation_group(direct.pk)) as (layer, channel):
        await sync_to_async(make_preview)(attachment.pk)
        frame = await _next_frame(layer, channel)
        assert frame["type"] == "attachment.updated"
        assert frame["attachment"]["preview"]["state"] == "failed"


@pytest.mark.django_db(transaction=True)
async def test_an_unsent_upload_s_preview_is_announced_to_nobody(direct, assigned):
    mentor, _ = assigned
    attachment = await sync_to_async(stored_attachment)(
        conversation=direct, uploader=mentor, data=makers.pdf("Not sent yet")
    )
    group = events.conversation_group(direct.pk)
    async with _listening(group) as (layer, channel):
        await sync_to_async(make_preview)(attachment.pk)
        await sync_to_async(attachment.refresh_from_db)()
        assert attachment.preview_state == PreviewState.READY
        await _assert_nothing_was_published(layer, channel, group)


@pytest.mark.django_db(transaction=True)
async def test_a_deleted_message_s_preview_is_announced_to_nobody(direct, assigned):
    mentor, _ = assigned
    message, attachment = await _sent_with(
        direct, mentor, content="Wrong file", data=makers.pdf("Private text")
    )
    await sync_to_async(services.delete_message)(actor=mentor, message_id=message.pk)
    group = events.conversation_group(direct.pk)
    async with _listening(group) as (layer, channel):
        await sync_to_async(make_preview)(attachment.pk)
        await _assert_nothing_was_published(layer, channel, group)


async def _hidden_by_a_moderator(message, moderator) -> None:
    await sync_to_async(moderation_actions.hide_message)(
        moderator=moderator, message_id=message.pk, note="Private data in the file"
    )


@pytest.mark.django_db(transaction=True)
async def test_a_hidden_message_s_preview_is_announced_to_nobody(direct, assigned, admin_user):
    mentor, _ = assigned
    message, attachment = await _sent_with(
        direct, mentor, content="Wrong file", data=makers.pdf("Private text")
    )
    await _hidden_by_a_moderator(message, admin_user)
    group = events.conversation_group(direct.pk)
    async with _listening(group) as (layer, channel):
        await sync_to_async(make_preview)(attachment.pk)
        await sync_to_async(attachment.refresh_from_db)()
        assert attachment.preview_state == PreviewState.READY
        await _assert_nothing_was_published(layer, channel, group)

        # Restored, the message comes back with its file as it is now.
        # (A send with files makes a file message; this one was stored
        # beside a text send.)
        await Message.objects.filter(pk=message.pk).aupdate(message_type=MessageType.FILE)
        await sync_to_async(moderation_actions.restore_message)(
            moderator=admin_user, message_id=message.pk, note="Checked: fine"
        )
        frame = await _next_frame(layer, channel)
        assert frame["type"] == "message.restored"
        (restored,) = frame["message"]["attachments"]
        assert restored["id"] == str(attachment.pk)
        assert restored["preview"]["state"] == "ready"


@pytest.mark.django_db(transaction=True)
async def test_a_hidden_message_s_abandoned_preview_is_announced_to_nobody(
    direct, assigned, admin_user
):
    mentor, _ = assigned
    message, attachment = await _sent_with(
        direct, mentor, content="Wrong file", data=makers.pdf("Private text")
    )
    await _hidden_by_a_moderator(message, admin_user)
    await Attachment.objects.filter(pk=attachment.pk).aupdate(
        created_at=timezone.now() - timedelta(hours=2)
    )
    group = events.conversation_group(direct.pk)
    async with _listening(group) as (layer, channel):
        assert await sync_to_async(fail_abandoned)() == 1
        await _assert_nothing_was_published(layer, channel, group)


@pytest.mark.django_db(transaction=True)
async def test_a_member_s_socket_hears_the_preview_is_ready(
    open_socket,  # noqa: F811 - the fixture imported above
    direct,
    assigned,
):
    mentor, student = assigned
    message = (
        await sync_to_async(services.send_message)(
            sender=mentor, conversation_id=direct.pk, content="Read this", client_id=uuid.uuid4()
        )
    ).message
    attachment = await sync_to_async(stored_attachment)(
        conversation=direct, uploader=mentor, data=makers.pdf("For the student"), message=message
    )
    socket = await open_socket(student)
    try:
        await sync_to_async(make_preview)(attachment.pk)
        frame = await socket.recv_type("attachment.updated", timeout=10)
        assert frame["message_id"] == str(message.pk)
        assert frame["attachment"]["preview"]["state"] == "ready"
    finally:
        await socket.close()


# --- A real worker --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_process_makes_the_preview(
    direct, assigned, media_root, tmp_path, on_the_broker
):
    from tests.notifications.test_celery_worker import Worker

    mentor, _ = assigned
    on_the_broker.control.purge()
    attachment = stored_attachment(
        conversation=direct, uploader=mentor, data=makers.pdf("Made by the worker", "Page 2")
    )
    # The worker reads the same files as this test (its own MEDIA_ROOT).
    worker = Worker(tmp_path / "worker.log", {"MEDIA_ROOT": str(media_root)})
    try:
        assert worker.wait_for("ready."), worker.text()
        result = tasks.make_preview.delay(str(attachment.pk))
        assert worker.wait_for(f"[{result.id}] succeeded", timeout=120), worker.text()
    finally:
        worker.stop()

    attachment.refresh_from_db()
    assert attachment.preview_state == PreviewState.READY, worker.text()
    assert attachment.page_count == 2
    assert "Made by the worker" in attachment.extracted_text
    assert stored_objects(attachment) == ["original.pdf", "page-1.png", "page-2.png"]
    assert f"Task messaging.files.tasks.make_preview[{result.id}] received" in worker.text()


# --- The renderer on its own ----------------------------------------------------------


def test_render_pdf_takes_bytes_and_answers_pages_count_and_text():
    pages, page_count, text = rendering.render_pdf(
        makers.pdf("One", "Two", "Three"), max_pages=2, width=300
    )
    assert page_count == 3
    assert [(p.width, Image.open(io.BytesIO(p.data)).width) for p in pages] == [(300, 300)] * 2
    assert text == "One\n\nTwo\n\nThree"


def test_text_decoding_never_fails(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"caf\xc3\xa9 then \xff\xfe broken \x00 nul")
    text = rendering.read_text(path, max_chars=100)
    assert "\x00" not in text  # PostgreSQL text refuses NUL
    assert text.startswith("caf")


def test_the_pdf_child_lives_within_its_memory_limit(tmp_path):
    path = tmp_path / "doc.pdf"
    path.write_bytes(makers.pdf("Fits in a gigabyte"))
    common = {"max_pages": 1, "width": 900, "max_chars": 100, "timeout": 60}
    assert rendering.render_pdf_isolated(path, **common).text == "Fits in a gigabyte"
    # Too little for Python and PDFium to start: the limit is applied.
    with pytest.raises(rendering.RenderError):
        rendering.render_pdf_isolated(path, **common, memory_bytes=16 * 1024 * 1024)


def test_libreoffice_past_its_memory_fails_the_conversion(tmp_path):
    """LibreOffice runs with a bounded address space: given too little, the
    conversion fails clearly (and the worker's memory is not its to take);
    the default is enough for an ordinary document."""
    source = tmp_path / "original.docx"
    source.write_bytes(makers.docx("Within bounds"))

    with pytest.raises(rendering.RenderError, match="could not be converted"):
        rendering.office_to_pdf(source, timeout=60, outdir=tmp_path, memory_bytes=128 * 1024 * 1024)
    pdf = rendering.office_to_pdf(source, timeout=60, outdir=tmp_path)
    text = rendering.render_pdf(pdf, max_pages=1, width=100, max_chars=1000).text
    assert text == "Within bounds"
