"""Mentions and the notification centre in real headless Chromium, against
a real daphne process on PostgreSQL and Redis. The server runs the
notification tasks in-process (as the embedded default does), so what a
browser sends rings the other browsers' bells."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from accounts.models import MentorAssignment, Role, User
from messaging import services
from messaging.models import ConversationType
from tests.browser.conftest import PASSWORD, off_loop, open_as, screenshot, wait_synced

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]


@pytest.fixture
def server(eager_server):
    return eager_server


@pytest.fixture
def study_group(pair):
    mentor, student, _ = pair
    sofia = User.objects.create_user(
        email="sofia@example.test",
        password=PASSWORD,
        display_name="Sofia Student",
        role=Role.STUDENT,
    )
    MentorAssignment.objects.create(mentor=mentor, student=sofia)
    group = services.create_conversation(
        creator=mentor,
        kind=ConversationType.GROUP,
        participants=[student, sofia],
        title="Capstone study group",
    )
    return group, sofia


def test_a_mention_autocompletes_and_is_highlighted_for_the_recipient(
    pair, study_group, browser, server, console
):
    mentor, student, _ = pair
    group, sofia = study_group
    path = f"/c/{group.pk}/"
    _, sofia_page = open_as(browser, server, console, sofia, path)
    _, sam_page = open_as(browser, server, console, student, path)
    _, mentor_page = open_as(browser, server, console, mentor, path)

    box = mentor_page.get_by_label("Message Capstone study group")
    box.press_sequentially("Hi @s", delay=20)
    menu = mentor_page.get_by_role("listbox", name="People to mention")
    expect(menu).to_be_visible()
    # Both students match "s"; the keyboard picks the second.
    expect(menu.get_by_role("option")).to_have_count(2)
    expect(box).to_have_attribute("aria-expanded", "true")
    box.press("ArrowDown")
    expect(menu.get_by_role("option", name="@Sofia Student")).to_have_attribute(
        "aria-selected", "true"
    )
    expect(box).to_have_attribute("aria-activedescendant", "composer-input-mentions-option-1")
    screenshot(mentor_page, "mention-autocomplete.png")
    box.press("Enter")  # inserts, does not send
    expect(box).to_have_value("Hi @Sofia Student ")
    expect(menu).to_be_hidden()
    # Escape closes the list without inserting.
    box.press_sequentially("and @Sa", delay=20)
    expect(menu.get_by_role("option")).to_have_count(1)
    box.press("Escape")
    expect(menu).to_be_hidden()
    expect(box).to_have_value("Hi @Sofia Student and @Sa")
    box.press_sequentially("m Student, please review <b>this</b>", delay=5)
    box.press("Enter")

    for page in (sofia_page, sam_page, mentor_page):
        last = page.locator("#message-list li.message").last
        expect(last.locator(".content")).to_have_text(
            "Hi @Sofia Student and @Sam Student, please review <b>this</b>"
        )
        expect(last.locator(".mention")).to_have_count(2)
    # Sofia's own mention stands out, and so does the message, for her only.
    sofia_last = sofia_page.locator("#message-list li.message").last
    expect(sofia_last).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(sofia_last.locator(".mention-me")).to_have_text("@Sofia Student")
    mentor_last = mentor_page.locator("#message-list li.message").last
    expect(mentor_last.locator(".mention-me")).to_have_count(0)
    expect(mentor_last).not_to_have_class(re.compile(r"\bmentions-me\b"))
    # The markup stayed text.
    expect(sofia_last.locator(".content b")).to_have_count(0)
    screenshot(sofia_page, "mention.png")

    # Sofia's bell lists the mention (she is reading the conversation, so it
    # is read at once; the entry stays in the list).
    sofia_page.locator("#bell-button").click()
    expect(sofia_page.locator("#bell-list li[data-kind='mention']")).to_contain_text(
        "Maria Mentor mentioned you in Capstone study group"
    )


def test_the_bell_counts_live_and_marking_read_updates_every_tab(pair, browser, server, console):
    mentor, student, conversation = pair
    context, inbox = open_as(browser, server, console, student, "/")
    second_tab = context.new_page()
    console.attach(second_tab)
    second_tab.goto(f"{server.http_url}/")
    wait_synced(second_tab)
    count, other_count = inbox.locator("#bell-count"), second_tab.locator("#bell-count")
    expect(count).to_have_text("0 unread")

    def dm(text):
        return services.send_message(
            sender=mentor, conversation_id=conversation.pk, content=text, client_id=uuid.uuid4()
        ).message

    off_loop(dm, text="Can we move our call to 4?")
    expect(count).to_have_text("1 unread")
    expect(other_count).to_have_text("1 unread")
    expect(inbox).to_have_title(re.compile(r"^\(1\) "))
    last = off_loop(dm, text="Or 5, if that is easier.")
    expect(count).to_have_text("2 unread")
    expect(inbox).to_have_title(re.compile(r"^\(2\) "))

    inbox.locator("#bell-button").click()
    panel = inbox.locator("#bell-panel")
    expect(panel).to_be_visible()
    entries = panel.locator("li.bell-item")
    expect(entries).to_have_count(2)
    expect(entries.first).to_contain_text("Maria Mentor sent you a message")
    expect(entries.first).to_contain_text("Or 5, if that is easier.")
    screenshot(inbox, "notifications.png")

    entries.nth(1).get_by_role("button", name="Mark read").click()
    expect(count).to_have_text("1 unread")
    expect(other_count).to_have_text("1 unread")
    expect(entries.nth(1)).not_to_have_class(re.compile(r"\bunread\b"))

    panel.get_by_role("button", name="Mark all read").click()
    expect(count).to_have_text("0 unread")
    expect(other_count).to_have_text("0 unread")
    expect(second_tab).not_to_have_title(re.compile(r"^\("))

    # A third message; its entry links to the message in its conversation.
    off_loop(dm, text="Never mind, see you at 4.")
    expect(count).to_have_text("1 unread")
    inbox.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    inbox.locator("#bell-button").click()
    entries.first.locator("a").click()
    inbox.wait_for_url(re.compile(rf"/c/{conversation.pk}/#seq-{last.seq + 1}$"))
    wait_synced(inbox)
    target = inbox.locator("#message-list li.message.target")
    expect(target.locator(".content")).to_have_text("Never mind, see you at 4.")
    # Reading the conversation cleared the bell, in the other tab too.
    expect(inbox.locator("#bell-count")).to_have_text("0 unread")
    expect(other_count).to_have_text("0 unread")
