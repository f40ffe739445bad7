"""The inbox in real headless Chromium (real daphne, PostgreSQL, Redis): a
thread-only reply arriving live moves neither the conversation's unread
badge nor its preview line (it counts in the thread's own unread); a reply
also sent to the conversation moves both; a reload agrees (the page's rows
and the socket's hello count the same way)."""

import pytest
from playwright.sync_api import expect

from messaging import services
from tests.browser.conftest import off_loop, open_as, send_as

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]


def test_inbox_badge_and_preview_skip_thread_only_replies(pair, browser, server, console):
    mentor, student, conversation = pair
    root = send_as(student, conversation, "the root")
    _, page = open_as(browser, server, console, mentor, "/")
    row = page.locator(f".conversation-row[data-conversation-id='{conversation.pk}']")
    badge = row.locator(".unread-badge")
    preview = row.locator(".row-preview")
    expect(badge).to_have_text("1")
    expect(preview).to_have_text("the root")

    send_as(student, conversation, "only in the thread", parent_id=root.pk)
    shown = send_as(
        student, conversation, "for everyone", parent_id=root.pk, also_to_conversation=True
    )
    # Frames of one conversation arrive in order: once the second reply
    # shows, the first has been handled, and it did not count.
    expect(preview).to_have_text("for everyone")
    expect(badge).to_have_text("2")

    send_as(student, conversation, "thread again", parent_id=root.pk)
    # An edit of the preview's message, sent after the thread-only reply:
    # the row still takes it (the thread reply did not become the latest).
    off_loop(
        lambda: services.edit_message(
            editor=student, message_id=shown.pk, content="for everyone, edited"
        )
    )
    expect(preview).to_have_text("for everyone, edited")
    expect(badge).to_have_text("2")

    # The server's page and the socket's hello say the same after a reload.
    page.reload()
    page.wait_for_selector("body[data-synced='true']", state="attached")
    expect(badge).to_have_text("2")
    expect(preview).to_have_text("for everyone, edited")
