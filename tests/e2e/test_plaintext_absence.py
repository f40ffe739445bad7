"""During an encrypted exchange through a real server process (messages,
an edit, a file, a missed-message email to a member who is offline), none
of the plaintext reaches PostgreSQL, Redis (its traffic and its keys), the
file storage or the emails; the clients do read it. A plain message sent
alongside shows every one of those readers finds what is there."""

import email
import email.policy
import os
import socket
import subprocess
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings

from tests.e2e.conftest import start_server
from tests.notifications.mailserver import MailServer
from tests.servers import test_database_url as database_url_of_the_run

pytestmark = [pytest.mark.services]


def marker(what: str) -> str:
    return f"{what}-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def watched(tmp_path_factory, django_db_setup, django_db_blocker):
    """A server whose file storage and outgoing mail this module reads:
    a folder of its own, and the real SMTP test server."""
    root = tmp_path_factory.mktemp("plaintext")
    media = root / "media"
    media.mkdir()
    smtp = MailServer(root / "mail")
    with django_db_blocker.unblock():
        server = start_server(
            MEDIA_ROOT=str(media),
            EMAIL_URL=smtp.url,
            PARLEY_MISSED_EMAIL_DELAY_SECONDS="0",
        )
    yield server, media, smtp
    server.stop()
    smtp.stop()


class RedisMonitor(threading.Thread):
    """Every command Redis runs while it listens (``MONITOR``), as the
    bytes Redis reports them."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        parts = urlsplit(url)
        self.connection = socket.create_connection((parts.hostname, parts.port or 6379))
        self.connection.sendall(b"MONITOR\r\n")
        self.buffer = bytearray()
        while b"+OK\r\n" not in self.buffer:
            self.buffer += self.connection.recv(1024)
        self.connection.settimeout(0.2)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                data = self.connection.recv(1 << 16)
            except TimeoutError:
                continue
            if not data:
                return
            self.buffer += data

    def stop(self) -> bytes:
        """Everything up to a last command of our own, seen last."""
        end = marker("monitor-end").encode()
        client = redis.Redis.from_url(settings.REDIS_URL)
        client.echo(end)
        client.close()
        for _ in range(500):
            if end in self.buffer:
                break
            self.stopping.wait(0.02)
        self.stopping.set()
        self.join()
        self.connection.close()
        assert end in self.buffer, "MONITOR saw nothing"
        return bytes(self.buffer)


def redis_contents() -> bytes:
    """Every key of the test's Redis database and its value, whatever its type."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    out = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        out.append(key)
        if kind == "string":
            value = client.get(key)
            out.append(value or b"")
        elif kind == "hash":
            for field, value in client.hgetall(key).items():
                out += [field, value]
        elif kind == "list":
            out += client.lrange(key, 0, -1)
        elif kind == "set":
            out += list(client.smembers(key))
        elif kind == "zset":
            out += client.zrange(key, 0, -1)
        elif kind == "stream":
            for _id, fields in client.xrange(key):
                for field, value in fields.items():
                    out += [field, value]
    client.close()
    return b"\n".join(out)


def database_dump() -> bytes:
    """The test database, every row of every table (``pg_dump``)."""
    result = subprocess.run(
        ["pg_dump", "--data-only", "--no-owner", "--dbname", database_url_of_the_run()],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return result.stdout


def stored_files(media: Path) -> bytes:
    found = []
    for path in media.rglob("*"):
        found.append(str(path.relative_to(media)).encode())
        if path.is_file():
            found.append(path.read_bytes())
    return b"\n".join(found)


def sent_emails(smtp: MailServer) -> list[bytes]:
    """Each email as received, and every part of it decoded."""
    out = []
    for path in sorted(smtp.folder.glob("*.eml")):
        raw = path.read_bytes()
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        parts = [raw, str(parsed["Subject"]).encode()]
        for part in parsed.walk():
            payload = part.get_payload(decode=True)
            if payload:
                parts.append(payload)
        out.append(b"\n".join(parts))
    return out


def found(markers: dict[str, str], haystack: bytes) -> list[str]:
    return [name for name, value in markers.items() if value.encode() in haystack]


def test_no_plaintext_leaves_the_clients(people, watched):
    server, media, smtp = watched
    alice, bob, carol, dan = people("Alice", "Bob", "Carol", "Dan", server=server)
    secret = {
        "message": marker("socket-message"),
        "rest_message": marker("rest-message"),
        "edit": marker("edited-words"),
        "file_content": marker("file-bytes"),
        "file_name": marker("file-name"),
        "direct": marker("direct-to-offline-dan"),
    }
    control = marker("plain-control")

    for person in (alice, bob, carol, dan):
        person.first_device()
    monitor = RedisMonitor(settings.REDIS_URL)
    monitor.start()
    try:
        group = alice.create_conversation([bob, carol], title="Complaint")
        alice.rotate(group)
        alice.connect()
        bob.connect()

        sent, _ = alice.send_socket(group, f"I want to report {secret['message']}")
        live = bob.socket.wait_for(
            lambda f: f["type"] == "message.new" and f["message"]["id"] == sent["id"]
        )
        document = f"%PDF-1.7 {secret['file_content']} ".encode() * 200
        entry = bob.upload(
            group, document, name=f"{secret['file_name']}.pdf", content_type="application/pdf"
        )
        with_file, _ = bob.send_rest(group, f"see {secret['rest_message']}", files=[entry])
        body, _ = alice.encrypt(group, f"rather: {secret['edit']}", client_id=sent["client_id"])
        edited = alice.call("PATCH", f"messages/{sent['id']}/", json={"e2e": body["e2e"]})

        # Dan is offline: his direct conversation's message gets him an email.
        direct = alice.create_conversation([dan], kind="direct")
        alice.rotate(direct)
        to_dan, _ = alice.send_rest(direct, f"Dan, {secret['direct']}")
        emails = smtp.wait_for(1)
        assert emails, "the offline member got no email"

        # A plain conversation beside it: its text is where the readers look.
        plain = alice.call(
            "POST",
            "conversations/",
            json={"type": "group", "title": "Plain", "participant_ids": [bob.user_id]},
        )
        alice.call(
            "POST",
            f"conversations/{plain['id']}/messages/",
            json={"client_id": str(uuid.uuid4()), "content": control},
        )
        bob.socket.wait_for(
            lambda f: f["type"] == "message.new" and f["message"].get("content") == control
        )
    finally:
        traffic = monitor.stop()

    # The clients read every secret.
    assert secret["message"] in bob.read(live["message"])["text"]
    assert secret["edit"] in carol.read(edited)["text"]
    read = alice.read(with_file)
    assert secret["rest_message"] in read["text"]
    assert secret["file_name"] in read["files"][0]["name"]
    assert secret["file_content"].encode() in alice.open_file(with_file, read["files"][0])
    dan.fetch_keys(direct)
    assert secret["direct"] in dan.read(to_dan)["text"]

    dump = database_dump()
    assert control.encode() in dump
    assert found(secret, dump) == []

    assert control.encode() in traffic
    assert found(secret, traffic) == []
    assert found(secret, redis_contents()) == []

    files = stored_files(media)
    assert len(files) > len(document), "the encrypted upload is in the storage"
    assert found(secret, files) == []

    mails = sent_emails(smtp)
    assert any(dan_address(dan) in mail for mail in mails)
    # Nor the server's own log.
    assert found(secret, server.log_path.read_bytes()) == []
    for mail in mails:
        assert found(secret, mail) == []
        assert b"encrypted" in mail.lower()


def dan_address(person) -> bytes:
    from accounts.models import User

    return User.objects.get(pk=person.user_id).email.encode()


def test_the_readers_find_plaintext_when_it_is_there(watched):
    """The scanners above can fail: a marker put in each place is found."""
    _server, media, smtp = watched
    planted = marker("planted")
    (media / "planted.txt").write_bytes(planted.encode())
    try:
        assert found({"p": planted}, stored_files(media)) == ["p"]
    finally:
        os.remove(media / "planted.txt")
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.hset(f"{settings.REDIS_KEY_PREFIX}:planted", "field", planted)
    try:
        assert found({"p": planted}, redis_contents()) == ["p"]
    finally:
        client.delete(f"{settings.REDIS_KEY_PREFIX}:planted")
        client.close()
