"""The WebSocket handshake is accepted only from the site's own origin
(scheme, host and port exactly) or an origin in ``CSRF_TRUSTED_ORIGINS``;
anything else is refused with HTTP 403 before a socket exists
(docs/protocol.md, Connecting). Against a real server process."""

import pytest

from config.origins import origin_allowed
from tests.security.conftest import handshake_status


def on_a_real_server(test):
    return pytest.mark.services(pytest.mark.django_db(transaction=True)(test))


@on_a_real_server
async def test_the_sites_own_origin_is_accepted(real_server):
    assert await handshake_status(real_server, origin=real_server.http_url) == 101
    same_port_by_name = f"http://localhost:{real_server.port}"
    # The Host header names 127.0.0.1: localhost is another origin.
    assert await handshake_status(real_server, origin=same_port_by_name) == 403


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:9999",  # same host, another port
        "https://127.0.0.1:{port}",  # same host and port, another scheme
        "ftp://127.0.0.1",
        "ftp://127.0.0.1:{port}",
        "http://127.0.0.1",  # same host, default port
        "http://evil.example",
        "null",
        None,  # no Origin header
    ],
    ids=[
        "other-port",
        "other-scheme",
        "ftp",
        "ftp-same-port",
        "default-port",
        "foreign-host",
        "null",
        "missing",
    ],
)
@on_a_real_server
async def test_any_other_origin_is_refused_at_the_handshake(real_server, origin):
    if origin is not None:
        origin = origin.format(port=real_server.port)
    assert await handshake_status(real_server, origin=origin) == 403


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:{port}.evil.example", "", "http://"],
    ids=["suffix", "empty", "no-host"],
)
@on_a_real_server
async def test_a_malformed_origin_is_refused(real_server, origin):
    """daphne itself answers 400 to an Origin it cannot parse; Parley's own
    check refuses it too (below), whichever server runs in front."""
    origin = origin.format(port=real_server.port)
    assert await handshake_status(real_server, origin=origin) in (400, 403)
    scope = {
        "type": "websocket",
        "scheme": "ws",
        "headers": [
            (b"host", f"127.0.0.1:{real_server.port}".encode()),
            (b"origin", origin.encode()),
        ],
    }
    assert not origin_allowed(scope)
    scope["headers"][1] = (b"origin", real_server.http_url.encode())
    assert origin_allowed(scope)


@on_a_real_server
async def test_csrf_trusted_origins_are_accepted_exactly(asgi_server):
    server = asgi_server(
        extra_env={"CSRF_TRUSTED_ORIGINS": "https://chat.example.edu,https://*.school.example"}
    )
    assert await handshake_status(server, origin="https://chat.example.edu") == 101
    assert await handshake_status(server, origin="https://chat.example.edu:443") == 101
    assert await handshake_status(server, origin="https://room.school.example") == 101
    assert await handshake_status(server, origin="http://chat.example.edu") == 403
    assert await handshake_status(server, origin="https://chat.example.edu:8443") == 403
    assert await handshake_status(server, origin="https://school.example.evil") == 403
    # The site's own origin still is.
    assert await handshake_status(server, origin=server.http_url) == 101


# --- The check itself, on handshake scopes -------------------------------------------------


def scope(origin: str | None, *, host: str | None = "chat.example.edu", scheme="ws", extra=()):
    headers = [(b"host", host.encode())] if host is not None else []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": [*headers, *extra]}


@pytest.fixture
def deployed(settings):
    settings.ALLOWED_HOSTS = ["chat.example.edu"]
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.SECURE_PROXY_SSL_HEADER = None
    return settings


def test_same_origin_needs_the_scheme_of_the_socket(deployed):
    assert origin_allowed(scope("http://chat.example.edu"))
    assert origin_allowed(scope("http://chat.example.edu:80"))
    assert not origin_allowed(scope("https://chat.example.edu"))
    assert origin_allowed(scope("https://chat.example.edu", scheme="wss"))
    assert not origin_allowed(scope("http://chat.example.edu", scheme="wss"))


def test_a_host_outside_allowed_hosts_has_no_own_origin(deployed):
    assert not origin_allowed(scope("http://evil.example", host="evil.example"))
    assert not origin_allowed(scope("http://chat.example.edu", host=None))


def test_behind_a_trusted_proxy_its_forwarded_scheme_counts(deployed):
    forwarded = ((b"x-forwarded-proto", b"https"),)
    # Without a configured proxy the header is the client's word: ignored.
    assert not origin_allowed(scope("https://chat.example.edu", extra=forwarded))
    deployed.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert origin_allowed(scope("https://chat.example.edu", extra=forwarded))
    assert not origin_allowed(scope("http://chat.example.edu", extra=forwarded))


def test_a_proxy_that_rewrites_the_host_lists_the_public_origin(deployed):
    deployed.ALLOWED_HOSTS = ["chat.example.edu", "parley-web"]
    behind = scope("https://chat.example.edu", host="parley-web:8000")
    assert not origin_allowed(behind)
    deployed.CSRF_TRUSTED_ORIGINS = ["https://chat.example.edu"]
    assert origin_allowed(behind)


def test_two_origin_headers_are_refused(deployed):
    twice = scope("http://chat.example.edu", extra=((b"origin", b"http://chat.example.edu"),))
    assert not origin_allowed(twice)


def test_http_requests_are_not_checked_here():
    import asyncio

    from messaging.realtime.handshake import SocketHandshake

    seen = []

    async def app(scope, receive, send):
        seen.append(scope)

    http = {"type": "http", "headers": []}
    asyncio.run(SocketHandshake(app)(http, None, None))
    assert seen == [http]
