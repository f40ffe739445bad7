"""Encrypted sends and edits over the REST API (docs/api.md): stored as
sent, under the current key only, nothing the server reads."""

import copy
import uuid

import pytest

from messaging import services
from messaging.e2e.models import EncryptedConversation
from messaging.models import AuditAction, AuditLog, Message
from tests.e2e import scheme
from tests.e2e.scheme import b64

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def post(api, user, conv, body):
    return api(user).post(f"/api/conversations/{conv.pk}/messages/", body, format="json")


def test_an_encrypted_send_is_stored_as_sent_and_reads_back(api, e2e_msg_pair, e2e_msg_group):
    mentor, student = e2e_msg_pair
    client_id, sealed = e2e_msg_group.seal(mentor, "How are you, really?")
    answer = post(api, mentor, e2e_msg_group, {"client_id": str(client_id), "e2e": sealed.e2e})
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["message_type"] == "encrypted"
    assert body["content"] == "" and body["content_html"] == ""
    assert body["e2e"] == sealed.e2e
    assert "e2e" not in body["metadata"]
    stored = Message.objects.get(pk=body["id"])
    assert stored.metadata["e2e"] == sealed.e2e
    assert stored.content == "" and stored.content_html == ""
    # The other member reads it from history and decrypts it.
    history = api(student).get(f"/api/conversations/{e2e_msg_group.pk}/messages/").json()
    shown = [m for m in history["messages"] if m["id"] == body["id"]][0]
    payload = scheme.decrypt_message(
        {e2e_msg_group.key_version: e2e_msg_group.key},
        conversation_id=e2e_msg_group.pk,
        client_id=client_id,
        e2e=shown["e2e"],
    )
    assert payload["text"] == "How are you, really?"
    # The audit row of the send carries no e2e field.
    row = AuditLog.objects.get(action=AuditAction.MESSAGE_SEND, message_id=stored.pk)
    assert "e2e" not in row.details and "ciphertext" not in str(row.details)


def test_a_resend_returns_the_stored_message_and_another_e2e_conflicts(
    api, e2e_msg_pair, e2e_msg_group
):
    mentor, _ = e2e_msg_pair
    client_id, sealed = e2e_msg_group.seal(mentor, "once")
    body = {"client_id": str(client_id), "e2e": sealed.e2e}
    first = post(api, mentor, e2e_msg_group, body)
    again = post(api, mentor, e2e_msg_group, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    _, other = e2e_msg_group.seal(mentor, "twice", client_id=client_id)
    conflict = post(api, mentor, e2e_msg_group, {"client_id": str(client_id), "e2e": other.e2e})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "client_id_conflict"
    assert Message.objects.filter(client_id=client_id).count() == 1


def test_plain_content_to_an_encrypted_conversation_is_refused(api, e2e_msg_pair, e2e_msg_group):
    mentor, _ = e2e_msg_pair
    answer = post(
        api, mentor, e2e_msg_group, {"client_id": str(uuid.uuid4()), "content": "in the clear"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "e2e_required"
    assert not Message.objects.filter(conversation=e2e_msg_group.conversation).exists()


def test_e2e_to_a_plain_conversation_is_refused(api, e2e_msg_pair, e2e_msg_group, e2e_msg_plain):
    mentor, _ = e2e_msg_pair
    _, sealed = e2e_msg_group.seal(mentor, "wrong place")
    answer = post(api, mentor, e2e_msg_plain, {"client_id": str(uuid.uuid4()), "e2e": sealed.e2e})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "e2e_not_allowed"
    assert not Message.objects.filter(conversation=e2e_msg_plain).exists()


def test_a_plain_send_to_a_plain_conversation_is_unchanged(api, e2e_msg_pair, e2e_msg_plain):
    mentor, _ = e2e_msg_pair
    answer = post(
        api, mentor, e2e_msg_plain, {"client_id": str(uuid.uuid4()), "content": "hi **all**"}
    )
    assert answer.status_code == 201
    assert answer.json()["message_type"] == "text"
    assert "<strong>" in answer.json()["content_html"]
    assert "e2e" not in answer.json()


@pytest.mark.parametrize("rotation_required, version", [(True, 1), (False, 2)])
def test_a_send_under_a_stale_key_is_refused_with_the_current_state(
    api, e2e_msg_pair, e2e_msg_group, rotation_required, version
):
    mentor, _ = e2e_msg_pair
    EncryptedConversation.objects.filter(pk=e2e_msg_group.pk).update(
        key_version=version, rotation_required=rotation_required
    )
    _, sealed = e2e_msg_group.seal(mentor, "too late")
    answer = post(api, mentor, e2e_msg_group, {"client_id": str(uuid.uuid4()), "e2e": sealed.e2e})
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "e2e_key_stale"
    assert (error["key_version"], error["rotation_required"]) == (version, rotation_required)
    assert not Message.objects.filter(conversation=e2e_msg_group.conversation).exists()
    # The seq taken by the refused send rolled back with it.
    e2e_msg_group.conversation.refresh_from_db()
    assert e2e_msg_group.conversation.last_seq == 0


def _with(e2e, **changes):
    changed = copy.deepcopy(e2e)
    changed.update(changes)
    return changed


@pytest.mark.parametrize(
    "change, code",
    [
        ({"nonce": "not base64!"}, "invalid"),
        ({"nonce": b64(b"x" * 11)}, "invalid"),
        ({"franking_tag": b64(b"x" * 31)}, "invalid"),
        ({"ciphertext": b64(b"x" * 15)}, "invalid"),
        ({"ciphertext": "AAA"}, "invalid"),
        ({"key_version": 0}, "invalid"),
        ({"key_version": True}, "invalid"),
        ({"device_id": "nope"}, "invalid"),
        ({"extra": 1}, "invalid"),
        ({"ciphertext": b64(b"x" * 49_200)}, "too_large"),
    ],
)
def test_malformed_or_oversized_e2e_is_refused(api, e2e_msg_pair, e2e_msg_group, change, code):
    mentor, _ = e2e_msg_pair
    _, sealed = e2e_msg_group.seal(mentor, "x")
    answer = post(
        api,
        mentor,
        e2e_msg_group,
        {"client_id": str(uuid.uuid4()), "e2e": _with(sealed.e2e, **change)},
    )
    assert answer.status_code == 400, answer.json()
    assert answer.json()["error"]["code"] == code
    assert not Message.objects.filter(conversation=e2e_msg_group.conversation).exists()


def test_e2e_with_content_is_refused(api, e2e_msg_pair, e2e_msg_group):
    mentor, _ = e2e_msg_pair
    client_id, sealed = e2e_msg_group.seal(mentor, "x")
    answer = post(
        api, mentor, e2e_msg_group, {"client_id": str(client_id), "e2e": sealed.e2e, "content": "x"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("e2e", [None, "sealed", ["x"], {"nonce": "%%%"}])
def test_a_malformed_e2e_beside_content_names_e2e(api, e2e_msg_pair, e2e_msg_plain, e2e):
    """Not "an encrypted message has no content": what is wrong is e2e."""
    mentor, _ = e2e_msg_pair
    answer = post(
        api, mentor, e2e_msg_plain, {"client_id": str(uuid.uuid4()), "content": "hi", "e2e": e2e}
    )
    assert answer.status_code == 400, answer.json()
    error = answer.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["e2e"], error
    assert not Message.objects.filter(conversation=e2e_msg_plain).exists()


def test_a_device_that_is_not_the_senders_is_refused(api, e2e_msg_pair, e2e_msg_group):
    mentor, student = e2e_msg_pair
    client_id, sealed = e2e_msg_group.seal(mentor, "as someone else")
    forged = _with(sealed.e2e, device_id=str(e2e_msg_group.devices[student.pk].pk))
    answer = post(api, mentor, e2e_msg_group, {"client_id": str(client_id), "e2e": forged})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid"
    assert "device" in answer.json()["error"]["message"]
    unknown = _with(sealed.e2e, device_id=str(uuid.uuid4()))
    answer = post(api, mentor, e2e_msg_group, {"client_id": str(client_id), "e2e": unknown})
    assert answer.status_code == 400
    assert not Message.objects.filter(conversation=e2e_msg_group.conversation).exists()


def test_a_revoked_device_cannot_send(api, e2e_msg_pair, e2e_msg_group):
    mentor, _ = e2e_msg_pair
    e2e_msg_group.devices[mentor.pk].status = "revoked"
    e2e_msg_group.devices[mentor.pk].save()
    client_id, sealed = e2e_msg_group.seal(mentor, "x")
    answer = post(api, mentor, e2e_msg_group, {"client_id": str(client_id), "e2e": sealed.e2e})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid"


def test_an_outsider_learns_nothing_about_encryption(api, make_user, e2e_msg_pair, e2e_msg_group):
    from accounts.models import Role

    outsider = make_user(Role.STUDENT)
    _, sealed = e2e_msg_group.seal(e2e_msg_pair[0], "x")
    answer = post(api, outsider, e2e_msg_group, {"client_id": str(uuid.uuid4()), "e2e": sealed.e2e})
    plain = post(api, outsider, e2e_msg_group, {"client_id": str(uuid.uuid4()), "content": "x"})
    assert answer.status_code == plain.status_code == 404


def test_edit_replaces_the_e2e_object(api, e2e_msg_pair, e2e_msg_group, e2e_msg_send):
    mentor, _ = e2e_msg_pair
    message, _ = e2e_msg_send(mentor, e2e_msg_group, "first words")
    _, again = e2e_msg_group.seal(mentor, "better words", client_id=message.client_id)
    answer = api(mentor).patch(f"/api/messages/{message.pk}/", {"e2e": again.e2e}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["e2e"] == again.e2e
    assert answer.json()["edited_at"]
    message.refresh_from_db()
    assert message.metadata["e2e"] == again.e2e
    payload = scheme.decrypt_message(
        {e2e_msg_group.key_version: e2e_msg_group.key},
        conversation_id=e2e_msg_group.pk,
        client_id=message.client_id,
        e2e=answer.json()["e2e"],
    )
    assert payload["text"] == "better words"


def test_edit_checks_like_a_send(api, e2e_msg_pair, e2e_msg_group, e2e_msg_send, e2e_msg_plain):
    mentor, _ = e2e_msg_pair
    message, sealed = e2e_msg_send(mentor, e2e_msg_group)
    url = f"/api/messages/{message.pk}/"
    plain = api(mentor).patch(url, {"content": "in the clear"}, format="json")
    assert (plain.status_code, plain.json()["error"]["code"]) == (400, "e2e_required")
    EncryptedConversation.objects.filter(pk=e2e_msg_group.pk).update(rotation_required=True)
    stale = api(mentor).patch(url, {"e2e": sealed.e2e}, format="json")
    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "e2e_key_stale")
    plain_message = services.send_message(
        sender=mentor, conversation_id=e2e_msg_plain.pk, content="plain", client_id=uuid.uuid4()
    ).message
    wrong = api(mentor).patch(
        f"/api/messages/{plain_message.pk}/", {"e2e": sealed.e2e}, format="json"
    )
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "e2e_not_allowed")
    message.refresh_from_db()
    assert message.metadata["e2e"] == sealed.e2e and message.edited_at is None


def test_delete_drops_the_ciphertext(api, e2e_msg_pair, e2e_msg_group, e2e_msg_send):
    mentor, _ = e2e_msg_pair
    message, _ = e2e_msg_send(mentor, e2e_msg_group)
    answer = api(mentor).delete(f"/api/messages/{message.pk}/")
    assert answer.status_code == 200
    assert answer.json()["e2e"] is None
    message.refresh_from_db()
    assert "e2e" not in message.metadata


def test_replies_and_threads_work_with_an_empty_quote(
    api, e2e_msg_pair, e2e_msg_group, e2e_msg_send
):
    mentor, student = e2e_msg_pair
    root, _ = e2e_msg_send(mentor, e2e_msg_group, "the root")
    client_id, sealed = e2e_msg_group.seal(student, "a reply")
    answer = post(
        api,
        student,
        e2e_msg_group,
        {"client_id": str(client_id), "e2e": sealed.e2e, "reply_to_id": str(root.pk)},
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["reply_to"]["id"] == str(root.pk)
    assert answer.json()["reply_to"]["excerpt"] == ""
    client_id, sealed = e2e_msg_group.seal(student, "in the thread")
    threaded = post(
        api,
        student,
        e2e_msg_group,
        {"client_id": str(client_id), "e2e": sealed.e2e, "parent_id": str(root.pk)},
    )
    assert threaded.status_code == 201, threaded.json()
    assert threaded.json()["parent_id"] == str(root.pk)


def test_the_schema_describes_an_encrypted_message(e2e_msg_pair, e2e_msg_group, e2e_msg_send):
    from messaging import events
    from messaging.api import serializers as s

    message, _ = e2e_msg_send(e2e_msg_pair[0], e2e_msg_group)
    assert set(s.MessageOut().fields) == set(events.message_payload(message))
