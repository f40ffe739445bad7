"""The video-call providers, each against what its own documentation
says: Jitsi's token (decoded and verified with PyJWT), BigBlueButton's
checksums (computed here independently) and its create call (a real HTTP
server on 127.0.0.1 plays the BBB API: success, a refusal, no answer, no
server), and the link template."""

import hashlib
import http.server
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlsplit

import jwt
import pytest

from messaging.errors import ServiceUnavailable
from messaging.integrations.meetings import providers
from messaging.integrations.meetings.providers import (
    BigBlueButtonProvider,
    JitsiProvider,
    LinkProvider,
    MeetingsOff,
    Participant,
    Room,
)

SECRET = "jitsi-shared-secret-for-the-tests-0123456789"
ROOM = Room(
    name="parley0123456789abcdef0123456789abcdef",
    title="Weekly check-in",
    starts_at=datetime.now(UTC),
    duration_minutes=60,
)
MARIA = Participant(id="u-maria", name="María Mentor", email="maria@parley.test", moderator=True)
SAM = Participant(id="u-sam", name="Sam Student", email="sam@parley.test", moderator=False)


# --- Jitsi ---------------------------------------------------------------------------


def _token(url: str) -> str:
    query = dict(parse_qsl(urlsplit(url).query))
    return query["jwt"]


def test_a_jitsi_join_url_carries_a_verifiable_token():
    jitsi = JitsiProvider(url="https://meet.example.org/", app_id="parley-app", secret=SECRET)
    url = jitsi.join_url(ROOM, MARIA)
    assert url.startswith(f"https://meet.example.org/{ROOM.name}?jwt=")
    claims = jwt.decode(
        _token(url),
        SECRET,
        algorithms=["HS256"],
        audience="jitsi",
        issuer="parley-app",
        options={"require": ["exp", "aud", "iss", "sub", "room"]},
    )
    assert claims["sub"] == "meet.example.org"
    assert claims["room"] == ROOM.name
    assert claims["exp"] > time.time() + 3000
    assert claims["context"]["user"] == {
        "id": "u-maria",
        "name": "María Mentor",
        "email": "maria@parley.test",
        "moderator": "true",
    }
    assert jwt.get_unverified_header(_token(url))["alg"] == "HS256"


def test_only_the_starter_is_a_jitsi_moderator():
    jitsi = JitsiProvider(url="https://meet.example.org", app_id="parley-app", secret=SECRET)
    claims = jwt.decode(
        _token(jitsi.join_url(ROOM, SAM)), SECRET, algorithms=["HS256"], audience="jitsi"
    )
    assert claims["context"]["user"]["moderator"] == "false"
    assert claims["context"]["user"]["name"] == "Sam Student"


def test_a_jitsi_token_fails_verification_with_another_secret():
    jitsi = JitsiProvider(url="https://meet.example.org", app_id="parley-app", secret=SECRET)
    token = _token(jitsi.join_url(ROOM, SAM))
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "not-the-secret-" + "x" * 32, algorithms=["HS256"], audience="jitsi")


def test_a_jitsi_token_outlives_a_long_call_but_expires():
    jitsi = JitsiProvider(url="https://meet.example.org", app_id="parley-app", secret=SECRET)
    long_ago = Room(
        name=ROOM.name,
        title="",
        starts_at=datetime.now(UTC) - timedelta(days=2),
        duration_minutes=60,
    )
    claims = jwt.decode(
        _token(jitsi.join_url(long_ago, SAM)), SECRET, algorithms=["HS256"], audience="jitsi"
    )
    # An old call is still joinable for an hour from now, not forever.
    assert time.time() + 3000 < claims["exp"] < time.time() + 4000


def test_without_a_token_the_name_goes_in_the_fragment():
    jitsi = JitsiProvider(url="https://meet.jit.si")
    assert not jitsi.uses_tokens
    url = jitsi.join_url(ROOM, SAM)
    assert url == f"https://meet.jit.si/{ROOM.name}#userInfo.displayName=%22Sam%20Student%22"
    assert "jwt" not in url


def test_room_names_are_unguessable_and_plain():
    names = {providers.new_room_name() for _ in range(200)}
    assert len(names) == 200
    for name in names:
        assert name.startswith("parley") and len(name) == len("parley") + 32
        assert name.isalnum() and name == name.lower()


# --- BigBlueButton ---------------------------------------------------------------------

BBB_SECRET = "8cd8ef52e8e101574e400365b55e11a6"


def _documented_checksum(call: str, url: str, algorithm: str) -> str:
    """The BBB API's checksum, from its documentation: the hash of the
    call's name, the query string without the checksum, and the secret."""
    query = urlsplit(url).query
    without = query[: query.index("&checksum=")]
    return getattr(hashlib, algorithm)((call + without + BBB_SECRET).encode("utf-8")).hexdigest()


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_bbb_create_and_join_urls_carry_the_documented_checksum(algorithm):
    bbb = BigBlueButtonProvider(
        url="https://bbb.example.org/bigbluebutton/api/", secret=BBB_SECRET, checksum=algorithm
    )
    create = bbb.create_url(ROOM)
    assert create.startswith("https://bbb.example.org/bigbluebutton/api/create?")
    params = dict(parse_qsl(urlsplit(create).query))
    assert params["checksum"] == _documented_checksum("create", create, algorithm)
    assert params["meetingID"] == ROOM.name and params["name"] == "Weekly check-in"
    assert params["attendeePW"] != params["moderatorPW"]

    moderator = bbb.join_url(ROOM, MARIA)
    attendee = bbb.join_url(ROOM, SAM)
    for url, role, password in (
        (moderator, "MODERATOR", params["moderatorPW"]),
        (attendee, "VIEWER", params["attendeePW"]),
    ):
        assert url.startswith("https://bbb.example.org/bigbluebutton/api/join?")
        joined = dict(parse_qsl(urlsplit(url).query))
        assert joined["checksum"] == _documented_checksum("join", url, algorithm)
        assert joined["meetingID"] == ROOM.name
        assert joined["role"] == role and joined["password"] == password
    assert dict(parse_qsl(urlsplit(moderator).query))["fullName"] == "María Mentor"


def test_a_known_bbb_checksum():
    # Worked by hand: sha1("create" + "meetingID=Test" + secret).
    expected = hashlib.sha1(f"createmeetingID=Test{BBB_SECRET}".encode()).hexdigest()  # noqa: S324
    assert providers.bbb_checksum("create", "meetingID=Test", BBB_SECRET) == expected


class _BBB(http.server.BaseHTTPRequestHandler):
    """A BBB API: answers create as told by the server's ``mode``."""

    def do_GET(self):  # noqa: N802 - http.server's name
        server = self.server
        server.calls.append(self.path)
        if server.mode == "hang":
            server.release.wait(10)
            return
        code = "SUCCESS" if server.mode == "ok" else "FAILED"
        call = urlsplit(self.path).path.rsplit("/", 1)[-1]
        query = urlsplit(self.path).query
        without, _, checksum = query.rpartition("&checksum=")
        valid = checksum == hashlib.sha1(f"{call}{without}{BBB_SECRET}".encode()).hexdigest()  # noqa: S324
        if not valid:
            code = "FAILED"
        body = f"<response><returncode>{code}</returncode></response>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def bbb_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BBB)
    server.daemon_threads = True
    server.calls = []
    server.mode = "ok"
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def _bbb_at(server, timeout=2.0, secret=BBB_SECRET):
    host, port = server.server_address
    return BigBlueButtonProvider(
        url=f"http://{host}:{port}/bigbluebutton/api/", secret=secret, timeout=timeout
    )


def test_bbb_create_is_called_with_a_valid_checksum(bbb_server):
    bbb_server.mode = "ok"
    bbb_server.calls.clear()
    _bbb_at(bbb_server).prepare(ROOM)
    assert len(bbb_server.calls) == 1
    assert bbb_server.calls[0].startswith("/bigbluebutton/api/create?")
    assert f"meetingID={ROOM.name}" in bbb_server.calls[0]


def test_bbb_refusing_create_is_a_clear_error(bbb_server):
    bbb_server.mode = "ok"
    # The server checks the checksum: a wrong secret is refused.
    with pytest.raises(ServiceUnavailable) as refused:
        _bbb_at(bbb_server, secret="wrong").prepare(ROOM)
    assert refused.value.code == "unavailable"
    assert "refused" in refused.value.message
    bbb_server.mode = "fail"
    with pytest.raises(ServiceUnavailable):
        _bbb_at(bbb_server).prepare(ROOM)


def test_bbb_not_answering_in_time_is_unavailable(bbb_server):
    bbb_server.mode = "hang"
    try:
        with pytest.raises(ServiceUnavailable) as refused:
            _bbb_at(bbb_server, timeout=0.3).prepare(ROOM)
    finally:
        bbb_server.mode = "ok"
    assert "did not answer" in refused.value.message
    assert refused.value.fields()["retry_after"] > 0


def test_bbb_down_is_unavailable():
    # A port nothing listens on: bound, then closed.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bbb = BigBlueButtonProvider(
        url=f"http://127.0.0.1:{port}/bigbluebutton/api/", secret=BBB_SECRET, timeout=1
    )
    with pytest.raises(ServiceUnavailable):
        bbb.prepare(ROOM)


# --- The link template, and the settings ----------------------------------------------


def test_the_link_template_substitutes_the_room_only():
    link = LinkProvider(template="https://zoom.example/j/{room}?pwd={password}")
    assert link.join_url(ROOM, SAM) == f"https://zoom.example/j/{quote(ROOM.name)}?pwd={{password}}"
    fixed = LinkProvider(template="https://teams.example/l/standing-room")
    assert fixed.join_url(ROOM, MARIA) == "https://teams.example/l/standing-room"


@pytest.mark.parametrize(
    ("provider", "changes"),
    [
        ("", {}),
        ("skype", {}),
        ("link", {"LINK_TEMPLATE": ""}),
        ("link", {"LINK_TEMPLATE": "javascript:alert(1)//{room}"}),
        ("jitsi", {"JITSI_URL": "meet.example.org"}),
        ("bigbluebutton", {"BBB_URL": "https://bbb.example.org/bigbluebutton/api/"}),
        (
            "bigbluebutton",
            {
                "BBB_URL": "https://b.example/bigbluebutton/api/",
                "BBB_SECRET": "s",
                "BBB_CHECKSUM": "md5",
            },
        ),
    ],
)
def test_calls_are_off_without_a_usable_provider(settings, provider, changes):
    settings.PARLEY_MEETINGS = {**settings.PARLEY_MEETINGS, "PROVIDER": provider, **changes}
    with pytest.raises(MeetingsOff):
        providers.configured()
    assert providers.enabled() is False


def test_the_configured_provider(settings):
    settings.PARLEY_MEETINGS = {**settings.PARLEY_MEETINGS, "PROVIDER": "JITSI "}
    assert providers.configured().name == "jitsi"
    settings.PARLEY_MEETINGS = {
        **settings.PARLEY_MEETINGS,
        "PROVIDER": "bigbluebutton",
        "BBB_URL": "https://bbb.example.org/bigbluebutton/api",
        "BBB_SECRET": BBB_SECRET,
    }
    configured = providers.configured()
    assert configured.name == "bigbluebutton"
    assert configured.join_url(ROOM, SAM).startswith(
        "https://bbb.example.org/bigbluebutton/api/join?"
    )
