"""Fault case 4 in the browser (docs/reliability.md): PostgreSQL is
unreachable (at least ten seconds, and until the page's send was refused)
while a person writes. The server answers each
send with the retryable ``unavailable`` error (docs/protocol.md), nothing is
acknowledged that was not stored, the page keeps the messages in its outbox
as pending (not failed), and once the database is back it sends each one:
stored once, in the order written, shown once on both sides."""

import json
import time

from playwright.sync_api import expect

from messaging.models import Message
from tests.browser.conftest import off_loop, open_as, wait_synced
from tests.faults.database_proxy import unreachable_database_env
from tests.faults.proxy import BLACKHOLE, PASS

OUTAGE_SECONDS = 10


def conversation_path(conversation):
    return f"/c/{conversation.pk}/"


def write(page, text):
    box = page.get_by_label("Message Maria Mentor")
    box.fill(text)
    box.press("Enter")


def outbox_states(page) -> list[tuple[str, str]]:
    entries = json.loads(page.evaluate("JSON.stringify(window.parley.outbox.all())"))
    return [(e["content"], e["state"]) for e in entries]


def test_the_outbox_sends_each_message_once_after_the_database_is_back(
    pair, browser, console, asgi_server, pg_proxy
):
    mentor, student, conversation = pair
    server = asgi_server(extra_env=unreachable_database_env(pg_proxy))
    path = conversation_path(conversation)
    student_context, student_page = open_as(browser, server, console, student, path)
    _, mentor_page = open_as(browser, server, console, mentor, path)

    # The frames the student's page receives from here on (a reload gives
    # it a socket Playwright watches from its start).
    refusals: list[dict] = []

    def on_socket(ws):
        def on_frame(payload):
            frame = json.loads(payload)
            if frame.get("type") == "error":
                refusals.append(frame)

        ws.on("framereceived", on_frame)

    student_page.on("websocket", on_socket)
    student_page.reload()
    wait_synced(student_page)

    pg_proxy.set_mode(BLACKHOLE)
    cut_at = time.monotonic()
    write(student_page, "written during the outage, one")
    write(student_page, "written during the outage, two")

    # The send itself is refused as retryable (the frames written before it,
    # typing among them, are answered first, each after the database's
    # timeout), and the page keeps both messages pending, not given up.
    deadline = time.monotonic() + 120
    while not any(f.get("client_id") and f["code"] == "unavailable" for f in refusals):
        assert time.monotonic() < deadline, refusals
        student_page.wait_for_timeout(200)
    assert {f["code"] for f in refusals} == {"unavailable"}, refusals
    assert all(f["retry_after"] > 0 for f in refusals)
    student_page.wait_for_timeout(max(0.0, OUTAGE_SECONDS - (time.monotonic() - cut_at)) * 1000)
    assert outbox_states(student_page) == [
        ("written during the outage, one", "pending"),
        ("written during the outage, two", "pending"),
    ]
    # Nothing was acknowledged, and nothing stored.
    assert not off_loop(
        lambda: Message.objects.filter(content__startswith="written during").exists()
    )
    pg_proxy.set_mode(PASS)

    expect(student_page.locator("#outbox-list li.outbox")).to_have_count(0, timeout=60_000)
    expected = ["written during the outage, one", "written during the outage, two"]
    for page in (student_page, mentor_page):
        expect(page.locator("#message-list li.message .content")).to_have_text(
            expected, timeout=30_000
        )
    stored = off_loop(
        lambda: list(
            Message.objects.filter(conversation=conversation)
            .order_by("seq")
            .values_list("content", flat=True)
        )
    )
    assert stored == expected
    student_context.close()
