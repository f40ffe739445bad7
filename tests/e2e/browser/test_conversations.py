"""End-to-end encrypted conversations in real Chromium, two and three people
on browser contexts of their own: what one writes the others read, what the
server holds is ciphertext, and who may not read cannot."""

import pytest
from playwright.sync_api import expect

from accounts.models import MentorAssignment, Role, User
from messaging.models import Message
from tests.browser.conftest import PASSWORD, off_loop
from tests.e2e.browser.helpers import (
    conversation_id_of,
    device_ready,
    message,
    open_conversation,
    person,
    send,
    shows,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people(db):
    """A mentor and two of their students."""
    mentor = User.objects.create_user(
        email="maria@example.test", password=PASSWORD, display_name="Maria Mentor", role=Role.MENTOR
    )
    sam = User.objects.create_user(
        email="sam@example.test", password=PASSWORD, display_name="Sam Student", role=Role.STUDENT
    )
    tia = User.objects.create_user(
        email="tia@example.test", password=PASSWORD, display_name="Tia Student", role=Role.STUDENT
    )
    for student in (sam, tia):
        MentorAssignment.objects.create(mentor=mentor, student=student)
    return mentor, sam, tia


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
    sam_context, sam_page = person(chromium, e2e_server, console, sam, "/devices/")
    sam_page.get_by_role("button", name="Set up this browser").click()
    expect(sam_page.locator("#e2e-devices")).to_have_attribute("data-this-device", "active")

    context, page = person(chromium, e2e_server, console, mentor, "/new/direct/")
    page.get_by_label("End-to-end encrypted").check()
    page.get_by_role("button", name="Message Sam Student").click()
    page.wait_for_url("**/c/*/")
    conversation_id = conversation_id_of(page)
    device_ready(page)
    expect(page.locator("#e2e-badge")).to_be_visible()
    send(page, "Hello Sam, this is private <b>really</b>")

    open_conversation(sam_page, e2e_server, conversation_id)
    device_ready(sam_page)
    shows(sam_page, "Hello Sam, this is private <b>really</b>")
    # Plain text: the markup is text, not elements.
    expect(message(sam_page, "Hello Sam").locator(".content b")).to_have_count(0)
    send(sam_page, "Hi Maria, got it")
    shows(page, "Hi Maria, got it")

    # The server holds no text.
    for message_type, content, metadata in stored_texts(conversation_id):
        assert message_type == "encrypted" and content == ""
        assert "private" not in str(metadata) and "got it" not in str(metadata)

    # A reload reads everything again (keys come back from the envelopes).
    page.reload()
    shows(page, "Hello Sam, this is private <b>really</b>")
    shows(page, "Hi Maria, got it")
    sam_page.reload()
    shows(sam_page, "Hello Sam, this is private <b>really</b>")
    context.close()
    sam_context.close()
