"""Encrypted conversations: creation, the member cap, bots, and a rotation
required by every membership change (docs/e2e.md, "Rotation")."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from messaging import services
from messaging.e2e.models import EncryptedConversation
from messaging.errors import InvalidInput
from messaging.models import Conversation

pytestmark = pytest.mark.django_db


def create(client, **body):
    return client.post("/api/conversations/", body, format="json")


def test_encrypted_direct_is_distinct_from_the_plain_one(api, trio):
    mentor, student, _ = trio
    client = api(mentor)
    plain = create(client, type="direct", participant_ids=[str(student.pk)])
    assert plain.status_code == 201
    assert plain.json()["e2e"] is None
    encrypted = create(client, type="direct", participant_ids=[str(student.pk)], encrypted=True)
    assert encrypted.status_code == 201
    assert encrypted.json()["e2e"] == {"key_version": 0, "rotation_required": True}
    assert encrypted.json()["id"] != plain.json()["id"]
    # Asked again, from either side: the same two.
    again = create(api(student), type="direct", participant_ids=[str(mentor.pk)], encrypted=True)
    assert again.status_code == 200
    assert again.json()["id"] == encrypted.json()["id"]
    plain_again = create(api(student), type="direct", participant_ids=[str(mentor.pk)])
    assert plain_again.json()["id"] == plain.json()["id"]
    assert EncryptedConversation.objects.count() == 1


def test_support_conversations_cannot_be_encrypted(api, trio):
    _, student, _ = trio
    response = create(api(student), type="support", encrypted=True)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not Conversation.objects.exists()


def test_encrypted_must_be_a_boolean(api, trio):
    mentor, student, _ = trio
    response = create(api(mentor), type="direct", participant_ids=[str(student.pk)], encrypted=1)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["encrypted"]


def test_member_cap(api, trio, make_user, settings):
    mentor, first, second = trio
    settings.E2E_MAX_MEMBERS = 2
    client = api(mentor)
    response = create(
        client,
        type="group",
        title="Too many",
        participant_ids=[str(first.pk), str(second.pk)],
        encrypted=True,
    )
    assert response.status_code == 400
    assert "2" in response.json()["error"]["message"]
    group = services.create_conversation(
        creator=mentor, kind="group", participants=[first], title="Pair", encrypted=True
    )
    response = client.post(
        f"/api/conversations/{group.pk}/participants/",
        {"user_ids": [str(second.pk)]},
        format="json",
    )
    assert response.status_code == 400
    # A plain group of the same size is fine.
    assert (
        create(
            client,
            type="group",
            title="Plain",
            participant_ids=[str(first.pk), str(second.pk)],
        ).status_code
        == 201
    )


def test_bots_cannot_join(trio, make_user):
    mentor, first, _ = trio
    admin = make_user(Role.ADMIN, is_staff=True)
    bot = make_user(Role.BOT, name="Helper bot")
    with pytest.raises(InvalidInput):
        services.create_conversation(
            creator=admin, kind="direct", participants=[bot], encrypted=True
        )
    group = services.create_conversation(
        creator=admin, kind="group", participants=[first], title="G", encrypted=True
    )
    with pytest.raises(InvalidInput):
        services.add_participants(actor=admin, conversation_id=group.pk, users=[bot])


@pytest.mark.parametrize("change", ["add", "remove", "leave"])
def test_membership_changes_require_a_rotation(trio, change):
    mentor, first, second = trio
    group = services.create_conversation(
        creator=mentor, kind="group", participants=[first], title="G", encrypted=True
    )
    EncryptedConversation.objects.filter(pk=group.pk).update(key_version=4, rotation_required=False)
    if change == "add":
        services.add_participants(actor=mentor, conversation_id=group.pk, users=[second])
    elif change == "remove":
        services.remove_participant(actor=mentor, conversation_id=group.pk, user=first)
    else:
        services.remove_participant(actor=first, conversation_id=group.pk, user=first)
    state = EncryptedConversation.objects.get(pk=group.pk)
    assert (state.key_version, state.rotation_required) == (4, True)


def test_plain_conversations_are_left_alone(trio):
    mentor, first, second = trio
    group = services.create_conversation(
        creator=mentor, kind="group", participants=[first], title="G"
    )
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[second])
    assert not EncryptedConversation.objects.exists()


def test_the_inbox_shows_e2e_without_a_query_per_conversation(api, trio):
    mentor, first, second = trio
    client = api(mentor)
    services.create_conversation(
        creator=mentor, kind="group", participants=[first], title="G", encrypted=True
    )
    services.create_conversation(creator=mentor, kind="direct", participants=[first])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/conversations/")
        assert response.status_code == 200
        return len(captured)

    before = queries()
    services.create_conversation(
        creator=mentor, kind="direct", participants=[second], encrypted=True
    )
    services.create_conversation(creator=mentor, kind="direct", participants=[second])
    assert queries() == before
    listed = {
        c["type"] + str(c["e2e"] is not None): c["e2e"]
        for c in client.get("/api/conversations/").json()["conversations"]
    }
    assert listed["groupTrue"] == {"key_version": 0, "rotation_required": True}
    assert listed["directFalse"] is None
