"""The embedded profile (``PARLEY_PROFILE=embedded`` and nothing else:
SQLite, in-memory layer, as ``make run`` starts it) runs the same services
through their portable path; CI's PostgreSQL run would not touch it
otherwise."""

from tests.messaging.helpers import embedded_manage

CHECK = """
import uuid
from accounts.models import User
from messaging import services
from messaging.errors import ClientIdConflict, NotFound
from messaging.models import Conversation, Message
maria = User.objects.get(email="maria@parley.test")
sam = User.objects.get(email="sam@parley.test")
direct = services.create_conversation(creator=maria, kind="direct", participants=[sam])
client_id = uuid.uuid4()
def send(content, conversation_id=direct.pk, key=client_id):
    return services.send_message(sender=sam, conversation_id=conversation_id,
                                 content=content, client_id=key)
first, again = send("hi"), send("hi")
assert first.created and not again.created and again.message.pk == first.message.pk
try:
    send("other")
    raise AssertionError("conflict not refused")
except ClientIdConflict:
    pass
try:
    send("x", conversation_id=uuid.uuid4(), key=uuid.uuid4())
    raise AssertionError("unknown conversation accepted")
except NotFound:
    pass
for conversation in Conversation.objects.all():
    seqs = list(conversation.messages.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, conversation.last_seq + 1)), (conversation, seqs)
print("embedded ok", Message.objects.count())
"""


def test_embedded_default_seeds_and_sends_on_sqlite(tmp_path):
    manage = embedded_manage(tmp_path)

    manage("migrate", "--noinput", "-v", "0")
    first = manage("seed_demo")
    assert "maria@parley.test" in first
    manage("seed_demo")  # idempotent
    assert (tmp_path / "parley.sqlite3").exists()
    out = manage("shell", "-c", CHECK)
    assert "embedded ok" in out
