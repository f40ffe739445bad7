"""Threads in an encrypted conversation, in real Chromium: the thread
panel's root comes by ``thread.fetch`` as well as by the conversation's
stream, and is decrypted there as in the conversation; a browser not
approved yet says so in the panel (not "Decrypting…" for ever), offers no
Edit on a message it cannot read, and reads both once it is approved.
(The page has no thread composer in an encrypted conversation; replies
written by other clients go through the same drawing.)"""

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.helpers import (
    device_ready,
    message,
    open_conversation,
    person,
    send,
    set_up_device,
    shows,
    start_encrypted_direct,
)

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = "Which chapter first?"
MINE = "I wrote this before the new laptop"


def open_thread(page, text, author):
    item = message(page, text)
    item.hover()
    item.get_by_role("button", name=f"Reply in thread to {author}").click()
    panel = page.get_by_role("complementary", name="Thread")
    expect(panel).to_be_visible()
    # Loaded: the root now shown is thread.fetch's copy, not the stream's.
    expect(panel.locator("#thread-status")).to_have_text("")
    return panel


def test_a_thread_in_an_encrypted_conversation_reads_in_the_panel_and_waits_for_approval(
    mentor_and_sam, chromium, e2e_server, console
):
    mentor, sam = mentor_and_sam
    old_context, old_page = set_up_device(chromium, e2e_server, console, sam)
    context, page, conversation_id = start_encrypted_direct(
        chromium, e2e_server, console, mentor, "Sam Student"
    )
    send(page, ROOT)
    open_conversation(old_page, e2e_server, conversation_id)
    device_ready(old_page)
    send(old_page, MINE)

    # Sam opens a thread on Maria's message: its root comes by thread.fetch.
    panel = open_thread(old_page, ROOT, "Maria Mentor")
    expect(panel.locator("#thread-root .content")).to_have_text(ROOT)
    expect(panel.locator("[data-e2e-state]")).to_have_count(0)

    # A link to the thread (a notification's) opens it as the page loads.
    root_id = message(old_page, ROOT).get_attribute("data-id")
    old_page.goto(f"{e2e_server.http_url}/c/{conversation_id}/?thread={root_id}")
    panel = old_page.get_by_role("complementary", name="Thread")
    expect(panel.locator("#thread-root .content")).to_have_text(ROOT)
    expect(panel.locator("[data-e2e-state]")).to_have_count(0)

    # Sam's new browser, not approved yet.
    new_context, new_page = person(chromium, e2e_server, console, sam)
    open_conversation(new_page, e2e_server, conversation_id)
    device_ready(new_page, "pending")
    unreadable = new_page.locator(
        "#message-list li.message", has=new_page.locator("[data-e2e-state='not_approved']")
    )
    expect(unreadable).to_have_count(2)
    # His own message, unreadable here: Delete, but no Edit.
    own = unreadable.filter(has=new_page.get_by_role("button", name="Delete message"))
    expect(own).to_have_count(1)
    expect(own.locator("[data-action='edit']")).to_have_count(0)
    root = unreadable.filter(has_not=new_page.get_by_role("button", name="Delete message"))
    root.hover()
    root.get_by_role("button", name="Reply in thread to Maria Mentor").click()
    panel = new_page.get_by_role("complementary", name="Thread")
    expect(panel.locator("#thread-status")).to_have_text("")
    expect(panel.locator("#thread-root [data-e2e-state]")).to_have_attribute(
        "data-e2e-state", "not_approved"
    )

    # Approved from the old browser: the panel and the message read, live.
    old_page.goto(f"{e2e_server.http_url}/devices/")
    old_page.locator("#pending-devices li.device").get_by_role("button", name="Approve").click()
    expect(old_page.locator("#pending-devices li.device")).to_have_count(0)
    device_ready(new_page, "active")
    expect(panel.locator("#thread-root .content")).to_have_text(ROOT)
    shows(new_page, MINE)
    expect(message(new_page, MINE).locator("[data-action='edit']")).to_have_count(1)
    for each in (context, old_context, new_context):
        each.close()
