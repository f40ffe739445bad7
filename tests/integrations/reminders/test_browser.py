"""In real Chromium: set a reminder from a message's quick actions with a
custom near time, run the sweep, and see it ring the bell live; then the
Reminders page lists it, fired."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from messaging.integrations.models import Reminder, ReminderState
from messaging.integrations.reminders import services
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import off_loop, open_as, screenshot, send_as

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]


@pytest.fixture
def server(eager_server):
    return eager_server


def open_reminder_dialog(page, message):
    """The "Remind me" dialog of ``message``, opened from its quick actions."""
    item = page.locator(f"#m-{message.pk}")
    item.hover()
    item.get_by_role("button", name="Remind me about this message").click()
    return page.get_by_role("dialog", name="Remind me about this message")


def test_a_reminder_set_from_a_message_rings_the_bell_when_it_fires(pair, browser, server, console):
    mentor, student, conversation = pair
    message = send_as(mentor, conversation, "Submit the lab report by Thursday")
    context, page = open_as(
        browser, server, console, student, f"/c/{conversation.pk}/", time_zone="UTC"
    )
    dialog = open_reminder_dialog(page, message)
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Tomorrow at 9:00")).to_be_visible()
    near = timezone.now().astimezone(dt.UTC) + dt.timedelta(minutes=3)
    dialog.get_by_label("Date and time").fill(near.strftime("%Y-%m-%dT%H:%M"))
    expect(dialog.get_by_label("At a time I choose")).to_be_checked()
    dialog.get_by_label("Note (optional)").fill("Ask about the format")
    screenshot(page, "reminder-dialog.png")
    assert_accessible(page, "the reminder dialog", within="#reminder-dialog")
    dialog.get_by_role("button", name="Set reminder").click()
    expect(dialog).to_be_hidden()

    reminder = off_loop(lambda: Reminder.objects.get(user=student))
    assert reminder.message_id == message.pk
    assert reminder.remind_at == near.replace(second=0, microsecond=0)
    assert reminder.note == "Ask about the format"

    expect(page.locator("#bell-count")).to_have_attribute("data-count", "0")
    fired = off_loop(
        lambda: services.fire_due_reminders(now=reminder.remind_at + dt.timedelta(seconds=1))
    )
    assert fired == 1
    # Live, through the socket: no reload.
    expect(page.locator("#bell-count")).to_have_attribute("data-count", "1")
    page.locator("#bell-button").click()
    entry = page.locator("#bell-list li[data-kind='reminder']")
    # A direct conversation is named after the other person.
    expect(entry).to_contain_text(
        f"Reminder about a message in your conversation with {mentor.display_name}"
    )
    expect(entry).to_contain_text("Submit the lab report by Thursday")
    screenshot(page, "reminder-fired-bell.png")

    page.goto(f"{server.http_url}/reminders/")
    listed = page.locator("li.reminder-item")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("Fired")
    expect(listed).to_contain_text("Ask about the format")
    expect(page.locator("#calendar-url")).to_have_value(
        re.compile(r"/calendar/[A-Za-z0-9_-]{43}\.ics$")
    )
    assert_accessible(page, "the Reminders page")
    screenshot(page, "reminders-page.png")
    listed.get_by_role("button", name="Snooze").click()
    expect(listed).to_contain_text("Pending")
    assert off_loop(lambda: Reminder.objects.get(pk=reminder.pk).state) == ReminderState.PENDING
    context.close()


def test_a_custom_time_past_the_limit_or_gone_is_refused_in_words(
    pair, browser, server, console, settings
):
    mentor, student, conversation = pair
    message = send_as(mentor, conversation, "Project plan due in spring")
    _, page = open_as(browser, server, console, student, f"/c/{conversation.pk}/", time_zone="UTC")
    dialog = open_reminder_dialog(page, message)
    custom = dialog.get_by_label("Date and time")
    days = settings.REMINDERS["MAX_DAYS_AHEAD"]
    too_far = timezone.now().astimezone(dt.UTC) + dt.timedelta(days=days + 2)
    assert custom.get_attribute("max") < too_far.strftime("%Y-%m-%dT%H:%M")
    error = dialog.get_by_role("alert")

    custom.fill(too_far.strftime("%Y-%m-%dT%H:%M"))
    dialog.get_by_role("button", name="Set reminder").click()
    expect(error).to_have_text(f"Choose a time at most {days} days ahead.")
    gone = timezone.now().astimezone(dt.UTC) - dt.timedelta(hours=2)
    custom.fill(gone.strftime("%Y-%m-%dT%H:%M"))
    dialog.get_by_role("button", name="Set reminder").click()
    expect(error).to_have_text("Choose a time to come.")
    assert off_loop(Reminder.objects.count) == 0


def test_a_preset_is_on_the_browsers_clock_as_the_custom_time_is(pair, browser, server, console):
    """Sam's profile says UTC, his browser is in Tokyo: "Tomorrow at 9:00"
    is 9:00 in Tokyo, the clock his custom time is chosen on."""
    from zoneinfo import ZoneInfo

    mentor, student, conversation = pair
    message = send_as(mentor, conversation, "Bring your notes tomorrow")
    _, page = open_as(
        browser, server, console, student, f"/c/{conversation.pk}/", time_zone="Asia/Tokyo"
    )
    dialog = open_reminder_dialog(page, message)
    dialog.get_by_label("Tomorrow at 9:00").check()
    # Read before and after: a run across Tokyo's midnight.
    tokyo_days = {timezone.now().astimezone(ZoneInfo("Asia/Tokyo")).date()}
    dialog.get_by_role("button", name="Set reminder").click()
    expect(dialog).to_be_hidden()
    tokyo_days.add(timezone.now().astimezone(ZoneInfo("Asia/Tokyo")).date())
    reminder = off_loop(lambda: Reminder.objects.get(user=student))
    fires = reminder.remind_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert (fires.hour, fires.minute) == (9, 0)
    assert fires.date() in {day + dt.timedelta(days=1) for day in tokyo_days}


def test_an_english_title_lines_up_with_an_arabic_page(pair, browser, server, console):
    mentor, student, conversation = pair
    message = send_as(mentor, conversation, "Lab report due Thursday")
    off_loop(
        lambda: services.create_reminder(
            user=student, message_id=message.pk, preset="in_1_hour", note="Check the format"
        )
    )
    _, page = open_as(browser, server, console, student, "/reminders/", language="ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    note = page.locator("li.reminder-item .reminder-note")
    expect(note).to_have_text("Check the format")
    # Its words start at the page's side, the right, in their own order.
    words = note.locator("bdi").bounding_box()
    item = page.locator("li.reminder-item").bounding_box()
    assert words["x"] + words["width"] > item["x"] + item["width"] - 24, (words, item)
