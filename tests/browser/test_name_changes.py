"""A new display name, saved on the profile page, reaches the other
person's open pages without a reload: their messages, a thread summary
naming them, the direct conversation's title, initials, composer and tab
title, and its inbox row (``user.updated``); the summary keeps it after a
reload (the server's stored copy follows)."""

import re

import pytest
from playwright.sync_api import expect

from messaging.moderation.services import blocks
from tests.browser.conftest import off_loop, open_as, send_as, wait_synced

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]


def test_a_new_name_reaches_the_other_persons_open_page(pair, browser, server, console):
    mentor, student, conversation = pair
    sent = send_as(student, conversation, "Here is my draft")
    root = send_as(mentor, conversation, "Shall we go through it?")
    send_as(student, conversation, "Yes, on Friday", parent_id=root.pk)
    _, mentor_page = open_as(browser, server, console, mentor, f"/c/{conversation.pk}/")
    wait_synced(mentor_page)
    message = mentor_page.locator(f"#m-{sent.pk}")
    expect(message).to_contain_text("Sam Student")
    summary = mentor_page.locator(f"#m-{root.pk} .thread-summary")
    expect(summary).to_contain_text("Sam Student")
    mentor_page.evaluate("window.__notReloaded = true")

    _, student_page = open_as(browser, server, console, student, "/profile/")
    student_page.get_by_label("Display name").fill("Sam Rivera")
    student_page.get_by_role("button", name="Save").click()
    expect(student_page.get_by_role("heading", level=1)).to_have_text("Sam Rivera")

    expect(message).to_contain_text("Sam Rivera")
    expect(message).not_to_contain_text("Sam Student")
    expect(mentor_page.locator("#chat-title")).to_have_text("Sam Rivera")
    row = mentor_page.locator(f".conversation-row[data-conversation-id='{conversation.pk}']")
    expect(row.locator(".row-title")).to_have_text("Sam Rivera")
    expect(row.locator(".avatar")).to_have_text("SR")
    expect(summary).to_contain_text("Sam Rivera")
    expect(mentor_page.locator(".chat-header .avatar")).to_have_text("SR")
    expect(mentor_page.locator("#composer-input")).to_have_attribute(
        "placeholder", "Message Sam Rivera"
    )
    assert "Sam Rivera" in mentor_page.title()
    assert mentor_page.evaluate("window.__notReloaded") is True

    mentor_page.reload()
    wait_synced(mentor_page)
    expect(summary).to_contain_text("Sam Rivera")
    expect(summary).not_to_contain_text("Sam Student")


def test_a_blocked_persons_new_name_reaches_the_block_note_and_dialog(
    pair, browser, server, console
):
    """The blocked direct conversation names them in its note and in the
    (Unblock) dialog's title: both follow the new name too."""
    mentor, student, conversation = pair
    off_loop(blocks.block_person, blocker=mentor, blocked_id=student.pk)
    _, mentor_page = open_as(browser, server, console, mentor, f"/c/{conversation.pk}/")
    wait_synced(mentor_page)
    note = mentor_page.locator("#blocked-note")
    expect(note).to_contain_text("You blocked Sam Student")

    _, student_page = open_as(browser, server, console, student, "/profile/")
    student_page.get_by_label("Display name").fill("Sam Rivera")
    student_page.get_by_role("button", name="Save").click()
    expect(student_page.get_by_role("heading", level=1)).to_have_text("Sam Rivera")

    expect(mentor_page.locator("#chat-title")).to_have_text("Sam Rivera")
    expect(note).to_have_text(
        "You blocked Sam Rivera: you can't message each other. Unblock them to write again."
    )
    mentor_page.locator("#block-toggle").click()
    expect(mentor_page.get_by_role("dialog")).to_be_visible()
    expect(mentor_page.locator("#block-title")).to_have_text("Unblock Sam Rivera?")


def test_a_renamed_group_and_a_removed_member_show_on_an_open_page(pair, browser, server, console):
    """A group's new title reaches its title, tab title, composer and log
    label; a member removed, its member count (conversation.updated)."""
    from accounts.models import MentorAssignment, Role, User
    from messaging import services
    from messaging.models import ConversationType
    from tests.browser.conftest import PASSWORD

    mentor, student, _ = pair

    def make_group():
        third = User.objects.create_user(
            email="sofia@example.test", password=PASSWORD, display_name="Sofia", role=Role.STUDENT
        )
        MentorAssignment.objects.create(mentor=mentor, student=third)
        group = services.create_conversation(
            creator=mentor,
            kind=ConversationType.GROUP,
            participants=[student, third],
            title="Week 1",
        )
        return group, third

    group, third = off_loop(make_group)
    _, page = open_as(browser, server, console, student, f"/c/{group.pk}/")
    wait_synced(page)
    expect(page.locator("#member-count")).to_have_text("3 members")
    page.evaluate("window.__notReloaded = true")

    off_loop(services.rename_conversation, actor=mentor, conversation_id=group.pk, title="Week 2")
    expect(page.locator("#chat-title")).to_have_text("Week 2")
    expect(page.locator("#composer-input")).to_have_attribute("placeholder", "Message Week 2")
    expect(page.locator("#messages")).to_have_attribute("aria-label", "Messages in Week 2")
    expect(page).to_have_title(re.compile(r"^(\(\d+\) )?Week 2 · Parley$"))

    off_loop(services.remove_participant, actor=mentor, conversation_id=group.pk, user=third)
    expect(page.locator("#member-count")).to_have_text("2 members")
    assert page.evaluate("window.__notReloaded") is True
