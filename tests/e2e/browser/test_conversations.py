"""End-to-end encrypted conversations in real Chromium, two and three people
on browser contexts of their own: what one writes the others read, what the
server holds is ciphertext, and who may not read cannot.

docs/screenshots/e2e-conversation.png and e2e-safety-number.png are the
screenshots these tests save in test-artifacts/."""

import io
import re
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from PIL import Image
from playwright.sync_api import expect

from accounts.models import MentorAssignment, Role, User
from messaging.e2e.models import KeyEnvelope
from messaging.files.models import Attachment
from messaging.models import Message
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import PASSWORD, api, off_loop, screenshot
from tests.e2e.browser.helpers import (
    api_call,
    conversation_id_of,
    device_ready,
    message,
    open_conversation,
    person,
    send,
    set_up_device,
    shows,
    start_encrypted_direct,
)
from tests.servers import _media_root

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people(mentor_and_sam):
    """A mentor and two of their students."""
    mentor, sam = mentor_and_sam
    tia = User.objects.create_user(
        email="tia@example.test", password=PASSWORD, display_name="Tia Student", role=Role.STUDENT
    )
    MentorAssignment.objects.create(mentor=mentor, student=tia)
    return mentor, sam, tia


def png_bytes():
    image = Image.new("RGB", (40, 30), (200, 30, 90))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj "
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF"
)


def send_with_file(page, text, name, mime, data):
    page.locator("#composer-files").set_input_files(
        {"name": name, "mimeType": mime, "buffer": data}
    )
    expect(page.locator("#upload-list li[data-state='done']")).to_have_count(1)
    send(page, text)


def stored_texts(conversation_id):
    return off_loop(
        lambda: list(
            Message.objects.filter(conversation_id=conversation_id).values_list(
                "message_type", "content", "metadata"
            )
        )
    )


def test_two_people_write_and_read_an_encrypted_direct_conversation(
    people, chromium, e2e_server, console
):
    mentor, sam, _ = people
    # Sam has used encryption before (their browser has its device).
    sam_context, sam_page = set_up_device(chromium, e2e_server, console, sam)

    context, page, conversation_id = start_encrypted_direct(
        chromium, e2e_server, console, mentor, "Sam Student"
    )
    expect(page.locator("#e2e-badge")).to_be_visible()
    send(page, "Hello Sam, this is private <b>really</b>")

    open_conversation(sam_page, e2e_server, conversation_id)
    device_ready(sam_page)
    shows(sam_page, "Hello Sam, this is private <b>really</b>")
    # Plain text: the markup is text, not elements.
    expect(message(sam_page, "Hello Sam").locator(".content b")).to_have_count(0)
    send(sam_page, "Hi Maria, got it")
    shows(page, "Hi Maria, got it")

    # Bytes that do not open (a client that got it wrong, or a server that
    # swapped them) show as such, never as text.
    garbled = page.evaluate(
        """async (id) => {
          const chat = window.parley.e2eChat;
          const { version } = await chat.keys.current(id);
          const bytes = (n) => crypto.getRandomValues(new Uint8Array(n));
          const random = (n) => btoa(String.fromCharCode(...bytes(n)));
          const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
          const response = await fetch(`/api/conversations/${id}/messages/`, {
            method: 'POST', credentials: 'same-origin',
            headers: { 'Content-Type': 'application/json', 'X-CSRFToken': token },
            body: JSON.stringify({ client_id: crypto.randomUUID(), e2e: {
              key_version: version, device_id: chat.local.device_id, nonce: random(12),
              ciphertext: random(80), franking_tag: random(32) } }),
          });
          return response.status;
        }""",
        conversation_id,
    )
    assert garbled == 201
    failed = sam_page.locator("#message-list [data-e2e-state='failed']")
    expect(failed).to_have_count(1)
    expect(failed).to_have_text("Cannot decrypt this message.")

    # An edit is a new encryption, same client_id.
    first = message(page, "Hello Sam")
    first.hover()
    first.get_by_role("button", name="Edit message").click()
    field = first.get_by_role("textbox", name="Edit message")
    expect(field).to_have_value("Hello Sam, this is private <b>really</b>")
    field.fill("Hello Sam, edited in private")
    field.press("Enter")
    shows(sam_page, "Hello Sam, edited in private")
    expect(message(sam_page, "Hello Sam, edited").locator(".edited")).to_be_visible()

    # Both see the same safety number: 60 digits in 12 groups.
    numbers = []
    for each in (page, sam_page):
        each.get_by_role("button", name="Safety number").click()
        shown = each.locator("#e2e-safety-dialog [data-safety-number]")
        expect(shown.locator(".safety-group")).to_have_count(12)
        numbers.append(shown.get_attribute("data-number"))
        if each is sam_page:
            screenshot(each, "e2e-safety-number.png")
            assert_accessible(each, "the safety number dialog")
        each.get_by_role("button", name="Close").click()
    assert numbers[0] == numbers[1] and re.fullmatch(r"\d{60}", numbers[0])

    # Written offline: the outbox keeps the ciphertext, and the page that
    # comes back after a reload sends that same ciphertext once.
    context.set_offline(True)
    expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
    page.locator("#composer-input").fill("written offline")
    page.locator("#composer-input").press("Enter")
    expect(page.locator("#outbox-list li")).to_have_count(1)
    kept = page.evaluate(
        "(me) => JSON.parse(localStorage.getItem(`parley.outbox.${me}`))[0]", str(mentor.pk)
    )
    assert kept["e2e"]["ciphertext"] and "written offline" not in kept["e2e"]["ciphertext"]
    context.set_offline(False)
    page.reload()
    shows(page, "written offline")
    shows(sam_page, "written offline")
    resent = off_loop(
        lambda: list(
            Message.objects.filter(client_id=kept["client_id"]).values_list("metadata", flat=True)
        )
    )
    assert len(resent) == 1 and resent[0]["e2e"]["ciphertext"] == kept["e2e"]["ciphertext"]

    # Files both ways: encrypted before upload, checked and decrypted on click.
    image = png_bytes()
    send_with_file(sam_page, "a photo", "photo.png", "image/png", image)
    photo = message(page, "a photo")
    expect(photo.locator(".e2e-file .file-name")).to_have_text("photo.png")
    photo.get_by_role("button", name="Show").click()
    shown = photo.locator("img.e2e-image")
    expect(shown).to_be_visible()
    assert shown.evaluate("(img) => img.complete && img.naturalWidth") == 40
    send_with_file(page, "the report", "report.pdf", "application/pdf", PDF)
    screenshot(page, "e2e-conversation.png")
    assert_accessible(page, "an encrypted conversation with files")
    report = message(sam_page, "the report")
    with sam_page.expect_download() as download:
        report.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "report.pdf"
    assert Path(download.value.path()).read_bytes() == PDF
    stored = off_loop(
        lambda: [
            (a.kind, a.name, FileSystemStorage(location=_media_root()).open(a.storage_key).read())
            for a in Attachment.objects.filter(message__conversation_id=conversation_id)
        ]
    )
    assert len(stored) == 2
    for kind, name, data in stored:
        assert kind == "encrypted" and name == "encrypted.bin"
        assert image not in data and b"%PDF" not in data

    # The server holds no text.
    for message_type, content, metadata in stored_texts(conversation_id):
        assert message_type == "encrypted" and content == ""
        assert "private" not in str(metadata) and "got it" not in str(metadata)

    # A reload reads everything again (keys come back from the envelopes).
    page.reload()
    shows(page, "Hello Sam, edited in private")
    shows(page, "Hi Maria, got it")
    sam_page.reload()
    shows(sam_page, "Hello Sam, edited in private")
    shows(sam_page, "the report")
    context.close()
    sam_context.close()


def stored_key_version(conversation_id, text_marker_seq):
    return off_loop(
        lambda: Message.objects.get(conversation_id=conversation_id, seq=text_marker_seq).metadata[
            "e2e"
        ]["key_version"]
    )


def test_a_member_added_reads_from_then_on_and_a_member_removed_reads_nothing_after(
    people, chromium, e2e_server, console
):
    mentor, sam, tia = people
    sam_context, sam_page = set_up_device(chromium, e2e_server, console, sam)
    tia_context, tia_page = set_up_device(chromium, e2e_server, console, tia)

    context, page = person(chromium, e2e_server, console, mentor, "/new/group/")
    page.get_by_label("Group name").fill("Welfare")
    page.get_by_label("Sam Student").check()
    page.get_by_label("End-to-end encrypted").check()
    page.get_by_role("button", name="Create group").click()
    page.wait_for_url("**/c/*/")
    conversation_id = conversation_id_of(page)
    device_ready(page)
    send(page, "before Tia came")
    open_conversation(sam_page, e2e_server, conversation_id)
    shows(sam_page, "before Tia came")
    # The inbox says which conversations are encrypted.
    expect(
        sam_page.locator(f"li[data-conversation-id='{conversation_id}'] .e2e-lock")
    ).to_be_visible()

    # Tia joins: a new key is made for everyone's devices, hers included.
    api(
        context,
        e2e_server,
        "POST",
        f"conversations/{conversation_id}/participants/",
        {"user_ids": [str(tia.pk)]},
    )
    send(page, "welcome Tia")
    open_conversation(tia_page, e2e_server, conversation_id)
    shows(tia_page, "welcome Tia")
    before = tia_page.locator("#message-list li.message [data-e2e-state='before_join']")
    expect(before).to_have_count(1)
    expect(before).to_have_text(re.compile("Sent before you joined"))
    shows(sam_page, "welcome Tia")
    # A send encrypted under a key that is no longer current is refused
    # (e2e_key_stale) and goes again under the current one, same client_id.
    page.evaluate(
        """(id) => {
          const keys = window.parley.e2eKeys;
          const stale = { key_version: 1, rotation_required: false, members: [] };
          keys.states.set(id, Promise.resolve(stale));
        }""",
        conversation_id,
    )
    send(page, "sent with a stale key first")
    shows(tia_page, "sent with a stale key first")
    stale = off_loop(
        lambda: Message.objects.filter(conversation_id=conversation_id).order_by("-seq").first()
    )
    assert stale.metadata["e2e"]["key_version"] > 1
    send(tia_page, "thanks, Tia here")
    shows(page, "thanks, Tia here")
    shows(sam_page, "thanks, Tia here")

    # Sam is removed: the next key is made without Sam's devices.
    sam_devices = [d["id"] for d in api(sam_context, e2e_server, "GET", "e2e/devices/")["devices"]]
    status, _ = api_call(
        context, e2e_server, "DELETE", f"conversations/{conversation_id}/participants/{sam.pk}/"
    )
    assert status in (200, 204)
    expect(sam_page.locator(".archived-note")).to_contain_text("no longer a member")
    send(page, "after Sam left")
    shows(tia_page, "after Sam left")
    after = off_loop(
        lambda: Message.objects.filter(conversation_id=conversation_id).order_by("-seq").first()
    )
    version = after.metadata["e2e"]["key_version"]
    envelopes_for_sam = off_loop(
        lambda: KeyEnvelope.objects.filter(
            conversation_id=conversation_id, device_id__in=sam_devices, key_version__gte=version
        ).count()
    )
    assert envelopes_for_sam == 0
    # Sam's browser cannot get one: the API answers as for a stranger.
    response = sam_context.request.get(
        f"{e2e_server.http_url}/api/e2e/envelopes/?device_id={sam_devices[0]}"
        f"&conversation_id={conversation_id}"
    )
    assert response.status in (200, 404)
    assert response.status == 404 or all(
        e["key_version"] < version for e in response.json()["envelopes"]
    )
    # The rest still read the keys made while Sam was a member (Sam's own
    # browser may have made one), after a reload too.
    page.reload()
    shows(page, "welcome Tia")
    shows(page, "thanks, Tia here")
    shows(page, "after Sam left")
    # Nor the page: it is no longer Sam's to open.
    expect(sam_page.get_by_text("after Sam left")).to_have_count(0)
    assert sam_context.request.get(f"{e2e_server.http_url}/c/{conversation_id}/").status == 404
    for each in (context, sam_context, tia_context):
        each.close()
