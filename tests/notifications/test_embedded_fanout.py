"""The embedded default (SQLite, in-memory layer, eager Celery: ``make run``
with nothing else) notifies too: the fan-out runs in-process after commit,
through SQLite's portable path."""

from tests.messaging.helpers import embedded_manage

CHECK = """
import uuid
from accounts.models import User
from messaging import services
from notifications.models import Notification
sam = User.objects.get(email="sam@parley.test")
maria = User.objects.get(email="maria@parley.test")
mention = Notification.objects.get(user=sam, kind="mention")
assert mention.in_app and mention.read_at is None, mention
direct = services.create_conversation(creator=maria, kind="direct", participants=[sam])
message = services.send_message(sender=maria, conversation_id=direct.pk, content="ping",
                                client_id=uuid.uuid4()).message
assert Notification.objects.filter(user=sam, message=message, kind="direct").count() == 1
services.mark_read(user=sam, conversation_id=direct.pk, up_to_seq=message.seq)
assert Notification.objects.get(user=sam, message=message).read_at is not None
print("embedded notifications ok")
"""


def test_embedded_default_notifies_on_sqlite(tmp_path):
    manage = embedded_manage(tmp_path)
    manage("migrate", "--noinput", "-v", "0")
    manage("seed_demo")
    out = manage("shell", "-c", CHECK)
    assert "embedded notifications ok" in out
