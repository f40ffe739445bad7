"""What a member's page shows of moderators' actions, in real headless
Chromium against a real daphne process: a hidden message becomes a
placeholder live and after a reload (its sender's page included), comes
back when restored, and a warning shows to the warned person only, live
and after a reload, until they dismiss it."""

import uuid

import pytest
from playwright.sync_api import expect

from accounts.models import Role, User
from messaging.moderation.services import actions
from tests.browser.conftest import PASSWORD, api, off_loop, open_as, wait_synced

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

RUDE = "Everyone here is a pineapple"
PLACEHOLDER = "This message was hidden by a moderator."


@pytest.fixture
def moderator(db):
    return User.objects.create_user(
        email="ada@example.test", password=PASSWORD, display_name="Ada Admin", role=Role.ADMIN
    )


def test_hidden_restored_and_warned_as_the_pages_show_it(pair, moderator, browser, server, console):
    mentor, student, conversation = pair
    path = f"/c/{conversation.pk}/"
    student_context, student_page = open_as(browser, server, console, student, path)
    _, mentor_page = open_as(browser, server, console, mentor, path)
    sent = api(
        student_context,
        server,
        "POST",
        f"conversations/{conversation.pk}/messages/",
        {"client_id": str(uuid.uuid4()), "content": RUDE},
    )
    item = f"#m-{sent['id']}"
    for page in (student_page, mentor_page):
        expect(page.locator(item)).to_contain_text(RUDE)

    off_loop(actions.hide_message, moderator=moderator, message_id=sent["id"], note="rude")
    for page in (student_page, mentor_page):
        expect(page.locator(item)).to_contain_text(PLACEHOLDER)
        expect(page.locator(item)).not_to_contain_text(RUDE)
    # Its sender may delete it but not edit it.
    expect(student_page.locator(f"{item} [data-action='edit']")).to_have_count(0)
    mentor_page.reload()
    wait_synced(mentor_page)
    expect(mentor_page.locator(item)).to_contain_text(PLACEHOLDER)
    assert RUDE not in mentor_page.content()

    off_loop(actions.restore_message, moderator=moderator, message_id=sent["id"], note="ok")
    for page in (student_page, mentor_page):
        expect(page.locator(item)).to_contain_text(RUDE)

    off_loop(
        actions.warn_sender,
        moderator=moderator,
        message_id=sent["id"],
        note="rude",
        text="Please be kind to everyone.",
    )
    notice = student_page.locator(".moderation-warning")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("Please be kind to everyone.")
    expect(mentor_page.locator(".moderation-warning")).to_have_count(0)

    student_page.reload()
    wait_synced(student_page)
    student_page.wait_for_selector("#moderation-notices[data-loaded='true']", state="attached")
    expect(notice).to_have_count(1)
    notice.get_by_role("button", name="Dismiss this warning").click()
    expect(notice).to_have_count(0)
    student_page.reload()
    wait_synced(student_page)
    # The page listed the warnings again; the dismissed one stays away.
    student_page.wait_for_selector("#moderation-notices[data-loaded='true']", state="attached")
    expect(notice).to_have_count(0)


def test_a_muted_person_is_told_on_the_page_and_when_sending(
    pair, moderator, browser, server, console
):
    mentor, student, conversation = pair
    off_loop(
        actions.mute_user,
        moderator=moderator,
        user_id=student.pk,
        conversation_id=conversation.pk,
        minutes=45,
        note="cool off",
    )
    _, page = open_as(browser, server, console, student, f"/c/{conversation.pk}/")
    expect(page.locator(".moderation-mute")).to_contain_text(
        "A moderator muted you in this conversation until"
    )
    box = page.get_by_label(f"Message {mentor.display_name}")
    box.fill("Let me speak")
    page.get_by_role("button", name="Send message").click()
    # Refused, not queued: the draft comes back with the reason.
    expect(page.locator("#composer-notice")).to_contain_text(
        "You are muted in this conversation until"
    )
    expect(box).to_have_value("Let me speak")


def test_a_mute_given_and_lifted_while_the_page_is_open_shows_and_goes_live(
    pair, moderator, browser, server, console
):
    mentor, student, conversation = pair
    _, page = open_as(browser, server, console, student, f"/c/{conversation.pk}/")
    wait_synced(page)
    notice = page.locator(".moderation-mute")
    expect(notice).to_have_count(0)
    mute = off_loop(
        actions.mute_user,
        moderator=moderator,
        user_id=student.pk,
        conversation_id=None,
        minutes=30,
        note="cool off",
    )
    # No reload, no refused send: the socket told the page, on the
    # profile's clock with its zone, as the refusal of a send says it.
    expect(notice).to_contain_text("A moderator muted you everywhere until")
    expect(notice).to_contain_text(" UTC.")
    expect(notice).to_have_attribute("role", "alert")
    box = page.get_by_label(f"Message {mentor.display_name}")
    box.fill("Can I still write?")
    page.get_by_role("button", name="Send message").click()
    refusal = page.locator("#composer-notice")
    expect(refusal).to_contain_text("You are muted everywhere until")
    expect(refusal).to_contain_text(" UTC.")

    # Lifted: the notice and the refusal's line go.
    off_loop(actions.lift_mute, moderator=moderator, mute_id=mute.pk, note="ok")
    expect(notice).to_have_count(0)
    expect(refusal).to_be_hidden()
