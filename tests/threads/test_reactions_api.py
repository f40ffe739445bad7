"""Reactions over the REST API: PUT and DELETE
/api/messages/{id}/reactions/{emoji}/ with the emoji percent-encoded,
answered with the message's reactions; refusals with their codes; the same
token bucket as sends."""

# Fixtures imported from tests.threads.extras are parameters of the tests.
# ruff: noqa: F811

import uuid
from urllib.parse import quote

import pytest

from accounts.models import Role
from messaging import services
from messaging.moderation.services import actions
from messaging.threads.models import Reaction
from tests.threads.extras import group, moderator, say  # noqa: F401

pytestmark = pytest.mark.django_db


def url(message, emoji="👍"):
    return f"/api/messages/{message.pk}/reactions/{quote(emoji)}/"


def test_add_and_remove(client, group, assigned):
    mentor, student = assigned
    message = say(mentor, group)
    client.force_login(student)
    added = client.put(url(message))
    assert added.status_code == 200
    (reaction,) = added.json()["reactions"]
    assert reaction["emoji"] == "👍" and reaction["count"] == 1
    assert reaction["users"][0]["id"] == str(student.pk)
    assert client.put(url(message)).json() == added.json()  # again: unchanged
    client.force_login(mentor)
    both = client.put(url(message)).json()["reactions"]
    assert both[0]["count"] == 2
    skin = client.put(url(message, "👍🏿")).json()["reactions"]
    assert [r["emoji"] for r in skin] == ["👍", "👍🏿"]
    removed = client.delete(url(message))
    assert removed.status_code == 200
    assert [(r["emoji"], r["count"]) for r in removed.json()["reactions"]] == [
        ("👍", 1),
        ("👍🏿", 1),
    ]
    assert client.delete(url(message, "🎉")).status_code == 200  # was not there: fine
    assert Reaction.objects.count() == 2


def test_refusals(client, group, assigned, make_user, moderator):
    mentor, student = assigned
    message = say(mentor, group)
    client.force_login(student)
    bad = client.put(f"/api/messages/{message.pk}/reactions/nope/")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    assert client.put(url(message, "👍👍")).status_code == 400
    missing = client.put(f"/api/messages/{uuid.uuid4()}/reactions/{quote('👍')}/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    hidden = say(mentor, group)
    actions.hide_message(moderator=moderator, message_id=hidden.pk, note="x")
    refused = client.put(url(hidden))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "hidden"
    actions.mute_user(
        moderator=moderator, user_id=student.pk, conversation_id=group.pk, minutes=5, note="x"
    )
    muted = client.put(url(message))
    assert muted.status_code == 403 and muted.json()["error"]["code"] == "muted"
    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)
    client.force_login(mentor)
    archived = client.put(url(message))
    assert archived.status_code == 409 and archived.json()["error"]["code"] == "archived"
    client.force_login(make_user(Role.STUDENT))
    outsider = client.put(url(message))
    # As for a message that does not exist: the outsider learns nothing.
    assert outsider.status_code == 404 and outsider.json()["error"] == missing.json()["error"]
    client.logout()
    assert client.put(url(message)).status_code == 401
    assert not Reaction.objects.exists()


def test_too_many_reactions(client, group, assigned, settings):
    mentor, student = assigned
    settings.PARLEY = {**settings.PARLEY, "MAX_REACTIONS_PER_PERSON": 1}
    message = say(mentor, group)
    client.force_login(student)
    client.put(url(message))
    refused = client.put(url(message, "🎉"))
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "too_many_reactions"


def test_the_same_bucket_as_sends(client, direct, assigned, settings):
    mentor, student = assigned
    message = say(mentor, direct)
    settings.PARLEY = {**settings.PARLEY, "SEND_BURST": 2, "SEND_RATE_PER_SECOND": 0.001}
    client.force_login(student)
    assert client.put(url(message)).status_code == 200
    sent = client.post(
        f"/api/conversations/{direct.pk}/messages/",
        {"content": "hi", "client_id": str(uuid.uuid4())},
        content_type="application/json",
    )
    assert sent.status_code == 201
    limited = client.put(url(message, "🎉"))
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert limited.has_header("Retry-After")
    assert client.put(f"/api/messages/{message.pk}/pin/").status_code == 429


def test_the_schema_shapes_are_the_payloads(group, assigned):
    """The API's declared shapes have the keys the payload builders emit."""
    from messaging import events
    from messaging.api import serializers as s
    from messaging.threads import payloads
    from messaging.threads.api import reactions as api
    from messaging.threads.services import pins, reactions

    mentor, student = assigned
    message = say(mentor, group)
    reactions.add_reaction(user=student, message_id=message.pk, emoji="👍")
    pin = pins.pin_message(user=mentor, message_id=message.pk)
    (reaction,) = payloads.reactions_payload(Reaction.objects.all(), events.user_payload)
    assert set(s.ReactionOut().fields) == set(reaction)
    assert set(s.PinnedOut().fields) == set(
        payloads.pin_payload(pin, events.user_payload, api._iso)
    )
