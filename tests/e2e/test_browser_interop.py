"""The browser and the Python client (written from docs/e2e.md alone) in one
encrypted conversation, through a real server process: each reads what the
other wrote, with keys the other made. The document is the contract."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role, User
from tests.browser.conftest import PASSWORD
from tests.e2e import scheme
from tests.e2e.browser.helpers import (
    message,
    open_conversation,
    send,
    set_up_device,
    shows,
    start_encrypted_direct,
)
from tests.e2e.client import is_frame

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The page signs in with a password the server process checks with its
    own hashers: keep the default one (tests/conftest.py swaps it)."""


@pytest.fixture
def maria(db):
    return User.objects.create_user(
        email="maria@example.test", password=PASSWORD, display_name="Maria Mentor", role=Role.MENTOR
    )


@pytest.fixture
def pat(people):
    """The Python client's person, with a device, made before Chromium starts."""
    (made,) = people("Pat Python")
    made.first_device()
    return made


def test_the_browser_and_the_python_client_read_each_other(
    maria, pat, chromium, e2e_server, console
):
    # Maria's browser makes her device, then an encrypted direct conversation
    # with Pat: the browser makes key version 1 and wraps it for Pat's
    # Python device too.
    context, page, conversation_id = start_encrypted_direct(
        chromium, e2e_server, console, maria, "Pat Python"
    )
    expect(page.locator("#e2e-badge")).to_be_visible()
    pat.connect()
    send(page, "From Chromium: ¿qué tal? <i>plain</i>")

    # Python opens the browser's envelope (its signature checked) and reads.
    new = pat.socket.wait_for(
        lambda f: f["type"] == "message.new" and f["message"]["message_type"] == "encrypted"
    )
    keys = pat.fetch_keys(conversation_id)
    assert set(keys) == {1}
    envelope = pat.envelopes(conversation_id)[0]
    assert envelope["signer_user_id"] == str(maria.pk)
    payload = pat.read(new["message"])
    assert payload["text"] == "From Chromium: ¿qué tal? <i>plain</i>"
    assert payload["files"] == []
    assert len(scheme.unb64(payload["franking_key"])) == 32

    # Both sides show the same safety number.
    page.locator("#e2e-safety").click()
    shown = page.locator("#e2e-safety-dialog [data-safety-number]")
    expect(shown).to_have_text(re.compile(r"\d"))
    maria_devices = pat.call("GET", f"e2e/users/{maria.pk}/devices/")["devices"]
    pat_devices = pat.call("GET", f"e2e/users/{pat.user_id}/devices/")["devices"]
    expected = scheme.safety_number(maria.pk, maria_devices, pat.user_id, pat_devices)
    assert re.sub(r"\s", "", shown.inner_text()) == expected
    page.keyboard.press("Escape")

    # The browser reads Python's message, and a file Python encrypted.
    pat.send_rest(conversation_id, "From Python: très bien ✓")
    shows(page, "From Python: très bien ✓")
    expect(message(page, "From Python").locator(".content i")).to_have_count(0)
    notes = b"Notes from Python\n" * 50
    entry = pat.upload(conversation_id, notes, name="notes.txt", content_type="text/plain")
    pat.send_rest(conversation_id, "a file from Python", files=[entry])
    expect(message(page, "a file from Python").locator(".e2e-file .file-name")).to_have_text(
        "notes.txt"
    )
    with page.expect_download() as download:
        message(page, "a file from Python").get_by_role("button", name="Download").click()
    with open(download.value.path(), "rb") as saved:
        assert saved.read() == notes

    # And Python opens a file the browser encrypted.
    sheet = b"name,grade\nSam,A\n" * 40
    page.locator("#composer-files").set_input_files(
        {"name": "grades.csv", "mimeType": "text/csv", "buffer": sheet}
    )
    expect(page.locator("#upload-list li[data-state='done']")).to_have_count(1)
    send(page, "a file from Chromium")
    with_file = pat.socket.wait_for(
        lambda f: (
            f["type"] == "message.new"
            and f["message"]["sender"]["id"] == str(maria.pk)
            and f["message"]["attachments"]
        )
    )["message"]
    entry = pat.read(with_file)["files"][0]
    assert (entry["name"], entry["type"], entry["size"]) == ("grades.csv", "text/csv", len(sheet))
    assert pat.open_file(with_file, entry) == sheet

    # Python makes the next key (a rotation Pat posts); the browser takes it
    # from its envelope and both go on.
    assert pat.rotate(conversation_id) == 2
    pat.socket.wait_for(is_frame("e2e.key", conversation_id=conversation_id, key_version=2))
    pat.send_rest(conversation_id, "under the key Python made")
    open_conversation(page, e2e_server, conversation_id)
    shows(page, "under the key Python made")
    shows(page, "From Chromium: ¿qué tal? <i>plain</i>")
    send(page, "Chromium under version 2")
    stored = pat.socket.wait_for(
        lambda f: (
            f["type"] == "message.new"
            and f["message"]["sender"]["id"] == str(maria.pk)
            and f["message"]["e2e"]["key_version"] == 2
        )
    )
    assert pat.read(stored["message"])["text"] == "Chromium under version 2"

    # The report of the browser's message verifies with what Python decrypted.
    verified = pat.report(new["message"], payload["text"], payload["franking_key"])
    assert verified.status_code == 201, verified.text
    context.close()


@pytest.fixture
def maria_in_python(people, maria):
    """Maria's own account from Python too (her token), made before Chromium starts."""
    (made,) = people("Maria in Python", user=maria)
    return made


def test_python_recovers_with_the_recovery_key_a_browser_made(
    maria, maria_in_python, pat, chromium, e2e_server, console
):
    context, page = set_up_device(chromium, e2e_server, console, maria)
    page.get_by_role("button", name="Set up a recovery key").click()
    shown = page.locator("#recovery-key")
    expect(shown).to_have_text(re.compile(r"^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$"))
    recovery_key = shown.inner_text()
    page.get_by_role("button", name="I have saved it").click()
    expect(page.locator("#e2e-devices")).to_have_attribute("data-recovery", "set")

    # The records the browser registered: its device, self-signed, and the
    # recovery device it approved.
    devices = {d["kind"]: d for d in maria_in_python.devices() if d["status"] == "active"}
    browser_device, recovery_device = devices["browser"], devices["recovery"]
    assert scheme.device_signature_valid(browser_device, maria.pk, browser_device["signing_public"])
    assert recovery_device["approved_by"] == browser_device["id"]
    assert scheme.device_signature_valid(
        recovery_device, maria.pk, browser_device["signing_public"]
    )

    # Pat writes to Maria; the key is wrapped for her browser and her recovery device.
    conversation_id = pat.create_conversation([maria_in_python], kind="direct")
    pat.rotate(conversation_id)
    sent, _ = pat.send_rest(conversation_id, "for Maria, whichever device she has")
    open_conversation(page, e2e_server, conversation_id)
    shows(page, "for Maria, whichever device she has")
    context.close()

    # Python opens the browser's backup with the key the page showed: the
    # recovered keys are the recovery device's, and they approve a new
    # device that reads Pat's message.
    backup = maria_in_python.call("GET", "e2e/recovery/")
    recovered = scheme.decrypt_recovery(backup, recovery_key, user_id=maria.pk)
    assert (recovered.id, recovered.ecdh_public, recovered.signing_public) == (
        recovery_device["id"],
        recovery_device["ecdh_public"],
        recovery_device["signing_public"],
    )
    maria_in_python.revoke(browser_device["id"])
    maria_in_python.recover(recovery_key)
    assert maria_in_python.read(sent)["text"] == "for Maria, whichever device she has"
