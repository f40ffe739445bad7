"""The embedded profile (``PARLEY_PROFILE=embedded`` and nothing else:
SQLite, in-memory layer, as ``make run`` starts it) runs the same services
through their portable path; CI's PostgreSQL run would not touch it
otherwise."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

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
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "TEST_DATABASE_NAME")
    }
    env["PARLEY_PROFILE"] = "embedded"
    env["PARLEY_VAR_DIR"] = str(tmp_path)

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout

    manage("migrate", "--noinput", "-v", "0")
    first = manage("seed_demo")
    assert "maria@parley.test" in first
    manage("seed_demo")  # idempotent
    assert (tmp_path / "parley.sqlite3").exists()
    out = manage("shell", "-c", CHECK)
    assert "embedded ok" in out
