"""Scheduling from the composer, then editing and cancelling on the
Scheduled page, in real headless Chromium against a real daphne process;
the sweep then sends the scheduled one into the conversation."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from messaging.integrations.models import ScheduledMessage, ScheduledState
from messaging.integrations.scheduling import services
from tests.browser import conftest as browser_fixtures
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import off_loop, open_as

# The browser tests' fixtures, used here as they are.
browser = browser_fixtures.browser
console = browser_fixtures.console
server = browser_fixtures.server
pair = browser_fixtures.pair

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

ZONE = "America/New_York"
WIDE = {"width": 1500, "height": 900}  # the top bar shows its links


def test_schedule_from_the_composer_then_edit_and_cancel_on_the_scheduled_page(
    pair, browser, server, console
):
    mentor, _, conversation = pair

    def prepare():
        mentor.time_zone = ZONE
        mentor.save(update_fields=["time_zone"])
        return services.schedule_message(
            author=mentor,
            conversation_id=conversation.pk,
            content="To be cancelled",
            send_at=timezone.now() + timedelta(days=3),
            time_zone=ZONE,
        )

    # Playwright's loop runs in this thread: the ORM is used off it.
    other = off_loop(prepare)
    _, page = open_as(browser, server, console, mentor, f"/c/{conversation.pk}/", WIDE)

    page.get_by_label("Message Sam Student").fill("Good morning, Sam")
    # Read before and after the dialog opens: a run across New York's midnight.
    days = {timezone.now().astimezone(ZoneInfo(ZONE)).date()}
    page.get_by_role("button", name="Schedule", exact=True).first.click()
    dialog = page.locator("#schedule-dialog")
    expect(dialog).to_be_visible()
    days.add(timezone.now().astimezone(ZoneInfo(ZONE)).date())
    expect(dialog.get_by_label("Message")).to_have_value("Good morning, Sam")
    offered = dialog.get_by_label("Send at").input_value()
    tomorrow = datetime.fromisoformat(offered).date()
    assert offered.endswith("T09:00") and tomorrow in {day + timedelta(days=1) for day in days}
    assert_accessible(page, "the schedule dialog")
    dialog.get_by_label("Send at").focus()
    page.keyboard.press("Enter")  # submits the dialog's form
    expect(dialog).to_be_hidden()
    expect(page.get_by_label("Message Sam Student")).to_have_value("")
    # Said where it can be seen, under the composer, with the way to the list.
    status = page.locator("#composer-status")
    expect(status).to_be_visible()
    expect(status).to_contain_text("Scheduled for")
    expect(status.get_by_role("link", name="See your scheduled messages")).to_have_attribute(
        "href", "/scheduled/"
    )
    assert_accessible(page, "a message just scheduled")
    page.get_by_label("Message Sam Student").press_sequentially("a")
    expect(status).to_be_hidden()
    page.get_by_label("Message Sam Student").fill("")

    scheduled = off_loop(ScheduledMessage.objects.get, content="Good morning, Sam")
    assert scheduled.send_at == datetime.combine(tomorrow, time(9, 0), tzinfo=ZoneInfo(ZONE))
    assert scheduled.time_zone == ZONE

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Scheduled").click()
    page.wait_for_url(f"{server.http_url}/scheduled/")
    mine = page.locator(f"#scheduled-{scheduled.pk}")
    expect(mine).to_contain_text("Good morning, Sam")
    expect(mine).to_contain_text(f"({ZONE})")
    assert_accessible(page, "the Scheduled page")

    when = mine.locator("[data-scheduled-time]")
    shown_before = when.text_content()
    mine.get_by_role("button", name="Edit").click()
    editor = page.locator("#scheduled-edit-dialog")
    editor.get_by_label("Message").fill("Good morning, Sam! Edited")
    editor.get_by_role("button", name="Save").click()
    expect(editor).to_be_hidden()
    expect(mine.locator("[data-scheduled-content]")).to_have_text("Good morning, Sam! Edited")
    # The same time, written the same way before and after the edit.
    expect(when).to_have_text(shown_before)
    expect(page.locator("#scheduled-status")).to_have_text("Your changes were saved.")

    cancelled = page.locator(f"#scheduled-{other.pk}")
    cancelled.get_by_role("button", name="Cancel message").click()
    expect(cancelled.locator("[data-scheduled-state]")).to_have_text("Cancelled")
    expect(cancelled.get_by_role("button")).to_have_count(0)

    off_loop(scheduled.refresh_from_db)
    off_loop(other.refresh_from_db)
    assert scheduled.content == "Good morning, Sam! Edited"
    assert other.state == ScheduledState.CANCELLED

    # Its time comes: the sweep sends it, and it is in the conversation.
    assert off_loop(services.send_due, now=timezone.now() + timedelta(days=2)) == 1
    page.goto(f"{server.http_url}/c/{conversation.pk}/")
    expect(page.locator(".message").filter(has_text="Good morning, Sam! Edited")).to_have_count(1)


def test_someone_who_never_chose_a_zone_schedules_on_their_browsers_clock_within_the_limit(
    pair, browser, server, console, settings
):
    """A profile still at UTC: the dialog offers the browser's zone, as the
    notification settings do, and says so; a time past the limit is refused
    in words, with no field name, before anything is posted."""
    mentor, _, conversation = pair
    assert mentor.time_zone == "UTC"
    _, page = open_as(
        browser, server, console, mentor, f"/c/{conversation.pk}/", WIDE, time_zone="Asia/Tokyo"
    )
    page.get_by_label("Message Sam Student").fill("See you at the review")
    page.get_by_role("button", name="Schedule", exact=True).first.click()
    dialog = page.locator("#schedule-dialog")
    expect(dialog.locator("#schedule-zone")).to_contain_text(
        "In your browser's time zone, Asia/Tokyo."
    )
    send_at = dialog.get_by_label("Send at")
    days = settings.SCHEDULED_MESSAGES_MAX_DAYS
    too_far = timezone.now().astimezone(ZoneInfo("Asia/Tokyo")).date() + timedelta(days=days + 2)
    assert send_at.get_attribute("max") < f"{too_far.isoformat()}T00:00"
    send_at.fill(f"{too_far.isoformat()}T09:00")
    dialog.get_by_role("button", name="Schedule", exact=True).click()
    expect(dialog.locator("#schedule-error")).to_have_text(
        f"Choose a time at most {days} days ahead."
    )
    assert off_loop(ScheduledMessage.objects.count) == 0

    tomorrow = timezone.now().astimezone(ZoneInfo("Asia/Tokyo")).date() + timedelta(days=1)
    send_at.fill(f"{tomorrow.isoformat()}T09:00")
    dialog.get_by_role("button", name="Schedule", exact=True).click()
    expect(dialog).to_be_hidden()
    scheduled = off_loop(ScheduledMessage.objects.get, content="See you at the review")
    tokyo = ZoneInfo("Asia/Tokyo")
    assert scheduled.time_zone == "Asia/Tokyo"
    assert scheduled.send_at == datetime.combine(tomorrow, time(9, 0), tzinfo=tokyo)
