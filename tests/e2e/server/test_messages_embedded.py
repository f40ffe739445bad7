"""Encrypted sends on the embedded default (SQLite): the key-state check
is raw SQL, so its ids must reach SQLite as SQLite stores them; a stale
key and another person's device are refused there as on PostgreSQL."""

from tests.messaging.helpers import embedded_manage

CHECK = """
import base64, os, uuid
from accounts.models import User
from messaging import services
from messaging.e2e.errors import E2eKeyStale
from messaging.e2e.models import Device, EncryptedConversation
from messaging.errors import InvalidInput
maria = User.objects.get(email="maria@parley.test")
sam = User.objects.get(email="sam@parley.test")
group = services.create_conversation(
    creator=maria, kind="group", participants=[sam], title="Welfare", encrypted=True)
EncryptedConversation.objects.filter(conversation=group).update(
    key_version=1, rotation_required=False)
def device(user):
    return Device.objects.create(id=uuid.uuid4(), user=user, status="active",
                                 ecdh_public="BA==", signing_public="BA==")
sams, marias = device(sam), device(maria)
def b64(n):
    return base64.b64encode(os.urandom(n)).decode()
def e2e(dev, version=1):
    return {"key_version": version, "device_id": str(dev.pk), "nonce": b64(12),
            "ciphertext": b64(40), "franking_tag": b64(32)}
def send(body):
    return services.send_message(sender=sam, conversation_id=group.pk, content="",
                                 client_id=uuid.uuid4(), e2e=body)
sent = send(e2e(sams))
assert sent.created and sent.message.message_type == "encrypted", sent
assert sent.message.content == "" and sent.message.metadata["e2e"]["key_version"] == 1
try:
    send(e2e(sams, version=2))
    raise AssertionError("a stale key was taken")
except E2eKeyStale:
    pass
try:
    send(e2e(marias))
    raise AssertionError("another person's device was taken")
except InvalidInput:
    pass
print("embedded e2e ok")
"""


def test_encrypted_send_on_sqlite(tmp_path):
    manage = embedded_manage(tmp_path)
    manage("migrate", "--noinput", "-v", "0")
    manage("seed_demo")
    assert "embedded e2e ok" in manage("shell", "-c", CHECK)
