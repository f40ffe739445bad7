"""A conversation archived for oneself leaves the inbox, and a newer
message brings it back into the open inbox live (not while muted), in real
headless Chromium against a real daphne process."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import api, open_as, wait_synced

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]


def row_of(page, conversation):
    return page.locator(f"li.conversation-row[data-conversation-id='{conversation.pk}']")


def test_archived_for_me_comes_back_live_with_a_new_message(pair, browser, server, console):
    mentor, student, conversation = pair
    mentor_context, _ = open_as(browser, server, console, mentor, "/")
    _, page = open_as(browser, server, console, student, f"/c/{conversation.pk}/")

    page.get_by_role("button", name="Archive for me").click()
    page.wait_for_url(f"{server.http_url}/")
    wait_synced(page)
    expect(row_of(page, conversation)).to_have_count(0)

    api(
        mentor_context,
        server,
        "POST",
        f"conversations/{conversation.pk}/messages/",
        {"client_id": str(uuid.uuid4()), "content": "Are you there?"},
    )

    row = row_of(page, conversation)
    expect(row).to_have_count(1)
    expect(row.locator(".row-preview")).to_have_text("Are you there?")
    expect(row.locator(".unread-badge")).to_have_text("1")


def test_a_muted_one_stays_away(pair, browser, server, console):
    mentor, student, conversation = pair
    mentor_context, _ = open_as(browser, server, console, mentor, "/")
    context, page = open_as(browser, server, console, student, "/")
    api(context, server, "PUT", f"conversations/{conversation.pk}/mute/", {"until": None})
    api(context, server, "PUT", f"conversations/{conversation.pk}/personal-archive/")
    page.reload()
    wait_synced(page)
    expect(row_of(page, conversation)).to_have_count(0)

    # The page asks the server when the message arrives; once that answer
    # is in, the row is still not there.
    with page.expect_response(
        lambda r: r.url.endswith("/api/conversations/") and r.request.method == "GET"
    ):
        api(
            mentor_context,
            server,
            "POST",
            f"conversations/{conversation.pk}/messages/",
            {"client_id": str(uuid.uuid4()), "content": "Quiet news"},
        )
    expect(row_of(page, conversation)).to_have_count(0)
