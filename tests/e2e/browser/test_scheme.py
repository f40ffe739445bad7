"""static/js/e2e/crypto.js in real Chromium against docs/e2e.md's scheme
written in Python (tests/e2e/scheme.py): each side opens what the other makes, and
both compute the same codes and numbers."""

import base64
import json
import os
import uuid

import pytest

from tests.e2e import scheme
from tests.e2e.scheme import DeviceKeys

pytestmark = pytest.mark.django_db(transaction=True)

CONVERSATION = str(uuid.uuid4())


@pytest.fixture
def page(chromium, e2e_server, console):
    context = chromium.new_context()
    page = context.new_page()
    console.attach(page)
    page.goto(f"{e2e_server.http_url}/login/")
    page.evaluate("async () => { window.scheme = await import('/static/js/e2e/crypto.js'); }")
    yield page
    context.close()


def test_envelopes_open_both_ways(page):
    recipient = DeviceKeys(user_id=str(uuid.uuid4()))
    key = scheme.new_key()
    made = page.evaluate(
        """async ([conversationId, recipient, key]) => {
          const s = window.scheme;
          const signer = await s.makeDeviceKeys();
          const envelope = await s.wrapEnvelope({
            conversationId, keyVersion: 3, keyBytes: s.b64decode(key), recipient,
            signer: { deviceId: 'dev-signer', signingPrivate: signer.signingPrivate },
          });
          return { envelope, signingPublic: signer.signingPublic };
        }""",
        [
            CONVERSATION,
            recipient.public(),
            scheme.b64(key),
        ],
    )
    envelope = made["envelope"]
    assert envelope["key_version"] == 3 and envelope["device_id"] == recipient.id
    opened_here = scheme.unwrap(
        envelope,
        recipient,
        conversation_id=CONVERSATION,
        key_version=3,
        member_user_ids=None,
        signer_signing_public=made["signingPublic"],
    )
    assert opened_here == key

    # The other way: Python wraps for a device the browser made.
    signer = DeviceKeys(user_id=str(uuid.uuid4()), id="dev-py")
    device = page.evaluate(
        """async () => {
          window.device = await window.scheme.makeDeviceKeys();
          return { ecdh_public: window.device.ecdhPublic };
        }"""
    )
    envelope = scheme.wrap(
        key,
        conversation_id=CONVERSATION,
        key_version=4,
        recipient={"id": "dev-browser", "ecdh_public": device["ecdh_public"]},
        signer=signer,
    )
    opened = page.evaluate(
        """async ([envelope, signingPublic]) => {
          const s = window.scheme;
          const expect = {
            conversationId: envelope.conversation_id, keyVersion: 4, deviceId: 'dev-browser',
          };
          const ecdhPrivate = window.device.ecdhPrivate;
          const raw = await s.unwrapEnvelope(envelope, { ecdhPrivate, signingPublic, expect });
          let forged = 'opened';
          try {
            await s.unwrapEnvelope({ ...envelope, key_version: 5 },
              { ecdhPrivate, signingPublic, expect: { ...expect, keyVersion: 5 } });
          } catch (error) { forged = error.code; }
          return { key: s.b64encode(raw), forged };
        }""",
        [envelope, signer.signing_public],
    )
    assert opened == {"key": scheme.b64(key), "forged": "bad_signature"}


def test_messages_and_files_open_both_ways_with_their_franking_tags(page):
    key = scheme.new_key()
    client_id = str(uuid.uuid4())
    text = "Meet at 10 — ¿sí? مرحبا <b>not html</b>"
    files = [
        {
            "attachment_id": "a1",
            "name": "r.pdf",
            "type": "application/pdf",
            "size": 3,
            "key": "k",
            "nonce": "n",
            "sha256": "h",
        }
    ]
    e2e = page.evaluate(
        """async ([key, conversationId, clientId, text, files]) => {
          const s = window.scheme;
          const aes = await s.aesKey(s.b64decode(key));
          return s.encryptMessage({ key: aes, keyVersion: 2, deviceId: 'dev-1',
            conversationId, clientId, text, files });
        }""",
        [scheme.b64(key), CONVERSATION, client_id, text, files],
    )
    assert e2e["key_version"] == 2 and len(base64.b64decode(e2e["franking_tag"])) == 32
    payload = scheme.decrypt_message(
        {2: key}, conversation_id=CONVERSATION, client_id=client_id, e2e=e2e
    )
    assert payload["text"] == text and payload["files"] == files

    mine, _ = scheme.encrypt_message(
        key,
        conversation_id=CONVERSATION,
        client_id=client_id,
        key_version=2,
        device_id="dev-py",
        text="from Python",
    )
    tampered = dict(mine, franking_tag=scheme.b64(bytes(32)))
    other_client = dict(mine)
    results = page.evaluate(
        """async ([key, conversationId, clientId, messages]) => {
          const s = window.scheme;
          const aes = await s.aesKey(s.b64decode(key));
          const out = [];
          for (const [e2e, id] of messages) {
            try {
              const found = { key: aes, conversationId, clientId: id, e2e };
              const payload = await s.decryptMessage(found);
              out.push(payload.text);
            }
            catch (error) { out.push(error.code); }
          }
          return out;
        }""",
        [
            scheme.b64(key),
            CONVERSATION,
            client_id,
            [[mine, client_id], [tampered, client_id], [other_client, str(uuid.uuid4())]],
        ],
    )
    assert results == ["from Python", "bad_franking_tag", "decrypt_failed"]

    content = os.urandom(5000)
    sealed = page.evaluate(
        """async ([bytes, conversationId]) => {
          const s = window.scheme;
          const out = await s.encryptFile(s.b64decode(bytes), conversationId);
          const back = await s.decryptFile(out.ciphertext, out, conversationId);
          return { ...out, ciphertext: s.b64encode(out.ciphertext), back: s.b64encode(back) };
        }""",
        [scheme.b64(content), CONVERSATION],
    )
    opened_file = scheme.decrypt_file(
        scheme.unb64(sealed["ciphertext"]), sealed, conversation_id=CONVERSATION
    )
    assert opened_file == content
    assert scheme.unb64(sealed["back"]) == content


def test_codes_numbers_and_recovery_agree(page):
    user_a, user_b = str(uuid.uuid4()), str(uuid.uuid4())
    devices = [DeviceKeys(user_id=user_a).public() for _ in range(3)]
    statement = scheme.device_statement(
        user_a, devices[0]["id"], devices[0]["ecdh_public"], devices[0]["signing_public"]
    )
    got = page.evaluate(
        """async ([userA, userB, devices]) => {
          const s = window.scheme;
          const d = devices[0];
          const code = await s.approvalCode(s.deviceStatement({ userId: userA, deviceId: d.id,
            ecdhPublic: d.ecdh_public, signingPublic: d.signing_public }));
          const a = await s.fingerprint(userA, devices);
          const b = await s.fingerprint(userB, devices.slice(1));
          const pa = { userId: userA, fingerprint: a };
          const pb = { userId: userB, fingerprint: b };
          const number = s.safetyNumber(pb, pa);
          return { code, number, groups: s.groupDigits(s.safetyNumber(pa, pb)) };
        }""",
        [user_a, user_b, devices],
    )
    # Shown in two groups of three, as docs/e2e.md writes it (`042 917`).
    code = scheme.approval_code(statement)
    assert got["code"] == f"{code[:3]} {code[3:]}"
    expected = scheme.safety_number(user_a, devices, user_b, devices[1:])
    assert got["number"] == expected and len(expected) == 60
    assert got["groups"] == [expected[i : i + 5] for i in range(0, 60, 5)]

    sealed = page.evaluate(
        """async (userId) => {
          const s = window.scheme;
          const recoveryKey = s.makeRecoveryKey();
          const device = await s.makeDeviceKeys({ extractable: true });
          const backup = await s.sealRecovery({ recoveryKey, userId, deviceId: 'rec-1',
            ecdhPrivate: device.ecdhPrivate, signingPrivate: device.signingPrivate });
          const typed = recoveryKey.toLowerCase();
          const opened = await s.openRecovery({ recoveryKey: typed, userId, backup });
          const proof = await s.sign(opened.signingPrivate, new TextEncoder().encode('proof'));
          let wrong = 'opened';
          const bad = 'AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA';
          try { await s.openRecovery({ recoveryKey: bad, userId, backup }); }
          catch (error) { wrong = error.code; }
          const { ecdhPublic, signingPublic } = device;
          return { recoveryKey, backup, proof, wrong, ecdhPublic, signingPublic };
        }""",
        user_a,
    )
    assert len(sealed["recoveryKey"]) == 39 and sealed["recoveryKey"].count("-") == 7
    assert (
        sealed["backup"]["iterations"] == 600_000
        and len(scheme.unb64(sealed["backup"]["salt"])) == 16
    )
    assert sealed["wrong"] == "wrong_recovery_key"
    secrets = scheme.open_recovery(sealed["backup"], sealed["recoveryKey"], user_id=user_a)
    assert json.loads(json.dumps(secrets)).keys() == {"ecdh_private", "signing_private"}
    recovered = scheme.decrypt_recovery(sealed["backup"], sealed["recoveryKey"], user_id=user_a)
    assert recovered.ecdh_public == sealed["ecdhPublic"]
    assert recovered.signing_public == sealed["signingPublic"]
    assert scheme.verify(sealed["signingPublic"], b"proof", sealed["proof"])
