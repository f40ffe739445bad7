"""Notification settings and conversation mutes in real headless Chromium,
against a real daphne process: the settings page saves and shows the
preferences after a reload, and the conversation's mute menu mutes (with
and without JavaScript) and shows the state after a reload."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from accounts.models import User
from notifications import selectors
from notifications.models import NotificationPreference
from tests.browser.conftest import (
    ARTIFACTS,
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

SETTINGS = "/settings/notifications/"
# docs/screenshots/notification-settings.png and mute-menu.png are these
# (written to test-artifacts/ on every run).


def stored_preferences(user):
    def read():
        return (
            NotificationPreference.objects.get(user=user),
            User.objects.get(pk=user.pk).time_zone,
        )

    return off_loop(read)


def test_settings_page_saves_and_shows_the_choices_after_reload(pair, browser, server, console):
    _, student, _ = pair
    context, page = open_as(
        browser,
        server,
        console,
        student,
        SETTINGS,
        {"width": 1280, "height": 900},
        time_zone="Asia/Tokyo",
    )
    # Never chosen: the browser's zone is offered instead of UTC.
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    expect(page.locator("#time-zone-hint")).to_contain_text("from your browser")
    page.get_by_label("Group messages by push").check()
    page.get_by_label("Mentions by email").uncheck()
    page.get_by_label("Show message text on the lock screen").uncheck()
    page.get_by_label("Quiet from").fill("22:00")
    page.get_by_label("Quiet until").fill("07:30")
    page.get_by_label("Weekly", exact=True).check()
    page.get_by_label("Arrives at").select_option("18")
    page.get_by_label("On (weekly)").select_option(label="Friday")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash-success")).to_contain_text("Saved.")

    page.reload()
    expect(page.get_by_label("Group messages by push")).to_be_checked()
    expect(page.get_by_label("Mentions by email")).not_to_be_checked()
    expect(page.get_by_label("Mentions by push")).to_be_checked()
    expect(page.get_by_label("Show message text on the lock screen")).not_to_be_checked()
    expect(page.get_by_label("Quiet from")).to_have_value("22:00")
    expect(page.get_by_label("Quiet until")).to_have_value("07:30")
    expect(page.get_by_label("Weekly", exact=True)).to_be_checked()
    expect(page.get_by_label("Arrives at")).to_have_value("18")
    expect(page.get_by_label("On (weekly)")).to_have_value("4")
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    expect(page.locator("#time-zone-hint")).not_to_contain_text("from your browser")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "notification-settings.png"), full_page=True)

    preference, time_zone = stored_preferences(student)
    assert time_zone == "Asia/Tokyo"
    assert preference.kinds["group"]["push"] is True
    assert preference.kinds["mention"]["email"] is False
    assert (preference.quiet_hours_start, preference.quiet_hours_end) == (
        dt.time(22),
        dt.time(7, 30),
    )
    assert (preference.digest, preference.digest_hour, preference.digest_weekday) == (
        "weekly",
        18,
        4,
    )

    # Half the quiet hours is refused next to the field; nothing changes.
    page.get_by_label("Quiet until").fill("")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".form-error")).to_contain_text("start and an end")
    # Said at the top, where the page opens, with the focus there and a link
    # to the field: a refusal far below the fold went unseen.
    summary = page.locator("#settings-errors")
    expect(summary).to_contain_text("Your settings were not saved.")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("Quiet until")).to_be_focused()
    assert stored_preferences(student)[0].quiet_hours_end == dt.time(7, 30)
    context.close()


def test_muting_from_the_conversation_page_shows_after_reload(pair, browser, server, console):
    _, student, conversation = pair
    path = f"/c/{conversation.pk}/"
    context, page = open_as(browser, server, console, student, path)
    state = page.locator("#mute-state")
    expect(state).to_have_text("")
    page.get_by_text("Mute", exact=True).click()
    page.get_by_role("button", name="Mute for 8 hours").click()
    # No reload: the menu called the API and updated the header.
    expect(state).to_contain_text("Muted until ")
    expect(page.locator("#mute-toggle")).to_have_text("Muted")
    mute = off_loop(selectors.active_mute, user=student, conversation_id=conversation.pk)
    assert mute is not None and mute.until is not None

    page.reload()
    wait_synced(page)
    expect(state).to_contain_text("Muted until ")
    page.get_by_text("Muted", exact=True).click()
    screenshot(page, "mute-menu.png")
    page.get_by_role("button", name="Mute until I turn it back on").click()
    expect(state).to_have_text("Muted until you unmute")
    page.reload()
    expect(state).to_have_text("Muted until you unmute")

    page.get_by_text("Muted", exact=True).click()
    page.get_by_role("button", name="Unmute").click()
    expect(state).to_have_text("")
    page.reload()
    expect(state).to_have_text("")
    assert off_loop(selectors.mute_for, user=student, conversation_id=conversation.pk) is None
    context.close()


def test_muting_works_without_javascript(pair, browser, server, console):
    _, student, conversation = pair
    path = f"/c/{conversation.pk}/"
    context, page = open_as(
        browser,
        server,
        console,
        student,
        path,
        {"width": 1280, "height": 900},
        time_zone="UTC",
        javascript=False,
    )
    page.get_by_text("Mute", exact=True).click()
    page.get_by_role("button", name="Mute for 1 hour").click()
    page.wait_for_url(f"{server.http_url}{path}")
    expect(page.locator("#mute-state")).to_contain_text("Muted until ")
    expect(page.locator(".flash-success")).to_contain_text("Muted")
    assert off_loop(selectors.active_mute, user=student, conversation_id=conversation.pk)
    context.close()
