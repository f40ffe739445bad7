"""Saved messages: one's own bookmarks, idempotent, not audited; the list
over the API (newest first, paged, by conversation, only conversations one
is still in, deleted and hidden ones left out)."""

# Fixtures imported from tests.threads.extras are parameters of the tests.
# ruff: noqa: F811

import uuid
from urllib.parse import quote

import pytest

from accounts.models import Role
from messaging import services
from messaging.errors import AccessDenied, MessageHidden, NotFound
from messaging.models import AuditLog
from messaging.moderation.services import actions
from messaging.threads.models import SavedMessage
from messaging.threads.services import saved
from tests.threads.extras import group, moderator, notice_in, say  # noqa: F401

pytestmark = pytest.mark.django_db


def test_save_and_unsave_are_idempotent_private_and_unaudited(
    direct, assigned, django_capture_on_commit_callbacks
):
    mentor, student = assigned
    message = say(mentor, direct)
    audit_rows = AuditLog.objects.count()
    with django_capture_on_commit_callbacks(execute=False) as published:
        first = saved.save_message(user=student, message_id=message.pk)
    assert len(published) == 1
    with django_capture_on_commit_callbacks(execute=False) as again:
        assert saved.save_message(user=student, message_id=message.pk) == first
    assert again == []
    assert saved.unsave_message(user=student, message_id=message.pk) is True
    assert saved.unsave_message(user=student, message_id=message.pk) is False
    assert saved.unsave_message(user=student, message_id=uuid.uuid4()) is False
    assert AuditLog.objects.count() == audit_rows


def test_only_members_save_and_not_what_is_gone(group, assigned, make_user, moderator):
    mentor, student = assigned
    message = say(mentor, group)
    with pytest.raises(AccessDenied):
        saved.save_message(user=make_user(Role.STUDENT), message_id=message.pk)
    hidden = say(mentor, group)
    actions.hide_message(moderator=moderator, message_id=hidden.pk, note="x")
    with pytest.raises(MessageHidden):
        saved.save_message(user=student, message_id=hidden.pk)
    services.delete_message(actor=mentor, message_id=message.pk)
    for message_id in (message.pk, notice_in(group).pk, uuid.uuid4()):
        with pytest.raises(NotFound):
            saved.save_message(user=student, message_id=message_id)
    assert not SavedMessage.objects.exists()


def test_the_saved_list_over_the_api(client, group, direct, assigned, moderator):
    mentor, student = assigned
    in_group = [say(mentor, group, f"g{n}") for n in range(3)]
    in_direct = say(mentor, direct, "d")
    client.force_login(student)
    for message in [*in_group, in_direct]:
        response = client.put(f"/api/messages/{message.pk}/saved/")
        assert response.status_code == 200 and response.json()["saved_at"]
    everything = client.get("/api/saved/").json()
    assert [s["message"]["id"] for s in everything["saved"]] == [
        str(m.pk) for m in [in_direct, *reversed(in_group)]
    ]
    assert everything["has_more"] is False
    assert everything["saved"][0]["message"]["content"] == "d"

    # Paged by the last saved_at one has.
    first = client.get("/api/saved/", {"limit": 2}).json()
    assert len(first["saved"]) == 2 and first["has_more"] is True
    rest = client.get("/api/saved/?limit=2&before=" + quote(first["saved"][-1]["saved_at"])).json()
    assert [s["message"]["id"] for s in rest["saved"]] == [str(in_group[1].pk), str(in_group[0].pk)]
    assert rest["has_more"] is False

    # One conversation's.
    only = client.get("/api/saved/", {"conversation_id": str(direct.pk)}).json()
    assert [s["message"]["id"] for s in only["saved"]] == [str(in_direct.pk)]

    # Deleted and hidden messages leave the list...
    services.delete_message(actor=mentor, message_id=in_group[0].pk)
    actions.hide_message(moderator=moderator, message_id=in_group[1].pk, note="x")
    left = client.get("/api/saved/").json()
    assert [s["message"]["id"] for s in left["saved"]] == [str(in_direct.pk), str(in_group[2].pk)]
    # ...and so does a conversation one left.
    services.remove_participant(actor=student, conversation_id=group.pk, user=student)
    left = client.get("/api/saved/").json()
    assert [s["message"]["id"] for s in left["saved"]] == [str(in_direct.pk)]
    assert client.get("/api/saved/", {"conversation_id": str(group.pk)}).status_code == 404

    assert client.delete(f"/api/messages/{in_direct.pk}/saved/").status_code == 204
    assert client.delete(f"/api/messages/{in_direct.pk}/saved/").status_code == 204
    assert client.get("/api/saved/").json() == {"saved": [], "has_more": False}


def test_saved_api_refusals(client, group, assigned, make_user):
    mentor, _ = assigned
    message = say(mentor, group)
    assert client.get("/api/saved/").status_code == 401
    client.force_login(make_user(Role.STUDENT))
    assert client.put(f"/api/messages/{message.pk}/saved/").status_code == 404
    assert client.put(f"/api/messages/{uuid.uuid4()}/saved/").status_code == 404
    for bad in ({"limit": "0"}, {"before": "yesterday"}, {"conversation_id": "nope"}):
        response = client.get("/api/saved/", bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
