"""The web chat in real headless Chromium: a mentor and their student, each
in their own browser context, against a real daphne process on PostgreSQL
and Redis."""

import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from accounts.models import MentorAssignment, Role, User
from messaging import limits, services
from messaging.models import ConversationParticipant, ConversationType, Message
from tests.browser.conftest import (
    PASSWORD,
    TIMEOUT_MS,
    off_loop,
    open_as,
    screenshot,
    wait_synced,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]


def conversation_path(conversation):
    return f"/c/{conversation.pk}/"


def message_texts(page):
    return page.locator("#message-list li.message .content").all_text_contents()


def outbox_entries(page):
    return json.loads(page.evaluate("JSON.stringify(window.parley.outbox.all())"))


def write(page, text):
    box = page.get_by_label("Message Maria Mentor")
    box.fill(text)
    box.press("Enter")


@pytest.fixture
def study_group(pair):
    """A group with some history, so the inbox has more than one row."""
    mentor, student, _ = pair
    other = User.objects.create_user(
        email="sofia@example.test",
        password="x" * 16,
        display_name="Sofia Student",
        role=Role.STUDENT,
    )
    MentorAssignment.objects.create(mentor=mentor, student=other)
    group = services.create_conversation(
        creator=mentor,
        kind=ConversationType.GROUP,
        participants=[student, other],
        title="Capstone study group",
    )
    for sender, text in [
        (mentor, "Welcome to the capstone group! Introduce yourselves."),
        (other, "Hi all, I'm Sofia, working on a data pipeline project."),
        (student, "Sam here: a web app for tutoring schedules. Notes: https://example.test/plan"),
    ]:
        services.send_message(
            sender=sender, conversation_id=group.pk, content=text, client_id=uuid.uuid4()
        )
    return group


@pytest.fixture
def read_by_a_bot_and_maria(pair, study_group):
    """Sam's message in the group, read by a bot in it and by Maria (made
    before the browser starts: services cannot run in Playwright's thread)."""
    mentor, student, _ = pair
    bot = User.objects.create_user(
        email="helper@example.test", password=None, display_name="Study Helper", role=Role.BOT
    )
    ConversationParticipant.objects.create(conversation=study_group, user=bot)
    mine = services.send_message(
        sender=student,
        conversation_id=study_group.pk,
        content="Draft is up",
        client_id=uuid.uuid4(),
    ).message
    for reader in (bot, mentor):
        services.mark_read(user=reader, conversation_id=study_group.pk, up_to_seq=mine.seq)
    return mine


def test_a_bot_in_a_group_is_not_among_who_saw_a_message(
    pair, study_group, read_by_a_bot_and_maria, browser, server, console
):
    """A bot reads everything at once: "Seen by" names the people only."""
    _, student, _ = pair
    _, page = open_as(browser, server, console, student, f"/c/{study_group.pk}/")
    receipt = page.locator("li.message.mine", has_text="Draft is up").locator(".receipt-text")
    expect(receipt).to_have_text("Seen by Maria")


def test_live_message_delivered_read_and_typing(pair, study_group, browser, server, console):
    mentor, student, conversation = pair
    path = conversation_path(conversation)
    _, student_page = open_as(browser, server, console, student, path, login_form=True)
    _, mentor_page = open_as(browser, server, console, mentor, "/")
    mentor_page.evaluate("window.__notReloaded = true")

    write(student_page, "Hi Maria, line one\nand line two")

    # The mentor's inbox shows it live: preview, unread badge, no reload.
    row = mentor_page.locator(f".conversation-row[data-conversation-id='{conversation.pk}']")
    expect(row.locator(".row-preview")).to_have_text("Hi Maria, line one and line two")
    expect(row.locator(".unread-badge")).to_have_text("1")
    assert mentor_page.evaluate("window.__notReloaded") is True

    # Her tab received it but she has not opened it: delivered, not read.
    mine = student_page.locator("#message-list li.message.mine").last
    expect(mine.locator(".receipt")).to_have_attribute("data-state", "delivered")
    expect(mine.locator(".content")).to_have_text("Hi Maria, line one\nand line two")
    screenshot(mentor_page, "inbox.png")

    # She opens it: the student sees it read.
    row.locator("a").click()
    mentor_page.wait_for_url(f"**{path}")
    wait_synced(mentor_page)
    expect(mentor_page.locator("#message-list li.message .content").last).to_have_text(
        "Hi Maria, line one\nand line two"
    )
    expect(mine.locator(".receipt")).to_have_attribute("data-state", "read")
    expect(mine.locator(".receipt-text")).to_have_text("Read")

    # She types: the typing line appears for the student, and expires.
    box = mentor_page.get_by_label("Message Sam Student")
    box.press_sequentially("Sure, let me", delay=30)
    typing = student_page.locator("#typing-line")
    expect(typing).to_have_text("Maria Mentor is typing…")
    expect(typing).to_have_text("", timeout=TIMEOUT_MS)

    # She sends: it arrives live in the student's open conversation.
    box.press_sequentially(" look.", delay=10)
    expect(typing).to_have_text("Maria Mentor is typing…")
    box.press("Enter")
    expect(typing).to_have_text("")
    expect(student_page.locator("#message-list li.message .content").last).to_have_text(
        "Sure, let me look."
    )
    # Shift+Enter is a new line, not a send.
    student_box = student_page.get_by_label("Message Maria Mentor")
    student_box.press_sequentially("first")
    student_box.press("Shift+Enter")
    student_box.press_sequentially("second")
    expect(student_box).to_have_value("first\nsecond")
    screenshot(student_page, "conversation.png")


def test_messages_written_offline_arrive_once_in_order(pair, browser, server, console):
    mentor, student, conversation = pair
    path = conversation_path(conversation)
    student_context, student_page = open_as(browser, server, console, student, path)
    _, mentor_page = open_as(browser, server, console, mentor, path)

    student_context.set_offline(True)
    expect(student_page.locator("#connection")).to_have_attribute("data-state", "offline")
    write(student_page, "offline one")
    write(student_page, "offline two")
    pending = student_page.locator("#outbox-list li.outbox.pending")
    expect(pending).to_have_count(2)
    expect(pending.locator(".content")).to_have_text(["offline one", "offline two"])
    assert [e["content"] for e in outbox_entries(student_page)] == ["offline one", "offline two"]
    assert not off_loop(lambda: Message.objects.filter(content__startswith="offline").exists())

    student_context.set_offline(False)
    expect(pending).to_have_count(0)
    expect(student_page.locator("#message-list li.message .content")).to_have_text(
        ["offline one", "offline two"]
    )
    expect(mentor_page.locator("#message-list li.message .content")).to_have_text(
        ["offline one", "offline two"]
    )
    assert outbox_entries(student_page) == []
    stored = off_loop(
        lambda: list(
            Message.objects.filter(conversation=conversation)
            .order_by("seq")
            .values_list("content", flat=True)
        )
    )
    assert stored == ["offline one", "offline two"]


def test_outbox_survives_a_reload(pair, browser, server, console):
    """Written offline, then the page reloaded before the socket came back.

    A page cannot be reloaded while the browser is offline (there is no
    offline copy of the page), so the messages are written offline, the
    socket is held away from the server while the network returns and the
    page reloads, and then the socket is let through.
    """
    mentor, student, conversation = pair
    path = conversation_path(conversation)
    student_context, student_page = open_as(browser, server, console, student, path)
    _, mentor_page = open_as(browser, server, console, mentor, path)

    student_context.set_offline(True)
    write(student_page, "before reload one")
    write(student_page, "before reload two")
    expect(student_page.locator("#outbox-list li.outbox.pending")).to_have_count(2)

    held = []
    let_through = {"yes": False}

    def route(ws):
        if let_through["yes"]:
            ws.connect_to_server()
        else:
            held.append(ws)  # open, but it never says hello

    student_page.route_web_socket("**/ws/", route)
    student_context.set_offline(False)
    student_page.reload()
    pending = student_page.locator("#outbox-list li.outbox.pending")
    expect(pending.locator(".content")).to_have_text(["before reload one", "before reload two"])
    expect(student_page.locator("#outbox-list .send-state.pending").first).to_have_text("Pending")
    student_page.wait_for_timeout(0)
    assert held, "the reloaded page opened no socket"
    assert not off_loop(
        lambda: Message.objects.filter(content__startswith="before reload").exists()
    )

    let_through["yes"] = True
    held[-1].close()  # the client reconnects, now to the server
    expect(pending).to_have_count(0)
    expect(mentor_page.locator("#message-list li.message .content")).to_have_text(
        ["before reload one", "before reload two"]
    )
    expect(student_page.locator("#message-list li.message .content")).to_have_text(
        ["before reload one", "before reload two"]
    )
    assert outbox_entries(student_page) == []
    assert (
        off_loop(lambda: Message.objects.filter(content__startswith="before reload").count()) == 2
    )


def test_refused_message_shows_failed_with_retry(pair, browser, server, console):
    mentor, student, conversation = pair
    path = conversation_path(conversation)
    student_context, student_page = open_as(browser, server, console, student, path)

    student_context.set_offline(True)
    write(student_page, "sent into an archived conversation")
    off_loop(services.set_archived, actor=mentor, conversation_id=conversation.pk, archived=True)
    student_context.set_offline(False)

    failed = student_page.locator("#outbox-list li.outbox.failed")
    expect(failed).to_have_count(1)
    expect(failed.locator(".send-state")).to_contain_text("archived")
    # Kept across a reload, still failed, still offered for retry.
    student_page.reload()
    wait_synced(student_page)
    expect(failed).to_have_count(1)

    off_loop(services.set_archived, actor=mentor, conversation_id=conversation.pk, archived=False)
    failed.get_by_role("button", name="Retry").click()
    expect(student_page.locator("#outbox-list li.outbox")).to_have_count(0)
    expect(student_page.locator("#message-list li.message .content").last).to_have_text(
        "sent into an archived conversation"
    )
    assert (
        off_loop(
            lambda: Message.objects.filter(content="sent into an archived conversation").count()
        )
        == 1
    )


def test_presence_goes_offline_when_the_mentor_leaves(pair, browser, server, console):
    mentor, student, conversation = pair
    path = conversation_path(conversation)
    _, student_page = open_as(browser, server, console, student, path)
    header = student_page.locator("#header-presence")
    expect(header).to_have_attribute("data-status", "offline")

    mentor_context, _ = open_as(browser, server, console, mentor, path)
    expect(header).to_have_attribute("data-status", "online")
    expect(header).to_have_text("Online")

    mentor_context.close()
    expect(header).to_have_attribute("data-status", "offline")
    expect(header).to_have_text("Offline")


def test_html_and_script_in_a_message_stay_text(pair, browser, server, console):
    mentor, student, conversation = pair
    path = conversation_path(conversation)
    _, student_page = open_as(browser, server, console, student, path)
    _, mentor_page = open_as(browser, server, console, mentor, path)
    payload = (
        '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
        '<b>bold</b> <a href="javascript:window.__pwned=3">click</a> '
        "see https://example.test/a?b=1&c=2. javascript:alert(1)"
    )
    write(student_page, payload)

    def check(page):
        content = page.locator("#message-list li.message .content").last
        expect(content).to_have_text(payload)
        assert content.locator("img, script, b, iframe").count() == 0
        links = content.locator("a")
        expect(links).to_have_count(1)
        expect(links).to_have_attribute("href", "https://example.test/a?b=1&c=2")
        expect(links).to_have_attribute("rel", "noopener noreferrer nofollow")
        assert page.evaluate("typeof window.__pwned") == "undefined"

    check(mentor_page)
    check(student_page)
    # Stored, it comes back with the first page (the page's JSON) as text too.
    for page in (mentor_page, student_page):
        page.reload()
        wait_synced(page)
        check(page)
        assert page.evaluate("typeof window.__pwned") == "undefined"


def shown_messages(page):
    """Each shown message's markup by id, without its receipt mark (which
    follows the members' read cursors, not how the message arrived)."""
    return page.evaluate(
        """() => Object.fromEntries(
            [...document.querySelectorAll("#message-list li.message")].map((li) => {
                const copy = li.cloneNode(true);
                copy.querySelector(".receipt")?.remove();
                return [li.dataset.id, copy.outerHTML];
            }))"""
    )


def test_first_page_renders_messages_as_live_ones(pair, browser, server, console):
    """A message looks the same whether it arrived live or with the page:
    links, the edited marker, a deleted message's text, grouping, and the
    sender's own controls."""
    mentor, student, conversation = pair
    path = conversation_path(conversation)
    _, student_page = open_as(browser, server, console, student, path)
    _, mentor_page = open_as(browser, server, console, mentor, path)

    def converse():
        def say(sender, text):
            return services.send_message(
                sender=sender, conversation_id=conversation.pk, content=text, client_id=uuid.uuid4()
            ).message

        say(student, "My notes: https://example.test/plan?week=2.")
        draft = say(student, "Due Friday")
        services.edit_message(editor=student, message_id=draft.pk, content="Due Monday")
        wrong = say(mentor, "meant for another chat")
        services.delete_message(actor=mentor, message_id=wrong.pk)
        say(mentor, "Read https://example.test/guide first")

    off_loop(converse)
    expected = [
        "My notes: https://example.test/plan?week=2.",
        "Due Monday",
        "This message was deleted.",
        "Read https://example.test/guide first",
    ]

    def check(page):
        # Whether the Pin action is offered is known once the pinned list
        # has come: the markup compared below includes it.
        expect(page.locator("#pins-button")).to_have_attribute("data-loaded", "true")
        items = page.locator("#message-list li.message")
        expect(items.locator(".content")).to_have_text(expected)
        links = items.locator(".content a")
        expect(links).to_have_count(2)
        expect(links.first).to_have_attribute("href", "https://example.test/plan?week=2")
        expect(links.last).to_have_attribute("href", "https://example.test/guide")
        expect(items.nth(1).locator(".meta .edited")).to_have_text("(edited)")
        expect(items.locator(".edited")).to_have_count(1)
        # Grouped under the first, its name line is hidden: "(edited)" shows
        # under its bubble instead.
        expect(items.nth(1).locator(".edited-below")).to_be_visible()
        expect(items.locator(".edited-below")).to_have_count(1)
        expect(items.nth(2)).to_have_class(re.compile(r"\bdeleted\b"))
        # The student's second message follows his first: grouped under one name.
        expect(items.nth(0)).not_to_have_class(re.compile(r"\bcontinued\b"))
        expect(items.nth(1)).to_have_class(re.compile(r"\bcontinued\b"))

    live = {}
    for page in (student_page, mentor_page):
        check(page)
        live[page] = shown_messages(page)
    # Her own messages carry her controls: none on the deleted one.
    mine = mentor_page.locator("#message-list li.message.mine")
    expect(mine.nth(0).locator(".message-actions")).to_have_count(0)
    expect(mine.nth(1).get_by_role("button", name="Edit message")).to_be_visible()

    # Reloaded, the same messages come from the page itself: the mentor's
    # socket is held back, so nothing arrives over it.
    held = []

    def hold(ws):
        held.append(ws)  # open, but it never says hello

    mentor_page.route_web_socket("**/ws/", hold)
    for page in (student_page, mentor_page):
        page.reload()
        check(page)
        assert shown_messages(page) == live[page]
    wait_synced(student_page)
    assert shown_messages(student_page) == live[student_page]
    assert held, "the reloaded page opened no socket"
    assert mentor_page.locator("body[data-synced='true']").count() == 0


def test_without_javascript_the_chat_says_so(pair, browser, server, console):
    """The conversation page needs JavaScript and says so; the inbox, which
    the server renders, still lists the conversation."""
    mentor, student, conversation = pair
    off_loop(
        services.send_message,
        sender=mentor,
        conversation_id=conversation.pk,
        content="Welcome aboard",
        client_id=uuid.uuid4(),
    )
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    console.attach(page)
    page.goto(f"{server.http_url}/login/?next=/")
    page.get_by_label("Email").fill(student.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.http_url}/")
    row = page.locator(f".conversation-row[data-conversation-id='{conversation.pk}']")
    expect(row.locator(".row-preview")).to_have_text("Welcome aboard")

    page.goto(f"{server.http_url}{conversation_path(conversation)}")
    expect(page.locator(".noscript-note")).to_contain_text("The chat needs JavaScript")
    expect(page.locator(".noscript-note").get_by_role("link", name="inbox")).to_be_visible()
    expect(page.locator("#message-list li")).to_have_count(0)


def test_a_message_over_the_limit_is_kept_whole_and_said_before_it_is_sent(
    pair, browser, server, console
):
    """Pasting more than a message may hold keeps every character in the
    box (nothing is cut off unseen), says how long it is and what the limit
    is, and sends nothing until it fits; the thread's reply box does the
    same."""
    mentor, student, conversation = pair
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    limit = int(page.locator("#composer-input").get_attribute("data-max-chars"))
    assert limit == limits.max_content_chars()
    pasted = "".join(f"line {n:05d} of a long pasted report\n" for n in range(limit // 20))
    assert len(pasted.strip()) > limit
    box = page.locator("#composer-input")
    box.fill(pasted)
    notice = page.locator("#composer-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(f"{limit:,}")
    expect(box).to_have_attribute("aria-invalid", "true")
    box.press("Enter")
    assert page.evaluate("document.getElementById('composer-input').value") == pasted
    assert outbox_entries(page) == []

    # Cut down to the limit, it goes as written.
    fitting = pasted.strip()[:limit]
    box.fill(fitting)
    expect(notice).to_be_hidden()
    expect(box).not_to_have_attribute("aria-invalid", "true")
    box.press("Enter")
    expect(page.locator("#message-list li.message").last).to_contain_text("line 00000")
    stored = off_loop(lambda: Message.objects.filter(sender=student).last())
    assert stored.content == fitting

    # The same in the thread of that message.
    page.locator(f"#message-list li.message[data-id='{stored.pk}']").hover()
    page.get_by_role("button", name="Reply in thread to Sam Student").click()
    reply_box = page.get_by_label("Reply in the thread")
    reply_box.fill(pasted)
    thread_notice = page.locator("#thread-notice")
    expect(thread_notice).to_contain_text(f"{limit:,}")
    reply_box.press("Enter")
    assert page.evaluate("document.getElementById('thread-input').value") == pasted
    assert outbox_entries(page) == []


def test_a_short_continued_message_shows_its_actions_beside_its_words(
    pair, browser, server, console
):
    """On the second of two messages in a row (no name line above it), the
    Edit and Delete links sit above the bubble, not on its words, and the
    quick actions are one row beside it, not a column over the messages
    below."""
    mentor, student, conversation = pair
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    write(page, "ok")
    write(page, "short")
    last = page.locator("#message-list li.message").last
    expect(last).to_have_class(re.compile(r"\bcontinued\b"))
    expect(last.locator(".content")).to_have_text("short")
    last.hover()
    actions, tools = last.locator(".message-actions"), last.locator(".message-tools")
    expect(actions).to_have_css("opacity", "1")
    expect(tools).to_have_css("opacity", "1")
    bubble = last.locator(".bubble").bounding_box()
    links = actions.bounding_box()
    assert links["y"] + links["height"] <= bubble["y"] + 1, (links, bubble)
    row = tools.bounding_box()
    button = tools.locator("button").first.bounding_box()
    assert row["height"] < 2 * button["height"], (row, button)


def test_a_students_at_all_is_said_to_be_plain_text_before_it_is_sent(
    pair, browser, server, console
):
    """Only mentors and admins, in groups, reach everyone with @all: a
    student writing it is told, and the message goes as plain text."""
    mentor, student, conversation = pair
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    box = page.get_by_label("Message Maria Mentor")
    notice = page.locator("#composer-notice")
    box.fill("an email me@all.example is not one")
    expect(notice).to_be_hidden()
    box.fill("@all the slides are up")
    expect(notice).to_contain_text("plain text")
    box.press("Enter")
    expect(notice).to_be_hidden()
    expect(page.locator("#message-list li.message .content").last).to_have_text(
        "@all the slides are up"
    )
    stored = off_loop(lambda: Message.objects.filter(sender=student).last())
    assert "mention_everyone" not in stored.metadata
