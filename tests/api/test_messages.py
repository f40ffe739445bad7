import json
import uuid

import pytest
from django.conf import settings
from django.test import override_settings

from messaging import audit, services
from messaging.models import AuditAction, Message
from messaging.realtime import clock

pytestmark = [pytest.mark.services, pytest.mark.django_db]

UNKNOWN = "00000000-0000-4000-8000-0000000000ff"


def code(response):
    return response.json()["error"]["code"]


def messages_url(conversation):
    return f"/api/conversations/{conversation.pk}/messages/"


# --- history ------------------------------------------------------------------


@pytest.fixture
def thirteen(group, mentor, send):
    for n in range(13):
        send(mentor, group, f"m{n + 1}")
    return group


def test_latest_page_when_no_cursor(api, thirteen, student):
    body = api(student).get(messages_url(thirteen) + "?limit=5").json()
    assert [m["seq"] for m in body["messages"]] == [9, 10, 11, 12, 13]
    assert body["has_more"] is True
    assert body["next_before_seq"] == 9
    assert body["next_after_seq"] == 13
    assert body["messages"][0]["content"] == "m9"


def test_paging_forward_covers_every_seq_once(api, thirteen, student):
    client = api(student)
    seen, after, pages = [], 0, 0
    while True:
        body = client.get(messages_url(thirteen), {"after_seq": after, "limit": 4}).json()
        seen += [m["seq"] for m in body["messages"]]
        pages += 1
        if not body["has_more"]:
            break
        after = body["next_after_seq"]
    assert seen == list(range(1, 14))
    assert pages == 4


def test_paging_back_covers_every_seq_once(api, thirteen, student):
    client = api(student)
    body = client.get(messages_url(thirteen), {"limit": 4}).json()
    pages = [[m["seq"] for m in body["messages"]]]
    while body["has_more"]:
        body = client.get(
            messages_url(thirteen), {"before_seq": body["next_before_seq"], "limit": 4}
        ).json()
        pages.append([m["seq"] for m in body["messages"]])
    assert pages == [[10, 11, 12, 13], [6, 7, 8, 9], [2, 3, 4, 5], [1]]


def test_page_after_the_end_is_empty(api, thirteen, student):
    body = api(student).get(messages_url(thirteen), {"after_seq": 13}).json()
    assert body == {
        "messages": [],
        "has_more": False,
        "next_after_seq": 13,
        "next_before_seq": None,
    }


def test_history_keeps_deleted_messages_in_place(api, group, mentor, send):
    message = send(mentor, group, "oops")
    services.delete_message(actor=mentor, message_id=message.pk)
    body = api(mentor).get(messages_url(group)).json()
    assert body["messages"][0]["seq"] == 1
    assert body["messages"][0]["content"] == ""
    assert body["messages"][0]["deleted_at"] is not None


def test_history_for_non_member_is_404_and_audited(api, thirteen, outsider, denials):
    response = api(outsider).get(messages_url(thirteen), {"after_seq": 0})
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such conversation."}}
    assert "messages" not in response.json()
    assert denials(outsider, conversation_id=thirteen.pk)[0].details["attempted"] == "history"


def test_repeated_refusals_are_one_audit_row_with_a_count(api, thirteen, outsider, denials):
    """Each refusal answers 404 (as for a missing conversation), but the log
    grows by one row per window (``AUDIT_DENIAL_WINDOW_SECONDS``), not one
    per request."""
    client = api(outsider)
    window = settings.PARLEY["AUDIT_DENIAL_WINDOW_SECONDS"]
    with clock.replaced(clock.FakeClock()) as fake:
        for _ in range(200):
            response = client.get(messages_url(thirteen))
            assert response.status_code == 404 and code(response) == "not_found"
        [row] = denials(outsider)
        assert row.conversation_id == thirteen.pk and row.details["attempted"] == "history"
        assert row.details["window_seconds"] == window
        assert audit.repeats(row) == 200
        # Another refusal (sending, not reading) is a row of its own...
        response = client.post(
            messages_url(thirteen),
            {"client_id": str(uuid.uuid4()), "content": "hi"},
            format="json",
        )
        assert response.status_code == 404
        assert len(denials(outsider)) == 2
        # ...and so is the next window's first.
        fake.advance(window)
        assert client.get(messages_url(thirteen)).status_code == 404
    rows = denials(outsider, details__attempted="history")
    assert sorted(audit.repeats(r) for r in rows) == [1, 200]


def test_history_unknown_conversation_is_404(api, mentor):
    response = api(mentor).get(f"/api/conversations/{UNKNOWN}/messages/")
    assert response.status_code == 404
    assert code(response) == "not_found"


@pytest.mark.parametrize(
    "query",
    [
        {"after_seq": 1, "before_seq": 5},
        {"after_seq": -1},
        {"after_seq": "x"},
        {"limit": 0},
        {"limit": "many"},
    ],
)
def test_history_bad_query_is_invalid(api, thirteen, student, query):
    response = api(student).get(messages_url(thirteen), query)
    assert response.status_code == 400
    assert code(response) == "invalid"


# --- send ---------------------------------------------------------------------


def test_send_creates_one_message(api, group, student):
    client_id = str(uuid.uuid4())
    response = api(student).post(
        messages_url(group), {"client_id": client_id, "content": "Hello!"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["seq"] == 1
    assert body["client_id"] == client_id
    assert body["sender"]["id"] == str(student.pk)
    assert body["content"] == "Hello!"
    assert Message.objects.get().pk == uuid.UUID(body["id"])


def test_send_is_idempotent_by_client_id(api, group, student):
    client = api(student)
    payload = {"client_id": str(uuid.uuid4()), "content": "once"}
    first = client.post(messages_url(group), payload, format="json")
    second = client.post(messages_url(group), payload, format="json")
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["seq"] == first.json()["seq"]
    assert Message.objects.filter(content="once").count() == 1
    assert Message.objects.count() == 1


def test_send_same_client_id_other_content_is_409(api, group, student):
    client = api(student)
    client_id = str(uuid.uuid4())
    client.post(messages_url(group), {"client_id": client_id, "content": "a"}, format="json")
    response = client.post(
        messages_url(group), {"client_id": client_id, "content": "b"}, format="json"
    )
    assert response.status_code == 409
    assert code(response) == "client_id_conflict"
    assert list(Message.objects.values_list("content", flat=True)) == ["a"]


def test_send_over_long_content_is_too_long(api, group, student):
    too_long = "x" * (settings.PARLEY["MAX_CONTENT_CHARS"] + 1)
    response = api(student).post(
        messages_url(group), {"client_id": str(uuid.uuid4()), "content": too_long}, format="json"
    )
    assert response.status_code == 400
    assert code(response) == "too_long"
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"content": "no client id"},
        {"client_id": "not-a-uuid", "content": "x"},
        {"client_id": str(uuid.uuid4())},
        {"client_id": str(uuid.uuid4()), "content": "   "},
        {"client_id": str(uuid.uuid4()), "content": ["list"]},
        {"client_id": str(uuid.uuid4()), "content": 5},
        {"client_id": str(uuid.uuid4()), "content": "nul\x00byte"},
    ],
)
def test_send_bad_input_is_invalid(api, group, student, payload):
    response = api(student).post(messages_url(group), payload, format="json")
    assert response.status_code == 400
    assert code(response) == "invalid"
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("half \ud800 a pair", "U+D800"),
        ("nul \x00", "U+0000"),
        ("bell \x07", "U+0007"),
        ("noncharacter \uffff", "U+FFFF"),
    ],
)
def test_send_refuses_characters_the_text_rule_refuses(api, group, student, content, named):
    response = api(student).post(
        messages_url(group),
        json.dumps({"client_id": str(uuid.uuid4()), "content": content}),
        content_type="application/json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "content" in error["fields"] and named in error["message"]
    assert not Message.objects.filter(conversation=group).exists()


def test_send_to_archived_is_409(api, group, mentor, student):
    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)
    response = api(student).post(
        messages_url(group), {"client_id": str(uuid.uuid4()), "content": "late"}, format="json"
    )
    assert response.status_code == 409
    assert code(response) == "archived"
    assert not Message.objects.exists()


def test_send_by_non_member_is_404_and_audited(api, group, outsider, denials):
    response = api(outsider).post(
        messages_url(group), {"client_id": str(uuid.uuid4()), "content": "hi"}, format="json"
    )
    assert response.status_code == 404
    assert code(response) == "not_found"
    assert not Message.objects.exists()
    row = denials(outsider, conversation_id=group.pk)[0]
    assert row.details["attempted"] == AuditAction.MESSAGE_SEND


def test_send_to_unknown_conversation_is_404(api, student):
    response = api(student).post(
        f"/api/conversations/{UNKNOWN}/messages/",
        {"client_id": str(uuid.uuid4()), "content": "hi"},
        format="json",
    )
    assert response.status_code == 404


def test_send_rate_is_limited_with_retry_after(api, group, student):
    limits = {**settings.PARLEY, "SEND_BURST": 2, "SEND_RATE_PER_SECOND": 0.01}
    client = api(student)
    with override_settings(PARLEY=limits):
        codes = [
            client.post(
                messages_url(group),
                {"client_id": str(uuid.uuid4()), "content": f"n{n}"},
                format="json",
            )
            for n in range(3)
        ]
    assert [r.status_code for r in codes] == [201, 201, 429]
    assert code(codes[2]) == "rate_limited"
    assert int(codes[2]["Retry-After"]) >= 1
    assert Message.objects.count() == 2


# --- edit and delete ----------------------------------------------------------


def test_edit_own_message(api, group, student, send):
    message = send(student, group, "befor")
    response = api(student).patch(
        f"/api/messages/{message.pk}/", {"content": "before"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["content"] == "before"
    assert response.json()["edited_at"] is not None
    message.refresh_from_db()
    assert message.content == "before"


def test_edit_someone_elses_message_is_403_and_audited(api, group, mentor, student, send, denials):
    message = send(mentor, group, "mine")
    response = api(student).patch(
        f"/api/messages/{message.pk}/", {"content": "yours"}, format="json"
    )
    assert response.status_code == 403
    assert denials(student)
    message.refresh_from_db()
    assert message.content == "mine"


def test_edit_by_non_member_is_404_and_audited(api, group, mentor, outsider, send, denials):
    message = send(mentor, group, "mine")
    response = api(outsider).patch(f"/api/messages/{message.pk}/", {"content": "x"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such message."}}
    assert denials(outsider)


def test_edit_too_long_and_invalid(api, group, student, send):
    message = send(student, group, "short")
    client = api(student)
    too_long = "x" * (settings.PARLEY["MAX_CONTENT_CHARS"] + 1)
    response = client.patch(f"/api/messages/{message.pk}/", {"content": too_long}, format="json")
    assert response.status_code == 400
    assert code(response) == "too_long"
    missing = client.patch(f"/api/messages/{message.pk}/", {}, format="json")
    assert missing.status_code == 400
    assert code(missing) == "invalid"
    message.refresh_from_db()
    assert message.content == "short"


def test_edit_in_archived_is_409(api, group, mentor, student, send):
    message = send(student, group, "short")
    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)
    response = api(student).patch(
        f"/api/messages/{message.pk}/", {"content": "long"}, format="json"
    )
    assert response.status_code == 409
    assert code(response) == "archived"


def test_edit_and_delete_unknown_message_is_404(api, student):
    client = api(student)
    assert (
        client.patch(f"/api/messages/{UNKNOWN}/", {"content": "x"}, format="json").status_code
        == 404
    )
    response = client.delete(f"/api/messages/{UNKNOWN}/")
    assert response.status_code == 404
    assert code(response) == "not_found"


def test_delete_own_message_keeps_its_seq(api, group, student, send):
    message = send(student, group, "regret")
    response = api(student).delete(f"/api/messages/{message.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["seq"] == message.seq
    assert body["content"] == ""
    assert body["deleted_at"] is not None
    message.refresh_from_db()
    assert message.is_deleted
    again = api(student).delete(f"/api/messages/{message.pk}/")
    assert again.status_code == 404


def test_delete_someone_elses_message_is_403_and_audited(
    api, group, mentor, student, send, denials
):
    message = send(mentor, group, "keep")
    response = api(student).delete(f"/api/messages/{message.pk}/")
    assert response.status_code == 403
    assert denials(student)[0].details["attempted"] == AuditAction.MESSAGE_DELETE
    message.refresh_from_db()
    assert not message.is_deleted


def test_an_admin_deletes_someone_elses_message_only_through_the_queue(
    api, group, mentor, student, admin_user, send
):
    # The ordinary delete is the author's own; a moderator's goes through
    # the moderation queue, with a note (moderation.services.actions).
    message = send(student, group, "moderate me")
    # Not a member: the message is not there for them.
    response = api(admin_user).delete(f"/api/messages/{message.pk}/")
    assert response.status_code == 404
    assert code(response) == "not_found"
    # A member: told it is not theirs to delete.
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[admin_user])
    response = api(admin_user).delete(f"/api/messages/{message.pk}/")
    assert response.status_code == 403
    assert code(response) == "forbidden"
    message.refresh_from_db()
    assert not message.is_deleted


# --- read ---------------------------------------------------------------------


def test_mark_read(api, thirteen, student):
    client = api(student)
    url = f"/api/conversations/{thirteen.pk}/read/"
    response = client.post(url, {"seq": 10}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "conversation_id": str(thirteen.pk),
        "last_read_seq": 10,
        "last_delivered_seq": 10,
        "unread_count": 3,
    }
    # never backwards; capped at the latest seq
    assert client.post(url, {"seq": 2}, format="json").json()["last_read_seq"] == 10
    assert client.post(url, {"seq": 99}, format="json").json()["last_read_seq"] == 13
    detail = client.get(f"/api/conversations/{thirteen.pk}/").json()
    assert detail["unread_count"] == 0


def test_read_marks_spend_the_receipt_budget(api, thirteen, student, settings):
    """Each mark is a locked write (and perhaps an audit row and an event to
    every member): the API is held to the socket's receipt budget."""
    settings.PARLEY = {
        **settings.PARLEY,
        "RECEIPT_FRAME_BURST": 3,
        "RECEIPT_FRAMES_PER_SECOND": 0.01,
    }
    client = api(student)
    url = f"/api/conversations/{thirteen.pk}/read/"
    answers = [client.post(url, {"seq": seq}, format="json") for seq in (1, 2, 3, 4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert code(answers[3]) == "rate_limited"
    assert client.get(f"/api/conversations/{thirteen.pk}/").json()["unread_count"] == 10


def test_mark_read_by_non_member_is_404_and_audited(api, thirteen, outsider, denials):
    response = api(outsider).post(
        f"/api/conversations/{thirteen.pk}/read/", {"seq": 3}, format="json"
    )
    assert response.status_code == 404
    assert denials(outsider, conversation_id=thirteen.pk)[0].details["attempted"] == (
        AuditAction.READ_MARK
    )


@pytest.mark.parametrize("payload", [{}, {"seq": -1}, {"seq": "ten"}, {"seq": True}])
def test_mark_read_bad_input_is_invalid(api, thirteen, student, payload):
    response = api(student).post(f"/api/conversations/{thirteen.pk}/read/", payload, format="json")
    assert response.status_code == 400
    assert code(response) == "invalid"


def test_mark_read_unknown_conversation_is_404(api, student):
    response = api(student).post(f"/api/conversations/{UNKNOWN}/read/", {"seq": 1}, format="json")
    assert response.status_code == 404
