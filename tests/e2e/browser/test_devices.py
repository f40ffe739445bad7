"""A person's devices in real Chromium: a new browser approved from an
existing one (the same code on both screens) reads the history, and a
browser recovered with the recovery key after the old one was revoked.

docs/screenshots/e2e-devices.png, e2e-new-browser.png and
e2e-recovery-key.png are the screenshots these tests save in
test-artifacts/."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import screenshot
from tests.e2e.browser.helpers import (
    api_call,
    device_ready,
    open_conversation,
    person,
    send,
    set_up_device,
    shows,
    start_encrypted_direct,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_new_browser_approved_from_an_old_one_reads_the_history(
    mentor_and_sam, chromium, e2e_server, console
):
    mentor, sam = mentor_and_sam
    old_context, old_page = set_up_device(chromium, e2e_server, console, sam)
    # No recovery key yet: the page did not ask for one (a 404 in the console).
    assert not [line for line in console.lines if "404" in line], console.lines
    context, page, conversation_id = start_encrypted_direct(
        chromium, e2e_server, console, mentor, "Sam Student"
    )
    send(page, "history before the new laptop")

    new_context, new_page = person(chromium, e2e_server, console, sam)
    open_conversation(new_page, e2e_server, conversation_id)
    device_ready(new_page, "pending")
    banner = new_page.locator("#e2e-banner")
    expect(banner).to_contain_text("Approve this browser from another of your devices")
    code = banner.get_attribute("data-code")
    assert len(code) == 7 and code[3] == " "
    expect(banner).to_contain_text(code)
    not_yet = new_page.locator("#message-list [data-e2e-state='not_approved']")
    expect(not_yet).to_have_count(1)
    screenshot(new_page, "e2e-new-browser.png")
    assert_accessible(new_page, "an encrypted conversation on a browser waiting for approval")
    # Writing before the approval is told why it cannot be sent (not "no
    # such device"); the words stay in the box.
    box = new_page.locator("#composer-input")
    box.fill("too early")
    box.press("Enter")
    expect(new_page.locator("#composer-notice")).to_have_text(
        "This browser cannot send encrypted messages until another of your devices approves it."
    )
    expect(box).to_have_value("too early")

    # The old browser shows the same code and approves.
    old_page.reload()
    pending = old_page.locator("#pending-devices li.device")
    expect(pending).to_have_count(1)
    expect(pending.locator(".approval-code")).to_have_attribute("data-code", code)
    screenshot(old_page, "e2e-devices.png")
    assert_accessible(old_page, "the Devices page with a device waiting")
    pending.get_by_role("button", name="Approve").click()
    expect(old_page.locator("#pending-devices li.device")).to_have_count(0)
    expect(old_page.locator("#other-devices li.device")).to_have_count(1)

    # Maria's page says that Sam's devices changed.
    expect(page.locator("#e2e-notices [data-kind='devices-changed']")).to_contain_text(
        "Sam Student's devices changed."
    )
    # The new browser reads the history without a reload, and writes.
    device_ready(new_page, "active")
    shows(new_page, "history before the new laptop")
    send(new_page, "from my new laptop")
    shows(page, "from my new laptop")
    for each in (context, old_context, new_context):
        each.close()


def test_recovery_with_the_recovery_key_after_the_old_browser_was_revoked(
    mentor_and_sam, chromium, e2e_server, console
):
    mentor, sam = mentor_and_sam
    old_context, old_page = set_up_device(chromium, e2e_server, console, sam)
    context, page, conversation_id = start_encrypted_direct(
        chromium, e2e_server, console, mentor, "Sam Student"
    )
    send(page, "before the recovery key")
    # Setting up the recovery key makes a new key in Sam's conversations,
    # wrapped for the recovery device too.
    old_page.get_by_role("button", name="Set up a recovery key").click()
    shown = old_page.locator("#recovery-key")
    expect(shown).to_have_text(re.compile(r"^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$"))
    recovery_key = shown.inner_text()
    screenshot(old_page, "e2e-recovery-key.png")
    assert_accessible(old_page, "the recovery key shown once")
    expect(old_page.locator("#recovery-shown")).to_contain_text("shown only once")
    old_page.get_by_role("button", name="I have saved it").click()
    expect(old_page.locator("#e2e-devices")).to_have_attribute("data-recovery", "set")
    expect(old_page.locator("#recovery-key")).to_have_text("")

    send(page, "written before the laptop was lost")

    # The old browser is lost: revoked (the API, as from another session).
    devices = api_call(old_context, e2e_server, "GET", "e2e/devices/")[1]["devices"]
    old = next(d for d in devices if d["kind"] == "browser" and d["status"] == "active")
    status, _ = api_call(old_context, e2e_server, "DELETE", f"e2e/devices/{old['id']}/")
    assert status == 204
    old_context.close()

    fresh_context, fresh = person(chromium, e2e_server, console, sam, "/devices/")
    expect(fresh.locator("#e2e-devices")).to_have_attribute("data-this-device", "none")
    fresh.get_by_role("textbox", name="Recovery key").fill(
        "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA"
    )
    fresh.get_by_role("button", name="Recover", exact=True).click()
    expect(fresh.locator("#recover-error")).to_contain_text("does not open")
    fresh.get_by_role("textbox", name="Recovery key").fill(recovery_key.lower())
    fresh.get_by_role("button", name="Recover", exact=True).click()
    expect(fresh.locator("#e2e-devices")).to_have_attribute("data-this-device", "active")

    open_conversation(fresh, e2e_server, conversation_id)
    device_ready(fresh)
    shows(fresh, "written before the laptop was lost")
    # Keys from before the recovery key existed were never wrapped for it.
    expect(fresh.locator("#message-list [data-e2e-state='before_join']")).to_have_count(1)
    send(page, "after the recovery")
    shows(fresh, "after the recovery")
    send(fresh, "back again")
    shows(page, "back again")
    context.close()
    fresh_context.close()
