"""Key versions and envelopes (docs/e2e.md, "Conversation keys and
envelopes", "Rotation")."""

import threading
import uuid

import pytest
from django.db import connection

from messaging import services
from messaging.e2e.models import ConversationKey, EncryptedConversation, KeyEnvelope
from messaging.models import AuditAction, AuditLog
from tests.e2e.scheme import member_devices
from tests.e2e.server.conftest import key_state
from tests.e2e.server.keys import Device, new_key

pytestmark = pytest.mark.django_db


def post_key(client, conversation_id, key_version, envelopes):
    return client.post(
        f"/api/e2e/conversations/{conversation_id}/keys/",
        {"key_version": key_version, "envelopes": envelopes},
        format="json",
    )


@pytest.fixture
def keyed(api, register, encrypted_group, trio):
    """The group with devices for both members: the mentor's laptop and
    phone, the student's laptop."""
    mentor, student, _ = trio
    laptop = register(mentor)
    phone = register(mentor, approver=laptop)
    student_laptop = register(student)
    return encrypted_group, laptop, phone, student_laptop


def test_first_key_is_stored_with_its_envelopes(api, keyed, trio):
    mentor, student, _ = trio
    conversation, laptop, phone, student_laptop = keyed
    client = api(mentor)
    state = key_state(client, conversation.pk)
    assert (state["key_version"], state["rotation_required"]) == (0, True)
    assert [m["user_id"] for m in state["members"]] == [str(mentor.pk), str(student.pk)]
    assert {d["id"] for d in member_devices(state)} == {
        str(laptop.id),
        str(phone.id),
        str(student_laptop.id),
    }
    key = new_key()
    envelopes = laptop.wrap_for(
        member_devices(state), conversation_id=conversation.pk, key_version=1, key=key
    )
    response = post_key(client, conversation.pk, 1, envelopes)
    assert response.status_code == 201
    assert response.json() == {
        "conversation_id": str(conversation.pk),
        "key_version": 1,
        "rotation_required": False,
    }
    assert (
        str(ConversationKey.objects.get(conversation=conversation).created_by_device_id)
        == laptop.id
    )
    row = AuditLog.objects.get(action=AuditAction.E2E_KEY_ROTATE)
    assert row.details == {"key_version": 1, "devices": 3}
    assert row.conversation_id == conversation.pk
    # The student's browser reads its envelope and opens the same key.
    fetched = api(student).get(
        f"/api/e2e/envelopes/?device_id={student_laptop.id}&conversation_id={conversation.pk}"
    )
    assert fetched.status_code == 200
    [envelope] = fetched.json()["envelopes"]
    assert envelope["signer_device_id"] == str(laptop.id)
    assert student_laptop.unwrap(envelope) == key
    # The conversation's payload tells the same state.
    detail = client.get(f"/api/conversations/{conversation.pk}/").json()
    assert detail["e2e"] == {"key_version": 1, "rotation_required": False}


def test_version_conflict(api, keyed, trio):
    mentor, _, _ = trio
    conversation, laptop, _, _ = keyed
    client = api(mentor)
    devices = member_devices(key_state(client, conversation.pk))
    envelopes = laptop.wrap_for(
        devices, conversation_id=conversation.pk, key_version=2, key=b"k" * 32
    )
    response = post_key(client, conversation.pk, 2, envelopes)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "e2e_version_conflict"
    assert response.json()["error"]["key_version"] == 0
    assert not KeyEnvelope.objects.exists()


def test_versions_nothing_required_spend_the_conversations_own_budget(api, keyed, trio, settings):
    """A member scripting new versions grows every device's envelopes for
    good: past the burst such a version is refused, while one a rotation
    requires (here after a member is added) is always taken."""
    settings.E2E_UNREQUIRED_ROTATION_BURST = 2
    settings.E2E_UNREQUIRED_ROTATIONS_PER_HOUR = 0.001
    mentor, _, newcomer = trio
    conversation, laptop, _, _ = keyed
    client = api(mentor)

    def rotate(version):
        devices = member_devices(key_state(client, conversation.pk))
        envelopes = laptop.wrap_for(
            devices, conversation_id=conversation.pk, key_version=version, key=new_key()
        )
        return post_key(client, conversation.pk, version, envelopes)

    assert rotate(1).status_code == 201  # required: the first key
    assert [rotate(2).status_code, rotate(3).status_code] == [201, 201]  # the burst
    refused = rotate(4)
    assert refused.status_code == 429, refused.content
    assert refused.json()["error"]["code"] == "rate_limited"
    assert EncryptedConversation.objects.get(conversation=conversation).key_version == 3
    services.add_participants(actor=mentor, conversation_id=conversation.pk, users=[newcomer])
    assert rotate(4).status_code == 201  # required by the change


def test_device_set_mismatch_names_the_expected_devices(api, keyed, trio):
    mentor, _, _ = trio
    conversation, laptop, phone, student_laptop = keyed
    client = api(mentor)
    devices = member_devices(key_state(client, conversation.pk))
    envelopes = laptop.wrap_for(
        devices, conversation_id=conversation.pk, key_version=1, key=new_key()
    )
    expected = sorted(str(d.id) for d in (laptop, phone, student_laptop))
    for wrong in (
        envelopes[:-1],  # one missing
        [*envelopes, envelopes[0]],  # one twice
        [{**envelopes[0], "key_version": 5}, *envelopes[1:]],  # another version inside
    ):
        response = post_key(client, conversation.pk, 1, wrong)
        assert response.status_code == 409, response.json()
        assert response.json()["error"]["code"] == "e2e_devices_changed"
        assert response.json()["error"]["devices"] == expected
    assert EncryptedConversation.objects.get(pk=conversation.pk).key_version == 0


def test_envelopes_are_signed_by_one_active_device_of_the_poster(api, keyed, trio):
    mentor, student, _ = trio
    conversation, laptop, phone, student_laptop = keyed
    client = api(mentor)
    devices = member_devices(key_state(client, conversation.pk))
    # Signed by the student's device, posted by the mentor.
    by_student = student_laptop.wrap_for(
        devices, conversation_id=conversation.pk, key_version=1, key=new_key()
    )
    response = post_key(client, conversation.pk, 1, by_student)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    mixed = laptop.wrap_for(
        devices[:1], conversation_id=conversation.pk, key_version=1, key=new_key()
    )
    mixed += phone.wrap_for(
        devices[1:], conversation_id=conversation.pk, key_version=1, key=new_key()
    )
    assert post_key(client, conversation.pk, 1, mixed).status_code == 400
    # A signature by other keys under the laptop's id.
    impostor = Device(user_id=mentor.pk, id=laptop.id)
    forged = impostor.wrap_for(
        devices, conversation_id=conversation.pk, key_version=1, key=new_key()
    )
    response = post_key(client, conversation.pk, 1, forged)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_signature"
    assert not KeyEnvelope.objects.exists()


def test_envelopes_are_for_the_owner_of_the_device_and_current_members(api, keyed, trio, register):
    mentor, student, other = trio
    conversation, laptop, _, student_laptop = keyed
    client = api(mentor)
    devices = member_devices(key_state(client, conversation.pk))
    post_key(
        client,
        conversation.pk,
        1,
        laptop.wrap_for(devices, conversation_id=conversation.pk, key_version=1, key=new_key()),
    )
    # Someone else's device: not found, as no device.
    mine = api(mentor).get(f"/api/e2e/envelopes/?device_id={student_laptop.id}")
    nobody = api(mentor).get(f"/api/e2e/envelopes/?device_id={uuid.uuid4()}")
    assert mine.status_code == nobody.status_code == 404
    assert mine.json() == nobody.json()
    # An outsider with a device of their own sees nothing of the conversation.
    outsider_device = register(other)
    outsider = api(other)
    asked = outsider.get(
        f"/api/e2e/envelopes/?device_id={outsider_device.id}&conversation_id={conversation.pk}"
    )
    missing = outsider.get(
        f"/api/e2e/envelopes/?device_id={outsider_device.id}&conversation_id={uuid.uuid4()}"
    )
    assert asked.status_code == missing.status_code == 404
    assert asked.json() == missing.json()
    assert outsider.get(f"/api/e2e/conversations/{conversation.pk}/").status_code == 404
    # A member who left no longer gets their old envelopes.
    services.remove_participant(actor=student, conversation_id=conversation.pk, user=student)
    left = api(student).get(f"/api/e2e/envelopes/?device_id={student_laptop.id}")
    assert left.status_code == 200
    assert left.json() == {"envelopes": []}


def test_a_plain_conversation_answers_as_a_missing_one(api, register, trio):
    mentor, student, _ = trio
    plain = services.create_conversation(creator=mentor, kind="direct", participants=[student])
    client = api(mentor)
    laptop = register(mentor)
    asked = client.get(f"/api/e2e/conversations/{plain.pk}/")
    missing = client.get(f"/api/e2e/conversations/{uuid.uuid4()}/")
    assert asked.status_code == missing.status_code == 404
    assert asked.json() == missing.json()
    envelope = laptop.wrap(
        conversation_id=plain.pk,
        key_version=1,
        recipient_id=laptop.id,
        recipient_ecdh=laptop.ecdh_public,
        key=new_key(),
    )
    assert post_key(client, plain.pk, 1, [envelope]).status_code == 404


def test_a_non_member_is_told_not_found_whatever_the_body(api, keyed, trio):
    """Membership is checked before the body: an outsider learns nothing
    from which of their bodies is refused (docs/api.md: 404 first)."""
    conversation, *_ = keyed
    _, _, outsider = trio
    client = api(outsider)
    for body in ({"key_version": 1, "envelopes": []}, {}, {"key_version": "x"}):
        answer = client.post(f"/api/e2e/conversations/{conversation.pk}/keys/", body, format="json")
        assert answer.status_code == 404, body
        assert answer.json()["error"]["code"] == "not_found"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_racing_rotations_one_wins(api, keyed, trio):
    """Two browsers post version 1 at once, each in its own connection and
    transaction: exactly one is stored, the other is told of the conflict."""
    mentor, _, _ = trio
    conversation, laptop, phone, _ = keyed
    devices = member_devices(key_state(api(mentor), conversation.pk))
    bodies = [
        signer.wrap_for(devices, conversation_id=conversation.pk, key_version=1, key=new_key())
        for signer in (laptop, phone)
    ]
    # Both requests wait here until the other has read the state too.
    barrier = threading.Barrier(2, timeout=10)
    answers: list[int] = []
    from messaging.e2e.services import keys

    original = keys.e2e_selectors.encrypted_state_for

    def meet_then_check(*args, **kwargs):
        state = original(*args, **kwargs)
        barrier.wait()
        return state

    keys.e2e_selectors.encrypted_state_for = meet_then_check
    try:

        def post(envelopes):
            try:
                answers.append(post_key(api(mentor), conversation.pk, 1, envelopes).status_code)
            finally:
                connection.close()

        threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
    finally:
        keys.e2e_selectors.encrypted_state_for = original
    assert sorted(answers) == [201, 409]
    assert ConversationKey.objects.filter(conversation=conversation).count() == 1
    assert KeyEnvelope.objects.filter(conversation=conversation).count() == 3
    signer = ConversationKey.objects.get(conversation=conversation).created_by_device_id
    assert set(KeyEnvelope.objects.values_list("signer_device_id", flat=True)) == {signer}
