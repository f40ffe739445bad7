"""Moderation in the web chat, in real headless Chromium against a real
daphne process: reporting a message through its menu and dialog, blocking
from a direct conversation's header (and unblocking from the profile page),
and a message hidden by a moderator disappearing from members' open pages,
then coming back, live."""

import uuid

import pytest
from playwright.sync_api import expect

from accounts.models import Role, User
from messaging import services
from messaging.models import ConversationType, Report, UserBlock
from messaging.moderation.services import actions, blocks
from tests.browser.conftest import off_loop, open_as, send_as, wait_synced

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

HIDDEN = "This message was hidden by a moderator."


def conversation_path(conversation):
    return f"/c/{conversation.pk}/"


def _send(user, conversation, text):
    """Send as ``user`` (off Playwright's loop: the browser may be running)."""
    return off_loop(
        services.send_message,
        sender=user,
        conversation_id=conversation.pk,
        content=text,
        client_id=uuid.uuid4(),
    ).message


def _message(page, message):
    return page.locator(f"#m-{message.pk}")


def test_reporting_a_message_through_its_menu(pair, browser, server, console):
    mentor, student, conversation = pair
    message = _send(mentor, conversation, "Send me your password and I'll fix your grade.")
    own = _send(student, conversation, "Is that allowed?")
    _, page = open_as(browser, server, console, student, conversation_path(conversation))

    # One's own messages have no report menu.
    expect(_message(page, own).get_by_role("button", name="More actions")).to_have_count(0)
    item = _message(page, message)
    item.hover()
    menu_button = item.get_by_role("button", name="More actions for the message from Maria Mentor")
    menu_button.click()
    expect(menu_button).to_have_attribute("aria-expanded", "true")
    report_item = item.get_by_role("menuitem", name="Report…")
    expect(report_item).to_be_focused()
    # Escape closes the menu and gives focus back to its button.
    page.keyboard.press("Escape")
    expect(report_item).to_be_hidden()
    expect(menu_button).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # the focused menu item: Report…

    dialog = page.get_by_role("dialog", name="Report a message")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Maria Mentor")
    # Sending without a reason says what is missing and sends nothing.
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog.get_by_role("alert")).to_have_text("Choose a reason.")
    dialog.get_by_role("radio", name="Someone may be at risk").check()
    dialog.get_by_label("Anything the moderators should know (optional)").fill("Asked twice.")
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog.get_by_text("Thanks — a moderator will review it.")).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(menu_button).to_be_focused()

    report = off_loop(lambda: Report.objects.select_related("case").get())
    assert report.message_id == message.pk and report.reporter_id == student.pk
    assert report.reason == "safeguarding" and report.details == "Asked twice."
    assert report.case.report_count == 1

    # Cancel closes the dialog without a second report.
    item.hover()
    menu_button.click()
    item.get_by_role("menuitem", name="Report…").click()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert off_loop(Report.objects.count) == 1


def test_blocking_from_a_direct_conversation_and_unblocking_from_the_profile(
    pair, browser, server, console
):
    mentor, student, conversation = pair
    path = conversation_path(conversation)
    _, student_page = open_as(browser, server, console, student, path)
    # A student keeps their assigned mentor within reach: no Block for them.
    expect(student_page.get_by_role("button", name="Block")).to_have_count(0)
    _, mentor_page = open_as(browser, server, console, mentor, path)

    mentor_page.get_by_role("button", name="Block").click()
    dialog = mentor_page.get_by_role("dialog", name="Block Sam Student?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert not off_loop(UserBlock.objects.exists)
    # Sam is writing when Maria blocks him: his page keeps the draft.
    box = student_page.get_by_label("Message Maria Mentor")
    box.fill("Hello? Are you there?")
    mentor_page.get_by_role("button", name="Block").click()
    dialog.get_by_role("button", name="Block").click()
    expect(mentor_page.locator("#blocked-note")).to_contain_text("You blocked Sam Student")
    expect(mentor_page.locator("#composer")).to_have_count(0)
    expect(mentor_page.get_by_role("button", name="Unblock")).to_be_visible()
    assert off_loop(lambda: UserBlock.objects.filter(blocker=mentor, blocked=student).exists())

    # The student's open page: the send is refused, the draft stays with the reason.
    box.press("Enter")
    expect(student_page.locator("#composer-notice")).to_have_text(
        "This person can't receive your messages."
    )
    expect(box).to_have_value("Hello? Are you there?")
    expect(student_page.locator("#outbox-list li")).to_have_count(0)
    # Not retried: nothing arrives, even after a reconnect's resume.
    student_page.reload()
    expect(student_page.locator("#blocked-note")).to_contain_text(
        "Maria Mentor can't receive your messages."
    )

    mentor_page.goto(f"{server.http_url}/profile/")
    blocked = mentor_page.locator("#blocked-list")
    expect(blocked.locator("li")).to_have_count(1)
    expect(blocked).to_contain_text("Sam Student")
    blocked.get_by_role("button", name="Unblock Sam Student").click()
    expect(blocked.locator("li")).to_have_count(0)
    expect(mentor_page.get_by_text("You haven't blocked anyone.")).to_be_visible()
    assert not off_loop(UserBlock.objects.exists)

    mentor_page.goto(f"{server.http_url}{path}")
    expect(mentor_page.get_by_label("Message Sam Student")).to_be_visible()
    expect(mentor_page.get_by_role("button", name="Block")).to_be_visible()
    # Sam's open page (nothing being written) takes the box back live.
    expect(student_page.get_by_label("Message Maria Mentor")).to_be_visible()
    expect(student_page.locator("#blocked-note")).to_have_count(0)


def test_a_block_reaches_the_other_persons_open_page(pair, browser, server, console):
    """Sam's page open on his conversation with Maria, nothing being
    written: Maria's block takes his box away at once, and lifting it
    brings it back, without him reloading; so does Maria's other tab."""
    mentor, student, conversation = pair
    path = conversation_path(conversation)
    _, student_page = open_as(browser, server, console, student, path)
    mentor_context, mentor_page = open_as(browser, server, console, mentor, path)
    other_tab = mentor_context.new_page()
    other_tab.goto(f"{server.http_url}{path}")
    wait_synced(other_tab)
    expect(student_page.get_by_label("Message Maria Mentor")).to_be_visible()
    student_page.evaluate("window.__notReloaded = true")

    mentor_page.get_by_role("button", name="Block").click()
    mentor_page.get_by_role("dialog", name="Block Sam Student?").get_by_role(
        "button", name="Block"
    ).click()
    expect(student_page.locator("#blocked-note")).to_contain_text(
        "Maria Mentor can't receive your messages."
    )
    expect(student_page.locator("#composer-input")).to_have_count(0)
    assert student_page.evaluate("window.__notReloaded") is None  # drawn again

    # Maria's page drew itself again after her block: its controls work
    # once its script has run.
    expect(mentor_page.locator("#blocked-note")).to_contain_text("You blocked Sam Student")
    expect(other_tab.locator("#blocked-note")).to_contain_text("You blocked Sam Student")
    wait_synced(mentor_page)
    mentor_page.get_by_role("button", name="Unblock").click()
    mentor_page.get_by_role("dialog", name="Unblock Sam Student?").get_by_role(
        "button", name="Unblock"
    ).click()
    expect(student_page.get_by_label("Message Maria Mentor")).to_be_visible()
    expect(student_page.locator("#blocked-note")).to_have_count(0)
    expect(other_tab.locator("#blocked-note")).to_have_count(0)


@pytest.fixture
def group_of_three(pair):
    mentor, student, _ = pair
    peer = User.objects.create_user(
        email="mo@example.test",
        password="browser-test-pass-1",
        display_name="Mo Mentor",
        role=Role.MENTOR,
    )
    admin = User.objects.create_user(
        email="ada@example.test", password="x" * 16, display_name="Ada Admin", role=Role.ADMIN
    )
    group = services.create_conversation(
        creator=mentor,
        kind=ConversationType.GROUP,
        participants=[student, peer],
        title="Cohort",
    )
    return group, peer, admin


def test_a_hidden_message_disappears_live_and_comes_back(
    pair, group_of_three, browser, server, console
):
    mentor, student, _ = pair
    group, peer, admin = group_of_three
    before = _send(mentor, group, "First, a fine message.")
    target = _send(peer, group, "Something nobody should read.")
    after = _send(mentor, group, "And another fine one.")
    path = conversation_path(group)
    _, student_page = open_as(browser, server, console, student, path)
    _, mentor_page = open_as(browser, server, console, mentor, path)
    pages = (student_page, mentor_page)
    order = [f"m-{m.pk}" for m in (before, target, after)]

    def ids(page):
        return page.locator("#message-list li.message:not(.moderation-warning)").evaluate_all(
            "nodes => nodes.map((n) => n.id)"
        )

    for page in pages:
        expect(_message(page, target)).to_contain_text("Something nobody should read.")

    off_loop(actions.hide_message, moderator=admin, message_id=target.pk, note="Abusive.")
    for page in pages:
        expect(_message(page, target).locator(".content")).to_have_text(HIDDEN)
        expect(page.get_by_text("Something nobody should read.")).to_have_count(0)
        assert ids(page)[-3:] == order  # in place, same position
        expect(_message(page, before)).to_contain_text("First, a fine message.")
    # Hidden messages offer no menu: there is nothing left to report.
    expect(_message(student_page, target).get_by_role("button")).to_have_count(0)

    off_loop(actions.restore_message, moderator=admin, message_id=target.pk, note="On appeal.")
    for page in pages:
        expect(_message(page, target).locator(".content")).to_have_text(
            "Something nobody should read."
        )
        assert ids(page)[-3:] == order

    # A page opened while a message is hidden shows the placeholder too.
    off_loop(actions.hide_message, moderator=admin, message_id=target.pk, note="Again.")
    student_page.reload()
    expect(_message(student_page, target).locator(".content")).to_have_text(HIDDEN)


def test_a_warning_shows_to_the_warned_person_only(pair, group_of_three, browser, server, console):
    mentor, student, _ = pair
    group, peer, admin = group_of_three
    message = _send(student, group, "Off-topic rant.")
    path = conversation_path(group)
    _, student_page = open_as(browser, server, console, student, path)
    _, mentor_page = open_as(browser, server, console, mentor, path)

    off_loop(
        actions.warn_sender,
        moderator=admin,
        message_id=message.pk,
        note="Second time.",
        text="Please keep to the topic.",
    )
    warning = student_page.locator("#moderation-notices .moderation-warning")
    expect(warning).to_contain_text("Warning from the moderators: Please keep to the topic.")
    expect(mentor_page.locator(".moderation-warning")).to_have_count(0)
    expect(mentor_page.get_by_text("Please keep to the topic.")).to_have_count(0)

    student_page.reload()
    expect(student_page.locator("#moderation-notices .moderation-warning")).to_contain_text(
        "Please keep to the topic."
    )


def test_a_muted_send_keeps_its_draft_and_is_not_retried(
    pair, group_of_three, browser, server, console
):
    mentor, student, _ = pair
    group, peer, admin = group_of_three
    off_loop(
        actions.mute_user,
        moderator=admin,
        user_id=student.pk,
        conversation_id=group.pk,
        minutes=30,
        note="Cooling off.",
    )
    _, page = open_as(browser, server, console, student, conversation_path(group))
    box = page.get_by_label("Message Cohort")
    box.fill("Let me explain!")
    box.press("Enter")
    notice = page.locator("#composer-notice")
    expect(notice).to_contain_text("You are muted in this conversation until")
    expect(box).to_have_value("Let me explain!")
    expect(page.locator("#outbox-list li")).to_have_count(0)
    outbox = page.evaluate("JSON.stringify(window.parley.outbox.all())")
    assert outbox == "[]"
    assert off_loop(lambda: group.messages.filter(sender=student).count()) == 0


def test_a_blocked_conversation_offers_no_reply_reaction_or_pin(pair, browser, server, console):
    """Blocked, Sam can read his conversation with Maria and keep what he
    needs from it (Save, Remind me), but is not offered what the server
    would refuse: Reply, Thread, a reaction, a pin."""
    mentor, student, conversation = pair
    message = send_as(mentor, conversation, "See you on Monday")
    off_loop(blocks.block_person, blocker=mentor, blocked_id=student.pk)
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    expect(page.locator("#blocked-note")).to_be_visible()
    item = page.locator(f"#m-{message.pk}")
    item.hover()
    tools = item.locator(".message-tools")
    expect(tools.get_by_role("button", name="Save")).to_be_visible()
    for name in ("Reply to Maria Mentor", "Reply in thread to Maria Mentor", "Add reaction"):
        expect(tools.get_by_role("button", name=name)).to_have_count(0)
    expect(tools.locator("[data-extra='pin']:visible")).to_have_count(0)
