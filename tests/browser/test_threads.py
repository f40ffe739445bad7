"""Rich text, replies and threads on the conversation page, in real headless
Chromium against a real daphne process on PostgreSQL and Redis
(docs/protocol.md, "Rich text, replies, threads, reactions, pins").

docs/screenshots/thread-panel.png and rich-text.png are the screenshots
these tests save in test-artifacts/."""

import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from messaging import services
from messaging.models import Message
from messaging.threads.models import ThreadFollow
from tests.browser.conftest import TIMEOUT_MS, off_loop, open_as, screenshot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

# More than the first page (50) and than a history page, so the parent of
# the reply is not loaded when the page opens.
FILLER = 120
# A message marked as the one gone to.
TARGET = re.compile(r"(^|\s)target(\s|$)")


def conversation_path(conversation):
    return f"/c/{conversation.pk}/"


def send(sender, conversation, content, **extra):
    return services.send_message(
        sender=sender,
        conversation_id=conversation.pk,
        content=content,
        client_id=uuid.uuid4(),
        **extra,
    ).message


def post(sender, conversation, content, **extra):
    """``send`` from a test's body: off Playwright's event loop."""
    return off_loop(send, sender=sender, conversation=conversation, content=content, **extra)


def read_up_to(user, root):
    """How far ``user`` has read the thread of ``root`` (thread.read)."""
    return off_loop(
        lambda: ThreadFollow.objects.get(thread__root_id=root.pk, user=user).last_read_seq
    )


def wait_until(condition, seconds=TIMEOUT_MS / 1000):
    """Whether ``condition()`` became true, asked again until ``seconds``
    passed (what the page sends, it sends without a reply to wait on)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def main_item(page, message_id):
    return page.locator(f"#message-list li.message[data-id='{message_id}']")


def main_texts(page):
    return page.locator("#message-list li.message .content").all_text_contents()


# --- Rich text ---------------------------------------------------------------


def test_formatting_shortcuts_code_block_and_lists(pair, browser, server, console):
    mentor, student, conversation = pair
    path = conversation_path(conversation)
    _, student_page = open_as(browser, server, console, student, path)
    _, mentor_page = open_as(browser, server, console, mentor, path)
    box = student_page.get_by_label("Message Maria Mentor")

    # Ctrl+B around a selection; the toolbar's buttons have names and show
    # their shortcut.
    box.fill("make this bold")
    box.focus()
    for _ in range(4):
        box.press("Shift+ArrowLeft")
    box.press("Control+b")
    expect(box).to_have_value("make this **bold**")
    # Again on the same selection: the markers go.
    box.press("Control+b")
    expect(box).to_have_value("make this bold")
    box.press("Control+b")
    # Nothing selected: the markers go around the caret.
    box.press("End")
    box.press_sequentially(" and ")
    box.press("Control+i")
    box.press_sequentially("slanted")
    expect(box).to_have_value("make this **bold** and _slanted_")
    code_button = student_page.get_by_role("button", name="Inline code").first
    expect(code_button).to_have_attribute("title", "Inline code (Ctrl+E)")
    box.press("Enter")
    first = mentor_page.locator("#message-list li.message .content").last
    expect(first.locator("strong")).to_have_text("bold")
    expect(first.locator("em")).to_have_text("slanted")

    # A code block (Ctrl+Shift+C) and two lists, typed with Shift+Enter.
    box.fill("Steps:\n\n1. clone\n2. run\n\n- fast\n- safe\n\n")
    box.press("Control+End")
    box.press("Control+Shift+c")
    box.press_sequentially("def answer():")
    box.press("Shift+Enter")
    box.press_sequentially("    return 42")
    assert box.input_value().endswith("```\ndef answer():\n    return 42\n```")
    value = box.input_value().replace("```\ndef", "```python\ndef")
    box.fill(value)
    box.press("Enter")

    rich = mentor_page.locator("#message-list li.message .content").last
    expect(rich.locator("pre code")).to_contain_text("return 42")
    # Highlighted at render time: the keyword has a colour class.
    expect(rich.locator("pre code .hl-k").first).to_have_text("def")
    expect(rich.locator("ol > li")).to_have_count(2)
    expect(rich.locator("ul > li")).to_have_count(2)
    assert rich.locator("pre").evaluate("n => getComputedStyle(n).overflowX") == "auto"
    # The sender sees the stored rendering too, once it is acknowledged.
    mine = student_page.locator("#message-list li.message.mine .content").last
    expect(mine.locator("pre code")).to_contain_text("return 42")

    # The formatting help lists the syntax.
    help_button = student_page.get_by_role("button", name="Formatting help").first
    help_button.click()
    expect(help_button).to_have_attribute("aria-expanded", "true")
    expect(student_page.locator("#composer .format-help")).to_contain_text("~~strikethrough~~")
    student_page.keyboard.press("Escape")
    expect(student_page.locator("#composer .format-help")).to_be_hidden()
    screenshot(mentor_page, "rich-text.png")


def test_hostile_markdown_shows_as_text_and_runs_nothing(pair, browser, server, console):
    mentor, student, conversation = pair
    hostile = [
        "<img src=x onerror=alert(1)>",
        "[click me](javascript:alert(2))",
        "<script>alert(3)</script>",
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCg0KTwvc2NyaXB0Pg==)",
        '<a href="javascript:alert(5)" onclick="alert(6)">x</a>',
    ]
    # One in the page's first data, the others live.
    post(mentor, conversation, hostile[0])
    path = conversation_path(conversation)
    context, page = open_as(browser, server, console, student, path)
    dialogs: list[str] = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    for text in hostile[1:]:
        post(mentor, conversation, text)
    items = page.locator("#message-list li.message")
    expect(items).to_have_count(len(hostile))
    contents = main_texts(page)
    assert contents[0] == "<img src=x onerror=alert(1)>"
    assert contents[1] == "[click me](javascript:alert(2))"
    assert contents[2] == "<script>alert(3)</script>"
    message_list = page.locator("#message-list")
    expect(message_list.locator("script")).to_have_count(0)
    expect(message_list.locator("img")).to_have_count(0)
    expect(message_list.locator("[onerror], [onclick]")).to_have_count(0)
    expect(message_list.locator("a[href^='javascript:' i], a[href^='data:' i]")).to_have_count(0)
    # Clicking what looks like a link does nothing either.
    page.locator("#message-list li.message .content").nth(1).click()
    # A reload renders the same from the page's data.
    page.reload()
    expect(items).to_have_count(len(hostile))
    expect(message_list.locator("script, img")).to_have_count(0)
    assert page.evaluate("document.querySelectorAll('#message-list img').length") == 0
    assert dialogs == []
    context.close()


def test_mentions_of_me_are_marked(pair, browser, server, console):
    mentor, student, conversation = pair
    post(mentor, conversation, "Hi @Sam Student, see `@Sam Student` and **bold**")
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    item = page.locator("#message-list li.message").last
    expect(item.locator(".mention.mention-me")).to_have_count(1)
    expect(item.locator(".mention-me")).to_have_text("@Sam Student")
    # Inside code it stays code.
    expect(item.locator("code")).to_have_text("@Sam Student")
    assert "mentions-me" in (item.get_attribute("class") or "")


# --- Replies -------------------------------------------------------------------


@pytest.fixture
def long_history(pair):
    """A parent far back (beyond the first page and a history page), many
    messages after it, and a reply quoting it at the end."""
    mentor, student, conversation = pair
    parent = send(mentor, conversation, "PARENT: the rubric is in the handbook, chapter 3")
    for n in range(FILLER):
        send(student if n % 2 else mentor, conversation, f"filler {n}")
    reply = send(student, conversation, "Thanks for the rubric", reply_to_id=parent.pk)
    return parent, reply


def test_reply_and_jump_to_an_old_parent(pair, long_history, browser, server, console):
    mentor, student, conversation = pair
    parent, reply = long_history
    _, page = open_as(browser, server, console, student, conversation_path(conversation))

    quote = main_item(page, reply.pk).locator(".reply-quote")
    expect(quote.locator(".quote-name")).to_have_text("Maria Mentor")
    expect(quote.locator(".quote-text")).to_have_text(
        "PARENT: the rubric is in the handbook, chapter 3"
    )
    expect(main_item(page, parent.pk)).to_have_count(0)
    # Keyboard: the quote is a button.
    quote.focus()
    page.keyboard.press("Enter")
    target = main_item(page, parent.pk)
    expect(target).to_be_visible()
    expect(target).to_have_class(TARGET, timeout=20_000)
    expect(target).to_be_focused()
    expect(target).to_be_in_viewport()

    # Reply from the page: the composer names the message, Escape cancels.
    last = main_item(page, reply.pk)
    earlier = page.locator("#message-list li.message", has_text="filler 119")
    earlier.hover()
    earlier.get_by_role("button", name="Reply to Sam Student").click()
    bar = page.locator("#composer .reply-bar")
    expect(bar).to_contain_text("Replying to Sam Student: filler 119")
    box = page.get_by_label("Message Maria Mentor")
    expect(box).to_be_focused()
    box.press("Escape")
    expect(bar).to_be_hidden()
    last.hover()
    last.get_by_role("button", name="Reply to Sam Student").click()
    expect(bar).to_contain_text("Replying to Sam Student: Thanks for the rubric")
    box.fill("Chapter 3, page 12")
    box.press("Enter")
    expect(bar).to_be_hidden()
    mine = page.locator("#message-list li.message.mine", has_text="Chapter 3, page 12")
    expect(mine.locator(".reply-quote .quote-text")).to_have_text("Thanks for the rubric")
    # The quote of the new reply goes to the message it quotes.
    mine.locator(".reply-quote").click()
    expect(main_item(page, reply.pk)).to_have_class(TARGET)


def test_the_reply_bar_quotes_the_words_not_the_markdown(pair, browser, server, console):
    mentor, student, conversation = pair
    post(mentor, conversation, "**Due** on _Friday_, see `rubric.pdf`")
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    message = page.locator("#message-list li.message", has_text="Due on Friday")
    message.hover()
    message.get_by_role("button", name="Reply to Maria Mentor").click()
    expect(page.locator("#composer .reply-bar .reply-bar-text")).to_have_text(
        "Replying to Maria Mentor: Due on Friday, see rubric.pdf"
    )


def test_quote_of_a_deleted_message(pair, browser, server, console):
    mentor, student, conversation = pair
    parent = post(mentor, conversation, "soon gone")
    post(student, conversation, "replying to it", reply_to_id=parent.pk)
    off_loop(services.delete_message, actor=mentor, message_id=parent.pk)
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    quote = page.locator("#message-list li.message", has_text="replying to it").locator(
        ".reply-quote"
    )
    expect(quote.locator(".quote-text")).to_have_text("Deleted message")


def test_a_quote_follows_its_message_live(pair, browser, server, console):
    """Edited, the quote shows the new words; deleted, its words go at once
    (they stayed in the quote until a reload), on every open page."""
    mentor, student, conversation = pair
    parent = post(mentor, conversation, "call me on 555-0100")
    post(student, conversation, "noted", reply_to_id=parent.pk)
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    quote = page.locator("#message-list li.message", has_text="noted").locator(".reply-quote")
    expect(quote.locator(".quote-text")).to_have_text("call me on 555-0100")
    off_loop(services.edit_message, editor=mentor, message_id=parent.pk, content="call me later")
    expect(quote.locator(".quote-text")).to_have_text("call me later")
    off_loop(services.delete_message, actor=mentor, message_id=parent.pk)
    expect(quote.locator(".quote-text")).to_have_text("Deleted message")
    expect(page.locator("#message-list")).not_to_contain_text("555-0100")


# --- Threads ---------------------------------------------------------------------


def test_a_replys_tools_open_inside_the_thread_panel(pair, browser, server, console):
    """Hovered, a reply's quick actions are all in the panel, whoever wrote
    it: beside the bubble, they were off the window or under the list."""
    mentor, student, conversation = pair
    root = post(mentor, conversation, "Questions about the rubric go here")
    for sender, text in ((student, "Does the essay count twice?"), (mentor, "Once, at the end")):
        post(sender, conversation, text, parent_id=root.pk)
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    item = main_item(page, root.pk)
    item.hover()
    item.get_by_role("button", name="Reply in thread to Maria Mentor").click()
    panel = page.get_by_role("complementary", name="Thread")
    expect(panel.locator("#thread-list li.message")).to_have_count(2)
    edge = panel.bounding_box()
    for text in ("Does the essay count twice?", "Once, at the end"):
        reply = panel.locator("#thread-list li.message", has_text=text)
        reply.hover()
        tools = reply.locator(".message-tools")
        expect(tools).to_be_visible()
        # The pointer goes from the words down to the tools: they stay.
        bubble = reply.locator(".bubble").bounding_box()
        page.mouse.move(bubble["x"] + 8, bubble["y"] + bubble["height"] - 2)
        page.mouse.move(bubble["x"] + 8, bubble["y"] + bubble["height"] + 6, steps=8)
        expect(tools).to_have_css("opacity", "1")
        box = tools.bounding_box()
        assert edge["x"] <= box["x"] and box["x"] + box["width"] <= edge["x"] + edge["width"], (
            text,
            box,
            edge,
        )
        # What it shows can be clicked: nothing lies over it.
        assert tools.evaluate(
            "n => { const r = n.getBoundingClientRect();"
            " return n.contains(document.elementFromPoint(r.x + 4, r.y + r.height / 2)); }"
        ), text


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 1000, "height": 800}]
)
def test_a_wide_messages_tools_stay_in_the_conversation(pair, browser, server, console, viewport):
    """Beside a wide bubble there is no room: its quick actions are drawn
    over its corner, every one of them on screen and clickable."""
    mentor, student, conversation = pair
    words = "We will go through every part of the rubric together on Friday, " * 6
    wide = post(mentor, conversation, words.strip())
    _, page = open_as(browser, server, console, student, conversation_path(conversation), viewport)
    item = main_item(page, wide.pk)
    item.hover()
    tools = item.locator(".message-tools")
    expect(tools).to_have_css("opacity", "1")
    area = page.locator("#messages").bounding_box()
    box = tools.bounding_box()
    assert area["x"] <= box["x"] and box["x"] + box["width"] <= area["x"] + area["width"], (
        box,
        area,
    )
    last = tools.get_by_role("button").last
    expect(last).to_be_in_viewport()
    assert last.evaluate(
        "n => { const r = n.getBoundingClientRect();"
        " return n.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)); }"
    )


def test_my_messages_edit_and_delete_leave_its_name_and_time_readable(
    pair, browser, server, console
):
    """Edit and Delete showed over my name line's end, where its time is."""
    mentor, student, conversation = pair
    for text in ("ok", "A longer message of mine that is wider than its name line, " * 3):
        post(mentor, conversation, "Welcome")  # mine then starts a run: its name line shows
        mine = post(student, conversation, text)
        _, page = open_as(browser, server, console, student, conversation_path(conversation))
        item = main_item(page, mine.pk)
        item.hover()
        actions = item.locator(".message-actions")
        expect(actions).to_have_css("opacity", "1")
        for part in (".meta time", ".meta .sender"):
            a, b = actions.bounding_box(), item.locator(part).bounding_box()
            apart = (
                a["x"] + a["width"] <= b["x"]
                or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"]
                or b["y"] + b["height"] <= a["y"]
            )
            assert apart, (text, part, a, b)
        assert actions.evaluate(
            "n => { const r = n.getBoundingClientRect();"
            " return n.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2));"
            " }"
        )
        page.context.close()


def test_thread_reply_updates_the_count_live_for_another_member(pair, browser, server, console):
    mentor, student, conversation = pair
    root = post(mentor, conversation, "Who reviews the pull request?")
    path = conversation_path(conversation)
    _, mentor_page = open_as(browser, server, console, mentor, path)
    _, student_page = open_as(browser, server, console, student, path)

    # The student opens a thread on the mentor's message.
    item = main_item(student_page, root.pk)
    item.hover()
    opener = item.get_by_role("button", name="Reply in thread to Maria Mentor")
    opener.click()
    panel = student_page.get_by_role("complementary", name="Thread")
    expect(panel).to_be_visible()
    expect(panel.locator("#thread-root")).to_contain_text("Who reviews the pull request?")
    reply_box = student_page.get_by_label("Reply in the thread")
    expect(reply_box).to_be_focused()
    reply_box.fill("I can review it")
    reply_box.press("Enter")
    expect(panel.locator("#thread-list li.message .content")).to_have_text(["I can review it"])

    # The mentor's page: the count under the root, live; the reply is not
    # in the main stream.
    summary = main_item(mentor_page, root.pk).locator(".thread-summary")
    expect(summary.locator(".thread-count")).to_have_text("1 reply")
    expect(summary).to_contain_text("Sam Student")
    assert "I can review it" not in main_texts(mentor_page)
    assert "I can review it" not in main_texts(student_page)

    # Also to the conversation: in the thread and in the main stream.
    student_page.get_by_label("Also send to conversation").check()
    reply_box.fill("Done, **merged**")
    reply_box.press("Enter")
    expect(summary.locator(".thread-count")).to_have_text("2 replies")
    expect(mentor_page.locator("#message-list li.message .content").last).to_have_text(
        "Done, merged"
    )
    expect(panel.locator("#thread-list li.message .content")).to_have_text(
        ["I can review it", "Done, merged"]
    )
    # The screenshot shows a reply's quick actions, under it.
    first_reply = panel.locator("#thread-list li.message").first
    first_reply.hover()
    expect(first_reply.locator(".message-tools")).to_have_css("opacity", "1")
    screenshot(student_page, "thread-panel.png")

    # Escape closes the panel and gives the focus back to what opened it.
    student_page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(opener).to_be_focused()

    # The mentor opens it from the summary: both replies, unread for her
    # (she follows the thread she started), then read up to the last one.
    summary.click()
    mentor_panel = mentor_page.get_by_role("complementary", name="Thread")
    expect(mentor_panel.locator("#thread-list li.message .content")).to_have_text(
        ["I can review it", "Done, merged"]
    )
    expect(mentor_panel.locator("#thread-list li.message.unread")).to_have_count(2)
    expect(mentor_panel.locator(".unread-sep")).to_have_text("2 new replies")
    last_seq = off_loop(
        lambda: Message.objects.get(parent_id=root.pk, content="Done, **merged**").seq
    )
    assert wait_until(lambda: read_up_to(mentor, root) == last_seq)
    # A live one too.
    post(student, conversation, "One more", parent_id=root.pk)
    expect(mentor_panel.locator("#thread-list li.message .content")).to_have_text(
        ["I can review it", "Done, merged", "One more"]
    )
    expect(summary.locator(".thread-count")).to_have_text("3 replies")
    mentor_page.get_by_role("button", name="Close the thread").click()
    expect(mentor_panel).to_be_hidden()
    expect(mentor_page.locator(".thread-summary").first).to_be_focused()

    # A notification's link opens the panel at load.
    mentor_page.goto(f"{server.http_url}{path}?thread={root.pk}")
    expect(mentor_panel).to_be_visible()
    expect(mentor_panel.locator("#thread-list li.message .content")).to_have_text(
        ["I can review it", "Done, merged", "One more"]
    )


def test_thread_pages_earlier_replies(pair, browser, server, console):
    mentor, student, conversation = pair

    def thread():
        root = send(mentor, conversation, "A long thread")
        for n in range(60):
            send(student if n % 2 else mentor, conversation, f"reply {n}", parent_id=root.pk)
        return root

    root = off_loop(thread)
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    # The replies fill seqs without showing in the main stream.
    expect(page.locator("#message-list li.message")).to_have_count(1)
    main_item(page, root.pk).locator(".thread-summary").click()
    panel = page.get_by_role("complementary", name="Thread")
    replies = panel.locator("#thread-list li.message")
    expect(replies.last.locator(".content")).to_have_text("reply 59")
    earlier = panel.get_by_role("button", name="Load earlier replies")
    expect(earlier).to_be_visible()
    earlier.click()
    expect(replies).to_have_count(60)
    expect(replies.first.locator(".content")).to_have_text("reply 0")
    expect(earlier).to_be_hidden()


def test_thread_covers_the_conversation_on_a_phone(pair, browser, server, console):
    mentor, student, conversation = pair
    root = post(mentor, conversation, "Phone thread")
    post(student, conversation, "a reply", parent_id=root.pk)
    viewport = {"width": 390, "height": 800}
    _, page = open_as(
        browser,
        server,
        console,
        student,
        f"{conversation_path(conversation)}?thread={root.pk}",
        viewport=viewport,
    )
    panel = page.get_by_role("complementary", name="Thread")
    expect(panel.locator("#thread-list li.message .content")).to_have_text(["a reply"])
    box = panel.bounding_box()
    assert box is not None and box["x"] == 0 and box["width"] == viewport["width"]
    # On top of the conversation: what is under the middle of the screen is the panel.
    assert page.evaluate(
        "document.elementFromPoint(innerWidth / 2, innerHeight / 2)"
        ".closest('#thread-panel') !== null"
    )
    close = panel.get_by_role("button", name="Close the thread")
    expect(close).to_be_in_viewport()
    close.click()
    expect(panel).to_be_hidden()
    assert "thread=" not in page.url
    # Its quick actions are in the flow on a phone once it is tapped, reachable without hover.
    item = main_item(page, root.pk)
    # Its summary is a line of text under it, not columns squeezed side by side.
    summary = item.locator(".thread-summary")
    expect(summary).to_contain_text("1 reply")
    assert summary.bounding_box()["height"] < 36
    # One tap on it opens the thread: the tools its tap reveals come under
    # it, not above it, so what the finger is on does not move away.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    summary.click()
    expect(panel).to_be_visible()
    close.click()
    expect(panel).to_be_hidden()
    item.locator(".bubble").click()
    expect(item.get_by_role("button", name="Reply in thread to Maria Mentor")).to_be_in_viewport()
    assert item.locator(".message-tools").evaluate("n => getComputedStyle(n).position") == "static"
