"""Files in the conversation page, in real headless Chromium against a real
daphne process (and, for live previews, a real Celery worker) on PostgreSQL
and Redis: drag and drop with progress, an image inline at its reserved size
and its lightbox, a PDF's preview page, a preview arriving live in another
member's tab, and hostile files that are refused or shown without running.

The server and the worker store files under the test's own MEDIA_ROOT, the
one this process's services use to prepare messages (``media`` fixture)."""

import base64
import re
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from accounts.models import Role, User
from messaging import services
from messaging.files.models import Attachment, PreviewState
from messaging.files.payloads import attachment_payload
from messaging.management import demo_files
from tests.browser.conftest import (
    PASSWORD,
    TIMEOUT_MS,
    Console,
    off_loop,
    open_as,
    screenshot,
)
from tests.files import makers

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

# Long enough for a cold LibreOffice or a worker's start; the page itself
# polls for three minutes.
PREVIEW_TIMEOUT_MS = 90_000


def conversation_path(conversation):
    return f"/c/{conversation.pk}/"


def uploaded_and_sent(sender, conversation, files, caption=""):
    """Upload ``files`` ([(name, bytes)]) as ``sender`` through the upload
    service and send them in one message, as the page does; returns the
    attachments' payloads (after any preview the upload queued, which runs
    in this process: tests/conftest.py makes tasks eager)."""
    from messaging.files.services.uploads import create_upload

    def run():
        uploads = [
            create_upload(
                uploader=sender,
                conversation_id=conversation.pk,
                upload=SimpleUploadedFile(name, content),
            )
            for name, content in files
        ]
        services.send_message(
            sender=sender,
            conversation_id=conversation.pk,
            content=caption,
            client_id=uuid.uuid4(),
            attachment_ids=[upload.pk for upload in uploads],
        )
        return [attachment_payload(Attachment.objects.get(pk=upload.pk)) for upload in uploads]

    return off_loop(run)


def drop_files(page, files, target="#chat"):
    """Drag ``files`` ([(name, type, bytes)]) over ``target`` and drop them,
    as a person dragging from their desktop would: the drop zone shows while
    they hover."""
    handle = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], f.name, { type: f.type }));
            }
            return transfer;
        }""",
        [
            {"name": name, "type": kind, "data": base64.b64encode(content).decode()}
            for name, kind, content in files
        ],
    )
    page.dispatch_event(target, "dragenter", {"dataTransfer": handle})
    page.dispatch_event(target, "dragover", {"dataTransfer": handle})
    expect(page.locator("#drop-zone")).to_be_visible()
    expect(page.locator("#drop-zone")).to_have_text("Drop files to attach them")
    page.dispatch_event(target, "drop", {"dataTransfer": handle})
    expect(page.locator("#drop-zone")).to_be_hidden()


def upload_row(page, name):
    return page.locator("#upload-list li.upload").filter(
        has=page.locator(".upload-name", has_text=name)
    )


def attachment_item(page, attachment_id):
    return page.locator(f"#message-list li.attachment[data-attachment-id='{attachment_id}']")


def test_drag_and_drop_uploads_with_progress_then_sends(pair, browser, files_server, console):
    mentor, student, conversation = pair
    path = conversation_path(conversation)
    _, page = open_as(browser, files_server, console, mentor, path)
    _, student_page = open_as(browser, files_server, console, student, path)
    picture = demo_files.whiteboard_png()
    # A slow uplink (Chromium's network emulation), so progress is seen
    # part-way and a long upload can be cancelled while it runs.
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 100_000},
    )

    drop_files(
        page,
        [
            ("whiteboard.png", "image/png", picture),
            ("plan.pdf", "application/pdf", makers.pdf("Plan", "Milestones")),
            ("long-notes.txt", "text/plain", b"A line of notes.\n" * 40_000),
        ],
    )

    # One row per file, each with its name, size and a progress bar that
    # has an accessible name; the long one is seen part-way, then cancelled.
    long_row = upload_row(page, "long-notes.txt")
    expect(long_row).to_have_attribute("data-state", "uploading")
    long_progress = long_row.get_by_role("progressbar", name="Upload of long-notes.txt")
    expect(long_progress).to_be_visible()
    # Rows are redrawn as the other files finish: look the bar up each time.
    page.wait_for_function(
        """() => {
            const row = [...document.querySelectorAll("#upload-list li.upload")]
                .find((r) => r.querySelector(".upload-name").textContent === "long-notes.txt");
            const bar = row && row.querySelector("progress");
            return !!bar && row.dataset.state === "uploading"
                && bar.value > 0 && bar.value < bar.max;
        }"""
    )
    expect(page.locator("#upload-status")).to_have_text(re.compile(r"^Uploading \d files?…$"))
    screenshot(page, "files-upload.png")
    long_row.get_by_role("button", name="Cancel long-notes.txt").click()
    expect(long_row).to_have_count(0)
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    image_row = upload_row(page, "whiteboard.png")
    progress = image_row.get_by_role("progressbar", name="Upload of whiteboard.png")
    expect(progress).to_be_attached()
    expect(image_row.locator(".upload-size")).to_have_text(re.compile(r"^\d+(\.\d)? KB$"))
    expect(image_row).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)
    assert int(image_row.get_attribute("data-progress-events")) >= 1
    assert progress.evaluate("p => p.value === p.max")
    expect(upload_row(page, "plan.pdf")).to_have_attribute("data-state", "done")
    expect(image_row.locator(".upload-state")).to_have_text("Ready to send")

    box = page.get_by_label("Message Sam Student")
    box.fill("The whiteboard and the plan")
    box.press("Enter")

    # Acknowledged: the message shows both files; the chips are gone.
    mine = page.locator("#message-list li.message.mine").last
    expect(mine.locator(".content")).to_have_text("The whiteboard and the plan")
    expect(mine.locator("img.attachment-image")).to_have_attribute("alt", "whiteboard.png")
    expect(mine.locator(".file-card .file-name")).to_have_text(["plan.pdf"])
    expect(page.locator("#upload-list")).to_be_hidden()
    expect(page.locator("#upload-list li")).to_have_count(0)

    # The other member gets it live, files and all.
    theirs = student_page.locator("#message-list li.message").last
    expect(theirs.locator("img.attachment-image")).to_be_visible()
    expect(theirs.locator(".file-card .file-name")).to_have_text(["plan.pdf"])

    def stored():
        message = conversation.messages.order_by("-seq").first()
        return message.content, message.message_type, [a.name for a in message.attachments.all()]

    assert off_loop(stored) == (
        "The whiteboard and the plan",
        "file",
        ["whiteboard.png", "plan.pdf"],
    )

    # The cancelled upload is on no message. Under throttling the browser
    # may have handed the server every byte before the abort: then the
    # upload exists unsent, seen by nobody else, until it expires.
    def cancelled_rows():
        rows = Attachment.objects.filter(uploader=mentor, original_name="long-notes.txt")
        return [row.message_id for row in rows]

    assert off_loop(cancelled_rows) in ([], [None])
    screenshot(page, "files-sent.png")


def test_cancel_and_attach_button_are_keyboard_reachable(pair, browser, files_server, console):
    """The Attach control is a real file input in the tab order, and Cancel
    takes back an uploaded file (DELETE): nothing of it is sent."""
    mentor, _, conversation = pair
    _, page = open_as(browser, files_server, console, mentor, conversation_path(conversation))

    page.get_by_label("Message Sam Student").focus()
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "composer-files"

    # An image pasted into the message box uploads like a chosen file.
    page.locator("#composer-input").evaluate(
        """(box, data) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const clipboard = new DataTransfer();
            clipboard.items.add(new File([bytes], "image.png", { type: "image/png" }));
            const paste = new ClipboardEvent("paste", { clipboardData: clipboard, bubbles: true });
            box.dispatchEvent(paste);
        }""",
        base64.b64encode(makers.png()).decode(),
    )
    pasted = page.locator("#upload-list li.upload").first
    expect(pasted).to_have_attribute("data-state", "done")
    expect(pasted.locator(".upload-name")).to_have_text(re.compile(r"^pasted-image-.+\.png$"))
    pasted.get_by_role("button", name=re.compile("^Remove pasted-image")).click()
    expect(page.locator("#upload-list li")).to_have_count(0)

    page.set_input_files(
        "#composer-files",
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": makers.text()}],
    )
    row = upload_row(page, "notes.txt")
    expect(row).to_have_attribute("data-state", "done")
    attachment_id = row.get_attribute("data-attachment-id")
    with page.expect_response(
        lambda r: r.request.method == "DELETE" and attachment_id in r.url
    ) as response:
        row.get_by_role("button", name="Remove notes.txt").click()
    assert response.value.status == 204
    expect(page.locator("#upload-list li")).to_have_count(0)
    assert not off_loop(lambda: Attachment.objects.filter(pk=attachment_id).exists())


def test_a_file_over_the_limit_says_so_in_words(pair, browser, asgi_server, media, console):
    """The server refuses it from its Content-Length, before reading the
    body; the page still gets that answer and shows it beside the file."""
    mentor, _, conversation = pair
    small = asgi_server(extra_env={"MEDIA_ROOT": str(media), "PARLEY_MAX_UPLOAD_BYTES": "20000"})
    _, page = open_as(browser, small, console, mentor, conversation_path(conversation))
    expect(page.get_by_label("Attach files")).to_have_attribute("type", "file")
    page.set_input_files(
        "#composer-files",
        files=[{"name": "big.txt", "mimeType": "text/plain", "buffer": b"x" * 200_000}],
    )
    row = upload_row(page, "big.txt")
    expect(row).to_have_attribute("data-state", "failed")
    error = row.locator(".upload-error")
    expect(error).to_have_attribute("data-code", "file_too_large")
    # In the units the page shows sizes in (20,000 bytes: 19.5 KB), not bytes.
    expect(error).to_have_text("A file has at most 19.5\xa0KB.")
    # Said at once to screen readers, with the file's name.
    expect(page.locator("#alert-region")).to_contain_text("big.txt not uploaded")
    # Nothing to send: Enter with an empty caption sends nothing.
    page.get_by_label("Message Sam Student").press("Enter")
    assert off_loop(lambda: conversation.messages.count()) == 0


def test_an_image_shows_inline_at_its_reserved_size_and_opens_in_a_lightbox(
    pair, browser, files_server, console, media
):
    mentor, student, conversation = pair
    (image,) = uploaded_and_sent(
        mentor,
        conversation,
        [("whiteboard.png", demo_files.whiteboard_png(960, 600))],
        "Our whiteboard",
    )
    thumbnail = image["thumbnail"]
    assert thumbnail and thumbnail["width"] <= 480

    # Hold the thumbnail back: the page must reserve its box before it loads.
    context, page = open_as(browser, files_server, console, student, "/")
    held = []
    page.route("**/thumbnail/", lambda route: held.append(route))
    with page.expect_request("**/thumbnail/"):
        page.goto(f"{files_server.http_url}{conversation_path(conversation)}")
    img = attachment_item(page, image["id"]).locator("img.attachment-image")
    expect(img).to_be_attached()
    expect(img).to_have_attribute("alt", "whiteboard.png")
    assert img.evaluate("i => i.complete && i.naturalWidth > 0") is False
    before = img.bounding_box()
    assert (round(before["width"]), round(before["height"])) == (
        thumbnail["width"],
        thumbnail["height"],
    )
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # lets Playwright run the route handler
    assert held, "the thumbnail request never reached the route"
    for route in held:
        route.continue_()
    page.unroute("**/thumbnail/")
    page.wait_for_function(
        "id => { const i = document.querySelector(`li.attachment[data-attachment-id='${id}'] img`);"
        " return i && i.complete && i.naturalWidth > 0; }",
        arg=image["id"],
    )
    after = img.bounding_box()
    assert (after["width"], after["height"]) == (before["width"], before["height"])
    screenshot(page, "files-image.png")

    # Enter on it opens the lightbox: the full image, its name, size and a
    # download link; Esc closes it and gives the focus back.
    item = attachment_item(page, image["id"])
    opener = item.get_by_role("button", name="Open image whiteboard.png")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#lightbox")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#lightbox-name")).to_have_text("whiteboard.png")
    full = dialog.locator("#lightbox-image")
    expect(full).to_have_attribute("src", image["url"])
    expect(full).to_have_attribute("alt", "whiteboard.png")
    page.wait_for_function(
        "() => { const i = document.getElementById('lightbox-image');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    assert full.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [960, 600]
    expect(dialog.get_by_role("link", name="Download")).to_have_attribute(
        "href", f"{image['url']}?download=1"
    )
    screenshot(page, "files-lightbox.png")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.dataset.action") == "open-image"
    context.close()


def test_a_pdf_shows_its_first_page_and_a_preview_page_for_members_only(
    pair, browser, files_server, console, media
):
    mentor, student, conversation = pair
    (document,) = uploaded_and_sent(
        mentor,
        conversation,
        [("report.pdf", makers.pdf(*[f"Page {n} of the report" for n in range(1, 6)]))],
        "The report",
    )
    assert document["preview"]["state"] == PreviewState.READY
    first = document["preview"]["pages"][0]

    _, page = open_as(browser, files_server, console, student, conversation_path(conversation))
    item = attachment_item(page, document["id"])
    link = item.get_by_role("link", name="First page of report.pdf")
    expect(link).to_have_attribute("href", f"/files/{document['id']}/")
    page_image = item.locator("img.preview-page")
    expect(page_image).to_have_attribute("width", str(first["width"]))
    expect(page_image).to_have_attribute("height", str(first["height"]))
    expect(item.locator(".file-name")).to_have_text("report.pdf")
    expect(item.get_by_role("link", name="Download report.pdf")).to_have_attribute(
        "href", f"{document['url']}?download=1"
    )
    screenshot(page, "files-document.png")

    link.click()
    page.wait_for_url(f"**/files/{document['id']}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("report.pdf")
    shown = len(document["preview"]["pages"])
    expect(page.locator("#page-summary")).to_have_text(f"showing {shown} of 5 pages")
    pages = page.locator(".file-pages img")
    expect(pages).to_have_count(shown)
    for n, rendered in enumerate(document["preview"]["pages"]):
        expect(pages.nth(n)).to_have_attribute("width", str(rendered["width"]))
        expect(pages.nth(n)).to_have_attribute("alt", f"Page {n + 1} of report.pdf")
    for n in range(shown):  # pages after the first load as they scroll into view
        pages.nth(n).scroll_into_view_if_needed()
        page.wait_for_function(
            "n => { const i = document.querySelectorAll('.file-pages img')[n];"
            " return i.complete && i.naturalWidth > 0; }",
            arg=n,
        )
    page.evaluate("window.scrollTo(0, 0)")
    expect(page.get_by_role("link", name="Download report.pdf")).to_have_attribute(
        "href", f"{document['url']}?download=1"
    )
    page.screenshot(path=str(screenshot_path("files-preview-page.png")), full_page=True)

    # Anyone else: the page does not exist for them.
    outsider = off_loop(
        User.objects.create_user,
        email="olga@example.test",
        password=PASSWORD,
        display_name="Olga Outsider",
        role=Role.STUDENT,
    )
    # Its own console: the test server's DEBUG 404 page has inline styles,
    # which the CSP rightly blocks; that page is Django's, not Parley's.
    _, other = open_as(browser, files_server, Console(), outsider, "/")
    response = other.goto(f"{files_server.http_url}/files/{document['id']}/")
    assert response.status == 404
    expect(other.locator("body")).not_to_contain_text("report.pdf")


def screenshot_path(name):
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def test_a_preview_arrives_live_in_another_members_tab(
    pair, browser, files_server, console, media, tmp_path
):
    """The real path of a production deployment: the page uploads a PDF, the
    server queues its preview on the Redis broker, a Celery worker (started
    only once the placeholder shows) renders it and publishes
    ``attachment.updated`` through the Redis channel layer, and the other
    member's open tab replaces the placeholder in place. Its polling
    fallback is cut off, so only the live frame can bring the preview."""
    from config.celery import app
    from tests.notifications.test_celery_worker import Worker

    app.control.purge()  # nothing queued by earlier tests reaches this worker
    mentor, student, conversation = pair
    path = conversation_path(conversation)
    _, mentor_page = open_as(browser, files_server, console, mentor, path)
    _, student_page = open_as(browser, files_server, console, student, path)
    polls = []

    def refuse_polls(route):
        polls.append(route.request.url)
        route.abort()

    student_page.route("**/api/attachments/*/", refuse_polls)

    mentor_page.set_input_files(
        "#composer-files",
        files=[
            {
                "name": "draft.pdf",
                "mimeType": "application/pdf",
                "buffer": makers.pdf("Draft, page one", "Page two"),
            }
        ],
    )
    expect(upload_row(mentor_page, "draft.pdf")).to_have_attribute("data-state", "done")
    mentor_page.get_by_role("button", name="Send message").click()

    message = student_page.locator("#message-list li.message").last
    item = message.locator("li.attachment")
    expect(item).to_have_attribute("data-preview-state", "pending")
    expect(item.locator(".preview-placeholder")).to_have_text("Preparing preview…")
    expect(item.locator(".file-name")).to_have_text("draft.pdf")
    attachment_id = item.get_attribute("data-attachment-id")
    screenshot(student_page, "files-placeholder.png")

    worker = Worker(tmp_path / "worker.log", {"MEDIA_ROOT": str(media)})
    try:
        item = attachment_item(student_page, attachment_id)
        expect(item).to_have_attribute("data-preview-state", "ready", timeout=PREVIEW_TIMEOUT_MS)
        expect(item).to_have_attribute("data-updated-via", "frame")
        preview = item.get_by_role("link", name="First page of draft.pdf")
        expect(preview).to_have_attribute("href", f"/files/{attachment_id}/")
        student_page.wait_for_function(
            "id => { const i = document.querySelector("
            "`li.attachment[data-attachment-id='${id}'] img.preview-page`);"
            " return i && i.complete && i.naturalWidth > 0; }",
            arg=attachment_id,
        )
        screenshot(student_page, "files-live-preview.png")
    finally:
        worker.stop()
    # The sender's own tab got the same frame.
    expect(attachment_item(mentor_page, attachment_id)).to_have_attribute(
        "data-preview-state", "ready"
    )


def test_a_pending_preview_is_fetched_by_polling_when_no_frame_comes(
    pair, browser, files_server, console, media
):
    """The embedded default's path: there the worker cannot reach the web
    process's in-memory layer, so no ``attachment.updated`` frame comes and
    the page polls ``GET /api/attachments/<id>/``. Here the page drops that
    frame itself, and the preview is made (in this process) after the send."""
    from messaging.files.services import previews

    mentor, student, conversation = pair
    path = conversation_path(conversation)
    _, mentor_page = open_as(browser, files_server, console, mentor, path)
    _, student_page = open_as(browser, files_server, console, student, path)
    student_page.evaluate(
        """() => {
            const conn = window.parley.conn;
            const emit = conn.emit.bind(conn);
            conn.emit = (type, detail) => {
                if (type !== "attachment.updated") emit(type, detail);
            };
        }"""
    )
    mentor_page.set_input_files(
        "#composer-files",
        files=[{"name": "notes.pdf", "mimeType": "application/pdf", "buffer": makers.pdf("Notes")}],
    )
    expect(upload_row(mentor_page, "notes.pdf")).to_have_attribute("data-state", "done")
    mentor_page.get_by_role("button", name="Send message").click()
    item = student_page.locator("#message-list li.message").last.locator("li.attachment")
    expect(item).to_have_attribute("data-preview-state", "pending")
    attachment_id = item.get_attribute("data-attachment-id")

    with student_page.expect_response(f"**/api/attachments/{attachment_id}/", timeout=20_000):
        off_loop(previews.make_preview, attachment_id=uuid.UUID(attachment_id))

    item = attachment_item(student_page, attachment_id)
    expect(item).to_have_attribute("data-preview-state", "ready", timeout=20_000)
    expect(item).to_have_attribute("data-updated-via", "poll")
    expect(item.get_by_role("link", name="First page of notes.pdf")).to_be_visible()


def test_hostile_files_are_refused_or_shown_without_running(
    pair, browser, files_server, console, media
):
    mentor, student, conversation = pair
    path = conversation_path(conversation)
    _, page = open_as(browser, files_server, console, mentor, path)
    _, student_page = open_as(browser, files_server, console, student, path)
    for each in (page, student_page):
        each.evaluate("document.title = 'Parley test'")

    # An SVG with script and an HTML page: refused, each saying why.
    page.set_input_files(
        "#composer-files",
        files=[
            {"name": "logo.svg", "mimeType": "image/svg+xml", "buffer": makers.svg_with_script()},
            {"name": "page.html", "mimeType": "text/html", "buffer": makers.html_page()},
        ],
    )
    for name in ("logo.svg", "page.html"):
        row = upload_row(page, name)
        expect(row).to_have_attribute("data-state", "failed")
        error = row.locator(".upload-error")
        expect(error).to_have_attribute("data-code", "unsupported_file")
        expect(error).not_to_be_empty()
    screenshot(page, "files-refused.png")

    # A PNG with an HTML page and script appended: a valid image, sent and
    # shown, and its script never runs, in the page or opened on its own.
    polyglot = makers.png(120, 80) + (
        b"<html><body><script>window.__pwned = true; document.title = 'pwned';"
        b"</script></body></html>"
    )
    page.set_input_files(
        "#composer-files",
        files=[{"name": "cat.png", "mimeType": "image/png", "buffer": polyglot}],
    )
    expect(upload_row(page, "cat.png")).to_have_attribute("data-state", "done")
    page.get_by_label("Message Sam Student").fill("A cat")
    page.get_by_label("Message Sam Student").press("Enter")
    expect(page.locator("#upload-list li")).to_have_count(0)  # refused rows go with a send

    image = student_page.locator("#message-list li.message").last.locator("img.attachment-image")
    expect(image).to_have_attribute("alt", "cat.png")
    student_page.wait_for_function(
        "() => { const i = [...document.querySelectorAll('img.attachment-image')].pop();"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    image.click()
    expect(student_page.locator("#lightbox")).to_be_visible()
    student_page.wait_for_function(
        "() => { const i = document.getElementById('lightbox-image');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    content_url = student_page.locator("#lightbox-image").get_attribute("src")
    for each in (page, student_page):
        assert each.evaluate("document.title") == "Parley test"
        assert each.evaluate("window.__pwned") is None

    # Opened directly, the bytes are an image (re-encoded), never a page.
    # (Chromium's image viewer styles its own document inline, which the
    # file's CSP blocks: that is the CSP at work, so this tab's console is
    # kept apart from the pages' own.)
    direct = student_page.context.new_page()
    response = direct.goto(f"{files_server.http_url}{content_url}")
    assert response.headers["content-type"].startswith("image/")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    assert direct.evaluate("window.__pwned") is None
    assert direct.evaluate("document.title") != "pwned"
