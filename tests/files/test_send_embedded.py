"""Sending with files on the embedded default (SQLite): the claim runs
before the message row exists (its foreign key is checked at commit), so
this checks that SQLite defers it too, and that resends and refusals work
there as on PostgreSQL."""

from tests.messaging.helpers import embedded_manage

CHECK = """
import uuid
from accounts.models import User
from messaging import events, services
from messaging.errors import ClientIdConflict, InvalidInput
from messaging.files.models import Attachment
maria = User.objects.get(email="maria@parley.test")
sam = User.objects.get(email="sam@parley.test")
direct = services.create_conversation(creator=maria, kind="direct", participants=[sam])
def upload():
    return Attachment.objects.create(
        conversation=direct, uploader=sam, original_name="a.png", name="a.png", size=3,
        content_type="image/png", kind="image", sha256="0" * 64, storage_key="k")
a, b = upload(), upload()
key = uuid.uuid4()
def send(ids, client_id=key):
    return services.send_message(sender=sam, conversation_id=direct.pk, content="",
                                 client_id=client_id, attachment_ids=[x.pk for x in ids])
first = send([a])
assert first.created and first.message.message_type == "image"
assert [x["id"] for x in events.message_payload(first.message)["attachments"]] == [str(a.pk)]
again = send([a])
assert not again.created and again.message.pk == first.message.pk
try:
    send([b])
    raise AssertionError("conflict not refused")
except ClientIdConflict:
    pass
try:
    send([b, a], client_id=uuid.uuid4())
    raise AssertionError("an upload was sent twice")
except InvalidInput:
    pass
assert Attachment.objects.get(pk=b.pk).message_id is None
assert Attachment.objects.get(pk=a.pk).message_id == first.message.pk
print("embedded files ok")
"""


def test_send_with_files_on_sqlite(tmp_path):
    manage = embedded_manage(tmp_path)
    manage("migrate", "--noinput", "-v", "0")
    manage("seed_demo")
    assert "embedded files ok" in manage("shell", "-c", CHECK)
