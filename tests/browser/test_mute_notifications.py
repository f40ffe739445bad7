"""Muting a conversation from its page stops its notifications, in real
headless Chromium against a real daphne process that runs the notification
tasks in-process (as the embedded default does).

The other person sends through the REST API: its answer comes after the
send's transaction committed and its fan-out ran (tasks run eagerly, on
commit, before the view returns), so once the answer is in, the notification
that would ring the bell exists or never will; reading the unread count then
is no race."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import api, open_as, wait_synced

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]


@pytest.fixture
def server(eager_server):
    return eager_server


def choose_in_mute_menu(page, item):
    page.locator("#mute-toggle").click()
    page.get_by_role("button", name=item).click()


def test_muting_a_conversation_from_its_page_stops_its_notifications(
    pair, browser, server, console
):
    mentor, student, conversation = pair
    path = f"/c/{conversation.pk}/"
    mentor_context, _ = open_as(browser, server, console, mentor, "/")
    context, page = open_as(browser, server, console, student, path)

    def send(text):
        sent = api(
            mentor_context,
            server,
            "POST",
            f"conversations/{conversation.pk}/messages/",
            {"client_id": str(uuid.uuid4()), "content": text},
        )
        assert sent["content"] == text

    def bell_count():
        return api(context, server, "GET", "notifications/unread-count/")["unread_count"]

    def in_inbox():
        # Away from the conversation: an open conversation is read as it
        # arrives, and its notifications with it, which would hide a ring.
        page.goto(f"{server.http_url}/")
        wait_synced(page)
        row = page.locator(f"li.conversation-row[data-conversation-id='{conversation.pk}']")
        return row.locator(".unread-badge")

    # The same conversation open in a second tab of the student's.
    second_tab = context.new_page()
    second_tab.goto(f"{server.http_url}{path}")
    wait_synced(second_tab)
    expect(second_tab.locator("#mute-toggle")).to_have_text("Mute")

    # The student mutes the conversation from its header.
    choose_in_mute_menu(page, "Mute until I turn it back on")
    expect(page.locator("#mute-state")).to_have_text("Muted until you unmute")
    expect(page.locator("#mute-toggle")).to_have_text("Muted")
    # The other tab shows it without a reload (conversation.muted).
    expect(second_tab.locator("#mute-toggle")).to_have_text("Muted")
    expect(second_tab.locator("#mute-state")).to_have_text("Muted until you unmute")
    second_tab.close()

    badge = in_inbox()
    bell = page.locator("#bell-count")
    expect(bell).to_have_text("0 unread")
    assert bell_count() == 0

    send("Are you free at 4?")
    # It reached the student: the inbox counts it live, and so does the API.
    expect(badge).to_have_text("1")
    unread = api(context, server, "GET", f"conversations/{conversation.pk}/")["unread_count"]
    assert unread == 1
    # The fan-out ran before the send answered: no notification was made.
    assert bell_count() == 0
    assert api(context, server, "GET", "notifications/")["notifications"] == []
    expect(bell).to_have_text("0 unread")

    # Unmuted, the next message rings the bell.
    page.goto(f"{server.http_url}{path}")
    wait_synced(page)
    choose_in_mute_menu(page, "Unmute")
    expect(page.locator("#mute-toggle")).to_have_text("Mute")
    expect(page.locator("#mute-state")).to_have_text("")
    badge = in_inbox()
    expect(bell).to_have_text("0 unread")

    send("Or at 5?")
    expect(bell).to_have_text("1 unread")
    expect(badge).to_have_text("1")
    assert bell_count() == 1
    (notification,) = api(context, server, "GET", "notifications/")["notifications"]
    assert notification["kind"] == "direct"
    assert "Or at 5?" in str(notification)
