"""A member's own archive of a conversation: out of their inbox into the
Archived view, back on a newer message unless muted, and nobody else sees a
change."""

import datetime as dt

import pytest
from django.utils import timezone

from messaging import selectors, services
from messaging.errors import NotFound
from notifications import services as notification_services
from notifications.models import ConversationMute

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def inbox_ids(user, *, archived=False):
    return {m.conversation_id for m in selectors.inbox(user, archived=archived)}


def put_away(user, conversation, archived=True):
    return services.set_archived_for_me(
        user=user, conversation_id=conversation.pk, archived=archived
    )


def test_archiving_moves_it_to_the_archived_view_for_that_member_only(group, student, mentor):
    put_away(student, group)

    assert group.pk not in inbox_ids(student)
    assert group.pk in inbox_ids(student, archived=True)
    # The mentor's inbox is untouched; the conversation itself is not archived.
    assert group.pk in inbox_ids(mentor)
    assert group.pk not in inbox_ids(mentor, archived=True)
    group.refresh_from_db()
    assert group.archived_at is None


def test_a_newer_message_brings_it_back(group, student, mentor, send):
    send(mentor, group, "before")
    put_away(student, group)
    assert group.pk not in inbox_ids(student)

    send(mentor, group, "after")

    assert group.pk in inbox_ids(student)
    assert group.pk not in inbox_ids(student, archived=True)


def test_a_muted_conversation_stays_archived_whatever_arrives(group, student, mentor, send):
    notification_services.mute_conversation(user=student, conversation_id=group.pk, until=None)
    put_away(student, group)

    send(mentor, group, "still quiet")

    assert group.pk not in inbox_ids(student)
    assert group.pk in inbox_ids(student, archived=True)

    # Unmuted, the message it missed brings it back.
    notification_services.unmute_conversation(user=student, conversation_id=group.pk)
    assert group.pk in inbox_ids(student)


def test_a_mute_that_ended_no_longer_keeps_it_away(group, student, mentor, send):
    notification_services.mute_conversation(
        user=student, conversation_id=group.pk, until=timezone.now() + dt.timedelta(hours=1)
    )
    put_away(student, group)
    send(mentor, group, "while muted")
    assert group.pk not in inbox_ids(student)

    ConversationMute.objects.filter(user=student).update(
        until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert group.pk in inbox_ids(student)


def test_bringing_it_back_and_is_put_away_agree_with_the_inbox(group, student, mentor, send):
    membership = put_away(student, group)
    assert selectors.is_put_away(membership)

    membership = put_away(student, group, archived=False)
    assert membership.archived_at is None
    assert not selectors.is_put_away(membership)
    assert group.pk in inbox_ids(student)

    membership = put_away(student, group)
    send(mentor, group, "news")
    membership.refresh_from_db()
    assert not selectors.is_put_away(membership)  # back by the newer message


def test_only_active_members_may(group, student, outsider, mentor):
    with pytest.raises(NotFound):
        put_away(outsider, group)
    services.remove_participant(actor=student, conversation_id=group.pk, user=student)
    with pytest.raises(NotFound):
        put_away(student, group)


def test_an_archived_conversation_stays_in_the_archived_view(group, student, mentor):
    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)
    put_away(student, group)
    put_away(student, group, archived=False)
    # The conversation's own archive still holds it there.
    assert group.pk in inbox_ids(student, archived=True)
    assert group.pk not in inbox_ids(student)


# --- REST ---------------------------------------------------------------------------


def test_api_put_and_delete(api, group, student, mentor):
    client = api(student)
    url = f"/api/conversations/{group.pk}/personal-archive/"

    response = client.put(url)
    assert response.status_code == 200
    body = response.json()
    assert body["conversation_id"] == str(group.pk)
    stamped = dt.datetime.fromisoformat(body["archived_for_me_at"])

    listed = client.get("/api/conversations/").json()["conversations"]
    assert str(group.pk) not in {c["id"] for c in listed}
    archived = client.get("/api/conversations/?archived=true").json()["conversations"]
    entry = next(c for c in archived if c["id"] == str(group.pk))
    assert dt.datetime.fromisoformat(entry["archived_for_me_at"]) == stamped
    detail = client.get(f"/api/conversations/{group.pk}/").json()
    assert detail["archived_for_me_at"] == entry["archived_for_me_at"]
    # The mentor sees nothing of it.
    theirs = api(mentor).get(f"/api/conversations/{group.pk}/").json()
    assert theirs["archived_for_me_at"] is None

    assert client.delete(url).status_code == 204
    assert client.delete(url).status_code == 204  # harmless again
    listed = client.get("/api/conversations/").json()["conversations"]
    assert next(c for c in listed if c["id"] == str(group.pk))["archived_for_me_at"] is None


def test_api_refuses_non_members_as_not_found(api, group, outsider):
    url = f"/api/conversations/{group.pk}/personal-archive/"
    for response in (api(outsider).put(url), api(outsider).delete(url)):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert api().put(url).status_code in (401, 403)


# --- Pages --------------------------------------------------------------------------


def test_the_conversation_page_archives_for_me_and_brings_back(client, group, student):
    client.force_login(student)
    page = client.get(f"/c/{group.pk}/")
    assert b"Archive for me" in page.content

    response = client.post(f"/c/{group.pk}/put-away/", {"archived": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert group.pk not in inbox_ids(student)
    page = client.get(f"/c/{group.pk}/")
    assert b"Back to inbox" in page.content
    archived_view = client.get("/?filter=archived")
    assert str(group.pk).encode() in archived_view.content

    response = client.post(f"/c/{group.pk}/put-away/", {"archived": "0"})
    assert response.status_code == 302
    assert group.pk in inbox_ids(student)
