"""Reports of encrypted messages (docs/e2e.md, "Message franking"): the
reporter discloses text and key, the server checks the stored tag; the
moderators see verified text only, and hide or delete by metadata."""

import base64
import os
import uuid

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import Role
from messaging.models import Message, ModerationCase, Report
from messaging.moderation.services import actions
from tests.e2e.scheme import b64

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def report(api, user, message, body):
    return api(user).post(f"/api/messages/{message.pk}/report/", body, format="json")


@pytest.fixture
def e2e_msg_moderator(make_user):
    user = make_user(Role.MENTOR, name="Mo Moderator", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


def test_a_report_that_verifies_shows_the_moderators_the_text(
    client, api, e2e_msg_pair, e2e_msg_group, e2e_msg_send, e2e_msg_moderator
):
    mentor, student = e2e_msg_pair
    message, sealed = e2e_msg_send(mentor, e2e_msg_group, "Meet me alone after class.")
    answer = report(
        api,
        student,
        message,
        {
            "reason": "harassment",
            "details": "made me uneasy",
            "e2e": {"text": sealed.text, "franking_key": b64(sealed.franking_key)},
        },
    )
    assert answer.status_code == 201, answer.json()
    stored = Report.objects.get(pk=answer.json()["id"])
    assert stored.franking_verified is True
    assert stored.verified_text == "Meet me alone after class."
    case = ModerationCase.objects.get(message=message)
    assert case.reported_content == ""

    client.force_login(e2e_msg_moderator)
    page = client.get(reverse("admin:messaging_moderationcase_change", args=[case.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Verified by message franking" in html
    assert "Meet me alone after class." in html
    # The ciphertext is not what moderators read.
    assert sealed.e2e["ciphertext"] not in html


@pytest.mark.parametrize(
    "forge",
    [
        lambda sealed: {"text": "I will hurt you.", "franking_key": b64(sealed.franking_key)},
        lambda sealed: {"text": sealed.text, "franking_key": b64(os.urandom(32))},
        lambda sealed: {"text": sealed.text + " ", "franking_key": b64(sealed.franking_key)},
    ],
    ids=["other text", "other key", "one more space"],
)
def test_a_forged_report_is_refused(api, e2e_msg_pair, e2e_msg_group, e2e_msg_send, forge):
    mentor, student = e2e_msg_pair
    message, sealed = e2e_msg_send(mentor, e2e_msg_group, "See you on Monday.")
    answer = report(api, student, message, {"reason": "harassment", "e2e": forge(sealed)})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "franking_mismatch"
    assert not Report.objects.exists()
    assert not ModerationCase.objects.exists()


def test_a_tag_made_for_another_message_does_not_verify(
    api, e2e_msg_pair, e2e_msg_group, e2e_msg_send
):
    """The tag binds the conversation and client_id: a text and key that
    verified for one message do not for another with the same words."""
    mentor, student = e2e_msg_pair
    first, sealed = e2e_msg_send(mentor, e2e_msg_group, "same words")
    second, _ = e2e_msg_send(mentor, e2e_msg_group, "same words")
    moved = {"text": sealed.text, "franking_key": b64(sealed.franking_key)}
    answer = report(api, student, second, {"reason": "spam", "e2e": moved})
    assert answer.json()["error"]["code"] == "franking_mismatch"
    assert report(api, student, first, {"reason": "spam", "e2e": moved}).status_code == 201


def test_an_encrypted_message_needs_the_disclosure_and_a_plain_one_refuses_it(
    api, e2e_msg_pair, e2e_msg_group, e2e_msg_send, e2e_msg_plain
):
    from messaging import services

    mentor, student = e2e_msg_pair
    message, sealed = e2e_msg_send(mentor, e2e_msg_group)
    bare = report(api, student, message, {"reason": "spam"})
    assert (bare.status_code, bare.json()["error"]["code"]) == (400, "invalid")
    short_key = {"text": sealed.text, "franking_key": base64.b64encode(b"k" * 16).decode()}
    bad = report(api, student, message, {"reason": "spam", "e2e": short_key})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid")
    plain = services.send_message(
        sender=mentor, conversation_id=e2e_msg_plain.pk, content="plain", client_id=uuid.uuid4()
    ).message
    refused = report(
        api,
        student,
        plain,
        {"reason": "spam", "e2e": {"text": "plain", "franking_key": b64(os.urandom(32))}},
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid")
    assert report(api, student, plain, {"reason": "spam"}).status_code == 201


def test_moderators_hide_and_delete_encrypted_messages(
    e2e_msg_pair, e2e_msg_group, e2e_msg_send, e2e_msg_moderator
):
    mentor, _ = e2e_msg_pair
    hidden, _ = e2e_msg_send(mentor, e2e_msg_group, "hide me")
    actions.hide_message(moderator=e2e_msg_moderator, message_id=hidden.pk, note="reported")
    from messaging import events

    hidden = Message.objects.get(pk=hidden.pk)
    assert events.message_payload(hidden)["e2e"] is None
    deleted, _ = e2e_msg_send(mentor, e2e_msg_group, "delete me")
    actions.delete_message(moderator=e2e_msg_moderator, message_id=deleted.pk, note="reported")
    deleted.refresh_from_db()
    assert deleted.deleted_at is not None
    assert "e2e" not in deleted.metadata


def test_the_message_admin_shows_metadata_only(client, e2e_msg_pair, e2e_msg_group, e2e_msg_send):
    from accounts.models import User

    mentor, _ = e2e_msg_pair
    client.force_login(
        User.objects.create_superuser(
            email="root@example.test", password="root-password-1", display_name="Root"
        )
    )
    admin_client = client
    message, sealed = e2e_msg_send(mentor, e2e_msg_group, "private words")
    page = admin_client.get(reverse("admin:messaging_message_change", args=[message.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "key version 1" in html
    assert str(e2e_msg_group.devices[mentor.pk].pk) in html
    assert f"{len(sealed.e2e['ciphertext'])} characters of ciphertext" in html
    assert sealed.e2e["ciphertext"] not in html
    assert sealed.e2e["franking_tag"] not in html
    listing = admin_client.get(reverse("admin:messaging_message_changelist")).content.decode()
    assert "Encrypted message" in listing
    assert sealed.e2e["ciphertext"] not in listing
