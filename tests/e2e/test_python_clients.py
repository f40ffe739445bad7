"""People using encrypted conversations from the Python client (written
from docs/e2e.md alone) through a real server process: keys, rotation,
membership changes, devices, recovery and reports, as the documents say."""

import base64

import pytest

from tests.e2e import scheme
from tests.e2e.client import ApiError, Person, is_frame
from tests.e2e.scheme import CannotDecrypt

pytestmark = [pytest.mark.services]


def encrypted_group(creator: Person, *others: Person) -> str:
    """A group of everyone, each with a device, at key version 1."""
    for person in (creator, *others):
        if person.device is None:
            person.first_device()
    cid = creator.create_conversation(others)
    assert creator.rotate(cid) == 1
    return cid


def stale(error: ApiError, *, version: int) -> bool:
    return (
        error.status == 409
        and error.code == "e2e_key_stale"
        and error.body["error"]["key_version"] == version
    )


def test_messages_edits_and_a_file_over_socket_and_rest(people):
    alice, bob, carol = people("Alice", "Bob", "Carol")
    for person in (alice, bob, carol):
        person.first_device()
    cid = alice.create_conversation([bob, carol], title="Welfare")

    # Version 0: nobody writes until the creator made the first key (a
    # send under version 1 is stale; version 0 names no key at all).
    refused = alice.refused(
        "POST",
        f"conversations/{cid}/messages/",
        json={
            "client_id": "00000000-0000-4000-8000-000000000001",
            "e2e": {
                "key_version": 1,
                "device_id": alice.device.id,
                "nonce": scheme.b64(bytes(12)),
                "ciphertext": scheme.b64(bytes(32)),
                "franking_tag": scheme.b64(bytes(32)),
            },
        },
    )
    assert stale(refused, version=0), refused
    assert alice.rotate(cid) == 1
    assert alice.state(cid)["rotation_required"] is False

    for person in (alice, bob, carol):
        person.connect()

    # Plain text is refused in an encrypted conversation.
    plain = alice.refused(
        "POST",
        f"conversations/{cid}/messages/",
        json={"client_id": "00000000-0000-4000-8000-000000000002", "content": "in clear"},
    )
    assert (plain.status, plain.code) == (400, "e2e_required")

    # Every member's message.new carries ciphertext only.
    sent, payload = alice.send_rest(cid, "Can we talk about the exam?")
    assert sent["message_type"] == "encrypted" and sent["content"] == ""
    new = bob.socket.wait_for(
        lambda f: f["type"] == "message.new" and f["message"]["id"] == sent["id"]
    )
    assert new["message"]["e2e"] == sent["e2e"]
    assert bob.read(new["message"])["text"] == "Can we talk about the exam?"
    assert bob.read(new["message"]) == payload

    # Over REST, with an encrypted file.
    document = b"%PDF-1.7\n" + b"the mentor's notes " * 500
    entry = carol.upload(cid, document, name="notes.pdf", content_type="application/pdf")
    message, _ = carol.send_rest(cid, "Here are my notes", files=[entry])
    assert message["message_type"] == "encrypted" and message["content"] == ""
    attachment = message["attachments"][0]
    assert attachment["name"] == "encrypted.bin"
    assert attachment["content_type"] == "application/octet-stream"
    live = alice.socket.wait_for(
        lambda f: f["type"] == "message.new" and f["message"]["id"] == message["id"]
    )
    read = alice.read(live["message"])
    assert read["text"] == "Here are my notes"
    assert alice.open_file(live["message"], read["files"][0]) == document

    # The history holds the same, and decrypts for everyone.
    history = bob.history(cid)
    encrypted = [m for m in history if m["message_type"] == "encrypted"]
    assert [bob.text_of(m) for m in encrypted] == [
        "Can we talk about the exam?",
        "Here are my notes",
    ]

    # An edit is a new encryption under the current key, same client_id.
    edit_body, _ = alice.encrypt(cid, "Can we talk about the resit?", client_id=sent["client_id"])
    edited = alice.call("PATCH", f"messages/{sent['id']}/", json={"e2e": edit_body["e2e"]})
    assert edited["e2e"]["nonce"] != sent["e2e"]["nonce"]
    assert carol.read(edited)["text"] == "Can we talk about the resit?"
    frame = carol.socket.wait_for(
        lambda f: f["type"] == "message.edited" and f["message"]["id"] == sent["id"]
    )
    assert carol.read(frame["message"])["text"] == "Can we talk about the resit?"


def test_a_send_and_an_edit_over_the_socket(people):
    alice, bob = people("Alice", "Bob")
    cid = encrypted_group(alice, bob)
    alice.connect()
    bob.connect()
    sent, payload = alice.send_socket(cid, "over the socket")
    assert sent["message_type"] == "encrypted" and sent["content"] == ""
    new = bob.socket.wait_for(
        lambda f: f["type"] == "message.new" and f["message"]["id"] == sent["id"]
    )
    assert bob.read(new["message"]) == payload

    body, _ = alice.encrypt(cid, "edited over the socket", client_id=sent["client_id"])
    alice.socket.send(
        {"type": "message.edit", "ref": "edit", "message_id": sent["id"], "e2e": body["e2e"]}
    )
    reply = alice.socket.wait_for(lambda f: f.get("ref") == "edit")
    assert reply["type"] == "ok", reply
    edited = bob.socket.wait_for(
        lambda f: f["type"] == "message.edited" and f["message"]["id"] == sent["id"]
    )
    assert bob.read(edited["message"])["text"] == "edited over the socket"

    # A file sent over the socket.
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    entry = bob.upload(cid, picture, name="whiteboard.png", content_type="image/png")
    with_file, _ = bob.send_socket(cid, "the whiteboard", files=[entry])
    live = alice.socket.wait_for(
        lambda f: f["type"] == "message.new" and f["message"]["id"] == with_file["id"]
    )
    read = alice.read(live["message"])
    assert read["files"][0]["name"] == "whiteboard.png"
    assert alice.open_file(live["message"], read["files"][0]) == picture

    # A deleted message keeps no ciphertext.
    deleted = alice.call("DELETE", f"messages/{sent['id']}/")
    assert deleted["e2e"] is None and deleted["content"] == "" and deleted["deleted_at"]


def test_a_second_rotation_of_the_same_version_conflicts(people):
    alice, bob = people("Alice", "Bob")
    cid = encrypted_group(alice, bob)
    bob.fetch_keys(cid)
    state = alice.state(cid)
    envelopes = scheme.wrap_for(
        bytes(32),
        scheme.member_devices(state),
        conversation_id=cid,
        key_version=1,
        signer=bob.device,
    )
    conflict = bob.refused(
        "POST", f"e2e/conversations/{cid}/keys/", json={"key_version": 1, "envelopes": envelopes}
    )
    assert (conflict.status, conflict.code) == (409, "e2e_version_conflict")
    assert conflict.body["error"]["key_version"] == 1


def test_a_new_member_reads_from_when_they_joined(people):
    alice, bob, dan = people("Alice", "Bob", "Dan")
    cid = encrypted_group(alice, bob)
    dan.first_device()
    for person in (alice, bob):
        person.connect()
    before, _ = alice.send_rest(cid, "before Dan joined")

    alice.call("POST", f"conversations/{cid}/participants/", json={"user_ids": [dan.user_id]})
    rekey = bob.socket.wait_for(is_frame("e2e.rekey", conversation_id=cid))
    assert rekey["key_version"] == 1
    assert alice.state(cid)["rotation_required"] is True

    # Stale until someone rotates: over REST and over the socket.
    with pytest.raises(ApiError) as refused:
        alice.send_rest(cid, "while stale")
    assert stale(refused.value, version=1)
    body, _ = bob.encrypt(cid, "while stale too")
    bob.socket.send({"type": "message.send", "conversation_id": cid, **body})
    error = bob.socket.wait_for(is_frame("error", client_id=body["client_id"]))
    assert error["code"] == "e2e_key_stale"
    assert (error["key_version"], error["rotation_required"]) == (1, True)

    # A rotation that leaves out the new member's device is refused.
    state = bob.state(cid)
    without_dan = [
        scheme.wrap(bytes(32), conversation_id=cid, key_version=2, recipient=d, signer=bob.device)
        for m in state["members"]
        if m["user_id"] != dan.user_id
        for d in m["devices"]
    ]
    changed = bob.refused(
        "POST", f"e2e/conversations/{cid}/keys/", json={"key_version": 2, "envelopes": without_dan}
    )
    assert (changed.status, changed.code) == (409, "e2e_devices_changed")
    assert dan.device.id in changed.body["error"]["devices"]

    assert bob.rotate(cid) == 2
    alice.socket.wait_for(is_frame("e2e.key", conversation_id=cid, key_version=2))
    after, _ = alice.send_rest(cid, "after Dan joined")

    # Dan has an envelope for version 2 only.
    assert [e["key_version"] for e in dan.envelopes(cid)] == [2]
    texts = {m["id"]: dan.text_of(m) for m in dan.history(cid) if m["message_type"] == "encrypted"}
    assert texts[before["id"]] == "<cannot decrypt>"
    assert texts[after["id"]] == "after Dan joined"
    with pytest.raises(CannotDecrypt):
        dan.read(before)


def test_a_removed_member_reads_nothing_after(people):
    alice, bob, carol = people("Alice", "Bob", "Carol")
    cid = encrypted_group(alice, bob, carol)
    carol.fetch_keys(cid)
    first, _ = bob.send_rest(cid, "all three of us")
    assert carol.read(first)["text"] == "all three of us"

    alice.call("DELETE", f"conversations/{cid}/participants/{carol.user_id}/")
    with pytest.raises(ApiError) as refused:
        bob.send_rest(cid, "too soon")
    assert stale(refused.value, version=1)

    assert alice.rotate(cid) == 2
    state = alice.state(cid)
    assert carol.user_id not in [m["user_id"] for m in state["members"]]
    devices_with_envelopes = {
        e["device_id"] for p in (alice, bob) for e in p.envelopes(cid) if e["key_version"] == 2
    }
    assert carol.device.id not in devices_with_envelopes

    second, _ = bob.send_rest(cid, "just the two of us")
    assert alice.read(second)["text"] == "just the two of us"
    # Carol keeps version 1 but has no key for version 2, and the server
    # hands her nothing more.
    assert set(carol.keys[cid]) == {1}
    with pytest.raises(CannotDecrypt):
        carol.read(second)
    gone = carol.request(
        "GET", "e2e/envelopes/", params={"device_id": carol.device.id, "conversation_id": cid}
    )
    assert gone.status_code == 404 or gone.json()["envelopes"] == []


def test_a_key_made_by_someone_who_left_since_still_opens(people):
    alice, bob, carol = people("Alice", "Bob", "Carol")
    cid = encrypted_group(alice, bob, carol)
    carol.fetch_keys(cid)
    assert carol.rotate(cid) == 2
    under_carols_key, _ = bob.send_rest(cid, "under Carol's key")
    alice.call("DELETE", f"conversations/{cid}/participants/{carol.user_id}/")
    assert alice.rotate(cid) == 3

    # Bob reads afresh (a reload): version 2 was signed by someone who has
    # left, and still opens; the current version's signer is a member.
    bob.keys.clear()
    signers = {e["key_version"]: e["signer_user_id"] for e in bob.envelopes(cid)}
    assert signers == {1: alice.user_id, 2: carol.user_id, 3: alice.user_id}
    assert bob.read(under_carols_key)["text"] == "under Carol's key"
    assert set(bob.keys[cid]) == {1, 2, 3}


def test_a_second_device_approved_reads_the_history(people):
    alice, bob = people("Alice", "Bob")
    cid = encrypted_group(alice, bob)
    earlier, _ = bob.send_rest(cid, "before your new laptop")
    bob.connect()
    old_number = scheme.safety_number(
        alice.user_id,
        [alice.device.public()],
        bob.user_id,
        [bob.device.public()],
    )

    laptop, record = alice.register_device("Laptop", approval=None)
    assert record["status"] == "pending"
    # Both screens show the same code: the old device computes it from the
    # record the server gives, the new one from its own keys.
    pending = next(d for d in alice.devices() if d["id"] == laptop.id)
    shown_on_old = scheme.approval_code(
        scheme.device_statement(
            alice.user_id, pending["id"], pending["ecdh_public"], pending["signing_public"]
        )
    )
    assert shown_on_old == scheme.approval_code(laptop.statement())
    # Not yet active: no envelope is wrapped for it.
    assert laptop.id not in {
        d["id"] for d in bob.call("GET", f"e2e/users/{alice.user_id}/devices/")["devices"]
    }

    approved = alice.approve(pending)
    assert approved["status"] == "active" and approved["approved_by"] == alice.device.id
    bob.socket.wait_for(is_frame("e2e.devices", user_id=alice.user_id))

    # Bob checks the new device's approval against the device he knew.
    listed = bob.call("GET", f"e2e/users/{alice.user_id}/devices/")["devices"]
    new_record = next(d for d in listed if d["id"] == laptop.id)
    assert scheme.device_signature_valid(new_record, alice.user_id, alice.device.signing_public)
    assert (
        scheme.safety_number(alice.user_id, listed, bob.user_id, [bob.device.public()])
        != old_number
    )

    # The laptop opens the re-wrapped envelope and reads the history.
    alice.device = laptop
    alice.keys.clear()
    assert [e["signer_device_id"] for e in alice.envelopes(cid)] == [approved["approved_by"]]
    assert alice.read(earlier)["text"] == "before your new laptop"


def test_recovery_after_every_browser_device_is_revoked(people):
    alice, bob = people("Alice", "Bob")
    alice.first_device("Phone")
    # Keys made before the recovery key existed are not wrapped for it.
    older = encrypted_group(alice, bob)
    before, _ = bob.send_rest(older, "before the recovery key")
    recovery_key = alice.set_up_recovery()
    cid = encrypted_group(alice, bob)
    kinds = {d["kind"] for m in alice.state(cid)["members"] for d in m["devices"]}
    assert kinds == {"browser", "recovery"}
    message, _ = bob.send_rest(cid, "kept for you")

    alice.revoke(alice.device.id)
    assert alice.state(cid)["rotation_required"] is True
    alice.forget_devices()

    # A wrong recovery key opens nothing.
    with pytest.raises(CannotDecrypt):
        alice.recover(scheme.make_recovery_key())
    device = alice.recover(recovery_key)
    statuses = {d["id"]: d["status"] for d in alice.devices()}
    assert statuses[device.id] == "active"
    assert alice.read(message)["text"] == "kept for you"
    with pytest.raises(CannotDecrypt):
        alice.read(before)

    # A rotation follows the revocation; the recovered device is in it.
    assert bob.rotate(cid) == 2
    later, _ = bob.send_rest(cid, "after the rotation")
    assert alice.read(later)["text"] == "after the rotation"


def test_a_report_is_verified_and_a_forged_one_refused(people):
    alice, bob = people("Alice", "Bob")
    cid = encrypted_group(alice, bob)
    message, _ = alice.send_rest(cid, "the words I really sent")
    payload = bob.read(message)

    forged = bob.report(message, "words Alice never sent", payload["franking_key"])
    assert (forged.status_code, forged.json()["error"]["code"]) == (400, "franking_mismatch")
    other_key = scheme.b64(bytes(32))
    wrong_key = bob.report(message, payload["text"], other_key)
    assert (wrong_key.status_code, wrong_key.json()["error"]["code"]) == (400, "franking_mismatch")
    missing = bob.request(
        "POST", f"messages/{message['id']}/report/", json={"reason": "harassment"}
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "invalid")

    verified = bob.report(message, payload["text"], payload["franking_key"])
    assert verified.status_code == 201, verified.text
    assert len(base64.b64decode(payload["franking_key"])) == 32


def test_keys_signed_by_someone_elses_device_are_refused(people):
    alice, bob = people("Alice", "Bob")
    for person in (alice, bob):
        person.first_device()
    cid = alice.create_conversation([bob])
    state = alice.state(cid)
    envelopes = scheme.wrap_for(
        bytes(32),
        scheme.member_devices(state),
        conversation_id=cid,
        key_version=1,
        signer=bob.device,
    )
    refused = alice.refused(
        "POST", f"e2e/conversations/{cid}/keys/", json={"key_version": 1, "envelopes": envelopes}
    )
    assert (refused.status, refused.code) == (400, "invalid")
    # Alice's own device with a signature that is not hers.
    for envelope in envelopes:
        envelope["signer_device_id"] = alice.device.id
    bad = alice.refused(
        "POST", f"e2e/conversations/{cid}/keys/", json={"key_version": 1, "envelopes": envelopes}
    )
    assert (bad.status, bad.code) == (400, "bad_signature")
