"""Reporting an encrypted message in real Chromium: the report carries the
text and its franking key, the server checks them against the tag stored at
send time and the moderators read the verified text; a text changed in the
page's own request is refused with franking_mismatch."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from accounts.models import Role, User
from messaging.moderation.models import ModerationCase
from tests.browser.conftest import PASSWORD, off_loop
from tests.e2e.browser.helpers import (
    message,
    open_conversation,
    person,
    send,
    set_up_device,
    shows,
    start_encrypted_direct,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cast(mentor_and_sam):
    mentor, sam = mentor_and_sam
    moderator = User.objects.create_user(
        email="mo@example.test",
        password=PASSWORD,
        display_name="Mo Moderator",
        role=Role.ADMIN,
        is_staff=True,
    )
    moderator.groups.add(Group.objects.get(name="Moderators"))
    return mentor, sam, moderator


def test_a_report_verifies_and_a_forged_one_is_refused(cast, chromium, e2e_server, console):
    mentor, sam, moderator = cast
    sam_context, sam_page = set_up_device(chromium, e2e_server, console, sam)
    context, page, conversation_id = start_encrypted_direct(
        chromium, e2e_server, console, mentor, "Sam Student"
    )
    send(page, "Meet me alone after class.")
    open_conversation(sam_page, e2e_server, conversation_id)
    shows(sam_page, "Meet me alone after class.")
    reported = message(sam_page, "Meet me alone after class.")
    message_id = reported.get_attribute("data-id")

    # Forged: the page's own request with another text and the real key.
    forged = sam_page.evaluate(
        """async (id) => {
          const plain = window.parley.view.messages.get(id).plain;
          const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
          const response = await fetch(`/api/messages/${id}/report/`, {
            method: 'POST', credentials: 'same-origin',
            headers: { 'Content-Type': 'application/json', 'X-CSRFToken': token },
            body: JSON.stringify({ reason: 'harassment', details: '',
              e2e: { text: 'I will hurt you.', franking_key: plain.franking_key } }),
          });
          return { status: response.status, body: await response.json() };
        }""",
        message_id,
    )
    assert forged["status"] == 400 and forged["body"]["error"]["code"] == "franking_mismatch"
    assert off_loop(lambda: ModerationCase.objects.filter(message_id=message_id).count()) == 0

    # The real report, through the dialog.
    reported.hover()
    reported.get_by_role("button", name="More actions for the message from Maria Mentor").click()
    sam_page.get_by_role("menuitem", name="Report…").click()
    dialog = sam_page.locator("#report-dialog")
    expect(dialog.locator("[data-report-e2e]")).to_be_visible()
    dialog.get_by_label("Harassment").check()
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog.get_by_text("a moderator will review it")).to_be_visible()

    case = off_loop(lambda: ModerationCase.objects.get(message_id=message_id))
    mod_context, mod_page = person(chromium, e2e_server, console, moderator)
    mod_page.goto(f"{e2e_server.http_url}/admin/messaging/moderationcase/{case.pk}/change/")
    expect(mod_page.get_by_text("Verified by message franking")).to_be_visible()
    expect(mod_page.get_by_text("Meet me alone after class.").first).to_be_visible()
    for each in (context, sam_context, mod_context):
        each.close()
