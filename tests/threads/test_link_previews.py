"""Link previews against a local HTTP server started by the test: the card
is fetched, its image re-encoded, and the same fetch is refused for local
and private addresses (in every spelling), redirects to them, oversize
pages and servers that never answer; the sender removes the card; only
members see its image."""

import asyncio
import io
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from messaging import events, policy, services
from messaging.errors import AccessDenied
from messaging.files import sniffing, storage
from messaging.models import AuditAction, AuditLog, Message
from messaging.threads import net, tasks
from messaging.threads.models import LinkPreview, PreviewState
from messaging.threads.services import previews
from tests.files import makers

pytestmark = [pytest.mark.django_db]

PNG = makers.png(120, 80, "purple")
# Bytes after the image's end: the stored image must not carry them.
PNG_WITH_TAIL = PNG + b"<html><script>alert(1)</script></html>"
PAGE = (
    "<!doctype html><html><head><title>Fallback title</title>"
    '<meta property="og:title" content="The &amp; Title">'
    '<meta property="og:description" content="  What the page\n is about ">'
    '<meta property="og:site_name" content="Example Site">'
    '<meta property="og:image" content="/image.png">'
    "</head><body><p>body</p></body></html>"
)


class _Handler(BaseHTTPRequestHandler):
    routes: dict = {}
    seen: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.seen.append((self.path, self.headers.get("Host")))
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        status, headers, body = route(self) if callable(route) else route
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if body is not None and not callable(body):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if callable(body):
            body(self.wfile)
        elif body:
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    """A local HTTP server: ``site.url(path)``, ``site.routes[path] =
    (status, headers, body)``; the requests it saw in ``site.seen``."""

    class Handler(_Handler):
        routes = {
            "/page": (200, {"Content-Type": "text/html; charset=utf-8"}, PAGE.encode()),
            "/image.png": (200, {"Content-Type": "image/png"}, PNG_WITH_TAIL),
        }
        seen = []

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]

    class Site:
        routes = Handler.routes
        seen = Handler.seen

        @staticmethod
        def url(path: str, host: str = "127.0.0.1") -> str:
            return f"http://{host}:{port}{path}"

    Site.port = port
    yield Site
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_server():
    """Accepts connections (the kernel's backlog) and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/page"
    listener.close()


@pytest.fixture
def previews_on(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PARLEY = {
        **settings.PARLEY,
        "LINK_PREVIEWS": True,
        "LINK_PREVIEW_ALLOW": ["127.0.0.1"],
        "LINK_PREVIEW_TIMEOUT_SECONDS": 3.0,
    }
    return settings


@pytest.fixture
def group(assigned):
    mentor, student = assigned
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Links"
    )


def send(sender, conversation, content, capture):
    """Send, committing the on-commit work (the task runs eagerly)."""
    with capture(execute=True):
        return services.send_message(
            sender=sender, conversation_id=conversation.pk, content=content, client_id=uuid.uuid4()
        ).message


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


# --- The card ------------------------------------------------------------------------


def test_a_sent_link_gets_its_card_with_a_reencoded_image(
    previews_on, site, group, assigned, django_capture_on_commit_callbacks
):
    mentor, student = assigned
    published = []
    original = events.publish
    events.publish = lambda group_name, frame, **kw: published.append(frame)  # type: ignore[assignment]
    try:
        message = send(
            mentor,
            group,
            f"look **here** {site.url('/page')} and there",
            django_capture_on_commit_callbacks,
        )
    finally:
        events.publish = original  # type: ignore[assignment]

    preview = LinkPreview.objects.get(message=message)
    assert preview.state == PreviewState.READY
    assert preview.url == site.url("/page")
    assert preview.title == "The & Title"
    assert preview.description == "What the page is about"
    assert preview.site_name == "Example Site"
    assert preview.image_name and preview.image_width and preview.image_height
    # The server was asked with the host as written, through the pinned address.
    assert ("/page", f"127.0.0.1:{site.port}") in site.seen
    assert ("/image.png", f"127.0.0.1:{site.port}") in site.seen

    frames = [f for f in published if f["type"] == "link_preview.updated"]
    assert len(frames) == 1
    card = frames[0]["link_preview"]
    assert card["title"] == "The & Title"
    assert card["image_url"] == f"/api/messages/{message.pk}/preview/image/"

    # Members fetch the image: re-encoded (not the bytes served), with safe headers.
    answer = client_for(student).get(card["image_url"])
    assert answer.status_code == 200
    body = b"".join(answer.streaming_content)
    assert body != PNG_WITH_TAIL and b"<script>" not in body
    assert answer["Content-Type"] in ("image/jpeg", "image/png")
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer["Content-Disposition"].startswith("inline")
    with Image.open(io.BytesIO(body)) as image:
        image.verify()
    with Image.open(io.BytesIO(body)) as image:
        assert image.format in ("JPEG", "PNG")
        assert image.size == (preview.image_width, preview.image_height)

    # The payload in history carries the card.
    listed = client_for(student).get(f"/api/conversations/{group.pk}/messages/")
    [row] = [m for m in listed.json()["messages"] if m["id"] == str(message.pk)]
    assert row["link_preview"]["title"] == "The & Title"


def test_running_the_task_again_changes_nothing(
    previews_on, site, group, assigned, django_capture_on_commit_callbacks
):
    mentor, _ = assigned
    message = send(mentor, group, site.url("/page"), django_capture_on_commit_callbacks)
    requests = len(site.seen)
    tasks.fetch_link_preview(str(message.pk))
    assert len(site.seen) == requests
    assert LinkPreview.objects.get(message=message).state == PreviewState.READY


def test_no_card_when_previews_are_off_or_there_is_no_link(
    settings, site, group, assigned, django_capture_on_commit_callbacks
):
    mentor, _ = assigned
    message = send(mentor, group, site.url("/page"), django_capture_on_commit_callbacks)
    assert not LinkPreview.objects.filter(message=message).exists()  # off by default
    settings.PARLEY = {**settings.PARLEY, "LINK_PREVIEWS": True}
    message = send(
        mentor,
        group,
        "no link, `http://x.example/` in code, mailto:a@b.example",
        django_capture_on_commit_callbacks,
    )
    assert not LinkPreview.objects.filter(message=message).exists()
    assert site.seen == []


def test_a_page_that_says_nothing_fails_and_shows_nothing(
    previews_on, site, group, assigned, django_capture_on_commit_callbacks
):
    mentor, student = assigned
    site.routes["/empty"] = (200, {"Content-Type": "text/html"}, b"<html><body>hi</body></html>")
    site.routes["/text"] = (200, {"Content-Type": "text/plain"}, b"<title>x</title>")
    for path in ("/empty", "/text", "/missing"):
        message = send(mentor, group, site.url(path), django_capture_on_commit_callbacks)
        assert LinkPreview.objects.get(message=message).state == PreviewState.FAILED, path
        answer = client_for(student).get(f"/api/messages/{message.pk}/preview/image/")
        assert answer.status_code == 404


def test_an_image_that_is_not_an_image_leaves_a_card_without_one(
    previews_on, site, group, assigned, django_capture_on_commit_callbacks
):
    mentor, _ = assigned
    site.routes["/image.png"] = (200, {"Content-Type": "image/png"}, b"<svg onload=alert(1)>")
    message = send(mentor, group, site.url("/page"), django_capture_on_commit_callbacks)
    preview = LinkPreview.objects.get(message=message)
    assert preview.state == PreviewState.READY and preview.image_name == ""


# --- Refused targets -----------------------------------------------------------------


def _refused(url: str, **kwargs) -> net.Refused:
    with pytest.raises(net.Refused) as refused:
        net.fetch(url, expect="page", max_bytes=65536, timeout=3.0, **kwargs)
    return refused.value


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "2130706433", "127.1", "0x7f.0.0.1", "[::ffff:127.0.0.1]", "[::1]"],
)
def test_local_addresses_are_refused_without_the_allow_list(settings, site, host):
    settings.PARLEY = {**settings.PARLEY, "LINK_PREVIEW_ALLOW": []}
    url = f"http://{host}:{site.port}/page"
    refused = _refused(url)
    assert refused.code == "address", (host, refused)
    assert site.seen == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
    ],
)
def test_private_link_local_multicast_and_metadata_addresses_are_refused(settings, url):
    settings.PARLEY = {**settings.PARLEY, "LINK_PREVIEW_ALLOW": ["127.0.0.1"]}
    assert _refused(url).code == "address"


def test_the_metadata_address_is_refused_even_when_its_range_is_allowed(settings):
    allowed = net.AllowList.parse(["169.254.0.0/16", "fd00::/8"])
    for url in ("http://169.254.169.254/", "http://[fd00:ec2::254]/"):
        assert _refused(url, allowed=allowed).code == "address"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://x/",
        "http://user:pw@example.com/",
        "nonsense",
    ],
)
def test_only_plain_http_and_https_urls(url):
    assert _refused(url).code == "scheme"


def test_a_public_address_on_another_port_is_refused():
    allowed = net.AllowList.parse([])
    with pytest.raises(net.Refused) as refused:
        net.check_url("http://8.8.8.8:6379/", deadline=net.Deadline(3), allowed=allowed)
    assert refused.value.code == "port"


def test_the_same_preview_is_refused_through_the_task(
    settings, site, group, assigned, tmp_path, django_capture_on_commit_callbacks
):
    """The whole path, not only net: without the allow-list a link to the
    test server by a name that resolves to it fails, and nothing is asked."""
    mentor, student = assigned
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PARLEY = {**settings.PARLEY, "LINK_PREVIEWS": True, "LINK_PREVIEW_ALLOW": []}
    for host in ("127.0.0.1", "localhost", "2130706433"):
        message = send(
            mentor, group, f"http://{host}:{site.port}/page", django_capture_on_commit_callbacks
        )
        assert LinkPreview.objects.get(message=message).state == PreviewState.FAILED, host
    assert site.seen == []


def test_a_redirect_to_a_private_address_is_refused(previews_on, site):
    site.routes["/to-private"] = (302, {"Location": "http://10.1.2.3/page"}, b"")
    site.routes["/to-metadata"] = (301, {"Location": "http://169.254.169.254/"}, b"")
    assert _refused(site.url("/to-private")).code == "address"
    assert _refused(site.url("/to-metadata")).code == "address"


def test_redirects_are_followed_up_to_three(previews_on, site):
    for n in range(1, 5):
        site.routes[f"/r{n}"] = (302, {"Location": f"/r{n + 1}"}, b"")
    site.routes["/r5"] = site.routes["/page"]
    site.routes["/s1"] = (307, {"Location": "/r3"}, b"")  # 3 redirects: r3, r4, r5
    fetched = net.fetch(site.url("/s1"), expect="page", max_bytes=65536, timeout=3.0)
    assert fetched.url.endswith("/r5") and b"og:title" in fetched.body
    assert _refused(site.url("/r1")).code == "too_many_redirects"


def test_an_oversize_page_is_cut(
    previews_on, site, group, assigned, django_capture_on_commit_callbacks
):
    mentor, _ = assigned
    head = PAGE.split("<body>")[0].encode() + b"<body>"

    def endless(out):
        # Far more than the limit; the fetch stops reading at the limit.
        try:
            for _ in range(2000):
                out.write(b"<p>" + b"x" * 4096 + b"</p>")
        except OSError:
            pass

    site.routes["/huge"] = (
        200,
        {"Content-Type": "text/html"},
        lambda out: (out.write(head), endless(out)),
    )
    previews_on.PARLEY = {**previews_on.PARLEY, "LINK_PREVIEW_MAX_BYTES": 16 * 1024}
    fetched = net.fetch(site.url("/huge"), expect="page", max_bytes=16 * 1024, timeout=3.0)
    assert fetched.truncated and len(fetched.body) == 16 * 1024
    message = send(mentor, group, site.url("/huge"), django_capture_on_commit_callbacks)
    assert LinkPreview.objects.get(message=message).title == "The & Title"
    # A title past the cut is not seen: nothing to show.
    site.routes["/late"] = (
        200,
        {"Content-Type": "text/html"},
        b"<html><head>" + b"<!--" + b"x" * 40_000 + b"-->" + b"<title>late</title></head></html>",
    )
    message = send(mentor, group, site.url("/late"), django_capture_on_commit_callbacks)
    assert LinkPreview.objects.get(message=message).state == PreviewState.FAILED


def test_an_oversize_image_is_refused(previews_on, site):
    site.routes["/big.png"] = (200, {"Content-Type": "image/png"}, PNG + b"\0" * 70_000)
    with pytest.raises(net.Refused) as refused:
        net.fetch(site.url("/big.png"), expect="image", max_bytes=65536, timeout=3.0)
    assert refused.value.code == "too_large"


def test_a_server_that_never_answers_fails_within_the_bound(
    previews_on, silent_server, group, assigned, django_capture_on_commit_callbacks
):
    mentor, _ = assigned
    previews_on.PARLEY = {
        **previews_on.PARLEY,
        "LINK_PREVIEW_TIMEOUT_SECONDS": 1.0,
    }
    started = time.monotonic()
    with pytest.raises(net.Refused) as refused:
        net.fetch(silent_server, expect="page", max_bytes=65536, timeout=1.0)
    assert refused.value.code == "timeout"
    message = send(mentor, group, silent_server, django_capture_on_commit_callbacks)
    assert LinkPreview.objects.get(message=message).state == PreviewState.FAILED
    # Two fetches of at most a second each; generous for a loaded machine,
    # far below a fetch without a bound (which would never return).
    assert time.monotonic() - started < 30


# --- Removal and the image's access ---------------------------------------------------


def test_the_sender_removes_the_card_and_nobody_else_may(
    previews_on, site, group, assigned, django_capture_on_commit_callbacks
):
    mentor, student = assigned
    message = send(mentor, group, site.url("/page"), django_capture_on_commit_callbacks)
    url = f"/api/messages/{message.pk}/preview/"

    refused = client_for(student).delete(url)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert LinkPreview.objects.get(message=message).state == PreviewState.READY

    published = []
    original = events.publish
    events.publish = lambda group_name, frame, **kw: published.append(frame)  # type: ignore[assignment]
    try:
        with django_capture_on_commit_callbacks(execute=True):
            answer = client_for(mentor).delete(url)
    finally:
        events.publish = original  # type: ignore[assignment]
    assert answer.status_code == 204
    preview = LinkPreview.objects.get(message=message)
    assert preview.state == PreviewState.REMOVED and preview.image_name == ""
    assert [f["link_preview"] for f in published if f["type"] == "link_preview.updated"] == [None]
    assert (
        AuditLog.objects.filter(
            action=AuditAction.PREVIEW_REMOVE, message_id=message.pk, actor=mentor
        ).count()
        == 1
    )
    # Gone for everyone; removing again changes nothing.
    assert client_for(student).get(f"{url}image/").status_code == 404
    assert client_for(mentor).delete(url).status_code == 204
    assert AuditLog.objects.filter(action=AuditAction.PREVIEW_REMOVE).count() == 1
    # A message without a card, and a bad id.
    other = send(mentor, group, "no link", django_capture_on_commit_callbacks)
    assert client_for(mentor).delete(f"/api/messages/{other.pk}/preview/").status_code == 404
    assert client_for(mentor).delete("/api/messages/not-a-uuid/preview/").status_code == 404


def test_the_image_is_for_members_only(
    previews_on, site, group, assigned, make_user, django_capture_on_commit_callbacks
):
    mentor, student = assigned
    message = send(mentor, group, site.url("/page"), django_capture_on_commit_callbacks)
    url = f"/api/messages/{message.pk}/preview/image/"
    assert client_for(student).get(url).status_code == 200
    outsider = make_user()
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(outsider).delete(f"/api/messages/{message.pk}/preview/").status_code == 404
    assert APIClient().get(url).status_code in (401, 403)
    # Leaving ends access at once.
    services.remove_participant(actor=student, conversation_id=group.pk, user=student)
    assert client_for(student).get(url).status_code == 404


def test_the_address_rule_is_the_push_endpoints_rule():
    """One rule for both: a push endpoint at an address link previews
    refuse is refused too."""
    from messaging.errors import InvalidInput
    from notifications.services import push

    for host in ("100.64.0.1", "[::ffff:10.0.0.1]", "169.254.169.254"):
        with pytest.raises(InvalidInput):
            push.check_endpoint(f"https://{host}/push/abc")
    push.check_endpoint("https://8.8.8.8/push/abc")


def test_the_card_falls_back_to_the_title_and_meta_description():
    card = previews.parse_card(
        "<html><head><title> Plain\n title </title>"
        '<meta name="description" content="Described"></head>'
        '<body><meta property="og:title" content="too late"></body></html>'
    )
    assert (card.title, card.description, card.site_name, card.image) == (
        "Plain title",
        "Described",
        "",
        "",
    )
    # A head of endless tags stops being read.
    flood = "<html><head>" + "<meta name=x content=y>" * 20_000 + "<title>t</title>"
    assert previews.parse_card(flood).title == ""


@pytest.mark.django_db(transaction=True)
def test_in_process_mode_fetches_beside_the_send(settings, silent_server, make_user, tmp_path):
    """The embedded default runs live tasks in the sending process: a link
    preview must not hold up the send there. The silent server makes the
    fetch last its whole timeout, so a send that waited for it would come
    back with the card already failed."""
    from accounts.models import MentorAssignment, Role

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PARLEY_LIVE_TASKS_IN_PROCESS = True
    settings.PARLEY = {
        **settings.PARLEY,
        "LINK_PREVIEWS": True,
        "LINK_PREVIEW_ALLOW": ["127.0.0.1"],
        "LINK_PREVIEW_TIMEOUT_SECONDS": 2.0,
    }
    mentor, student = make_user(Role.MENTOR), make_user(Role.STUDENT)
    MentorAssignment.objects.create(mentor=mentor, student=student)
    group = services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Embedded"
    )
    message = services.send_message(
        sender=mentor, conversation_id=group.pk, content=silent_server, client_id=uuid.uuid4()
    ).message
    assert LinkPreview.objects.get(message=message).state == PreviewState.PENDING
    deadline = time.monotonic() + 30
    while LinkPreview.objects.get(message=message).state == PreviewState.PENDING:
        assert time.monotonic() < deadline, "the fetch never finished"
        time.sleep(0.1)
    assert LinkPreview.objects.get(message=message).state == PreviewState.FAILED


# --- One deadline per fetch; errors end as refusals ----------------------------------


@pytest.fixture
def drip_server():
    """Answers every connection with headers one byte every 0.2 s: each
    read gets a byte in time, so only a deadline for the whole fetch stops
    it (the headers alone take about 14 s)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()
    answer = (
        b"HTTP/1.1 200 OK\r\n"
        + b"X-Slow: "
        + b"x" * 50
        + b"\r\n"
        + b"Content-Type: text/html\r\n\r\n"
    )

    def drip(conn):
        with conn:
            try:
                conn.recv(65536)
                for byte in answer:
                    if stop.is_set():
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(0.2)
            except OSError:
                pass

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/page"
    stop.set()
    listener.close()


def test_a_server_dripping_bytes_fails_within_the_total_timeout(previews_on, drip_server):
    started = time.monotonic()
    with pytest.raises(net.Refused) as refused:
        net.fetch(drip_server, expect="page", max_bytes=65536, timeout=1.0)
    assert refused.value.code == "timeout"
    # The bound is 1 s; 3 s is a safety margin for a loaded machine, far
    # below the ~14 s the drip lasts.
    assert time.monotonic() - started < 3.0


def test_the_deadline_covers_every_redirect(previews_on, site, drip_server):
    site.routes["/to-drip"] = (302, {"Location": drip_server}, b"")
    started = time.monotonic()
    with pytest.raises(net.Refused) as refused:
        net.fetch(site.url("/to-drip"), expect="page", max_bytes=65536, timeout=1.0)
    assert refused.value.code == "timeout"
    assert time.monotonic() - started < 3.0


def test_a_redirect_to_a_non_ascii_path_is_followed_encoded(
    previews_on, site, group, assigned, django_capture_on_commit_callbacks
):
    site.routes["/to-cafe"] = (302, {"Location": "/café?q=thé"}, b"")
    site.routes["/caf%C3%A9?q=th%C3%A9"] = site.routes["/page"]
    fetched = net.fetch(site.url("/to-cafe"), expect="page", max_bytes=65536, timeout=3.0)
    assert b"og:title" in fetched.body
    assert ("/caf%C3%A9?q=th%C3%A9", f"127.0.0.1:{site.port}") in site.seen
    # Through the task too: the card is made, not left pending.
    mentor, _ = assigned
    message = send(mentor, group, site.url("/to-cafe"), django_capture_on_commit_callbacks)
    assert LinkPreview.objects.get(message=message).state == PreviewState.READY


def test_a_url_http_client_cannot_send_is_refused(previews_on, site):
    site.routes["/to-bad"] = (302, {"Location": "/a\x7fb c"}, b"")
    with pytest.raises(net.Refused):
        net.fetch(site.url("/to-bad"), expect="page", max_bytes=65536, timeout=3.0)


def test_a_failure_after_the_fetch_fails_the_card(
    previews_on, site, group, assigned, tmp_path, django_capture_on_commit_callbacks
):
    """Storing the image fails (the media folder is a file): the card ends
    failed, never pending for ever."""
    mentor, _ = assigned
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("x")
    previews_on.MEDIA_ROOT = str(blocked)
    message = send(mentor, group, site.url("/page"), django_capture_on_commit_callbacks)
    assert LinkPreview.objects.get(message=message).state == PreviewState.FAILED


# --- The embedded profile publishes on the server's loop ------------------------------


class _RecordingLayer(InMemoryChannelLayer):
    """The in-memory layer, noting the loop each group send ran on."""

    sends: list = []

    async def group_send(self, group, message):
        _RecordingLayer.sends.append((message["type"], asyncio.get_running_loop()))
        await super().group_send(group, message)


@pytest.fixture
def server_loop():
    """An event loop running in its own thread, as a server's would."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


@pytest.mark.django_db(transaction=True)
def test_a_fetch_beside_the_send_publishes_on_the_server_loop(
    previews_on, site, group, assigned, server_loop
):
    """The embedded default fetches a card beside the send
    (``events.run_beside``, on a thread of its own), and the in-memory
    layer's queues belong to the server's loop: the card's frame is sent
    there, not from the fetch's thread on a loop of its own."""
    previews_on.PARLEY_LIVE_TASKS_IN_PROCESS = True
    previews_on.CHANNEL_LAYERS = {"default": {"BACKEND": f"{__name__}._RecordingLayer"}}
    _RecordingLayer.sends = []
    # A sync thread of the server (a consumer's database call) sees its loop;
    # a plain thread sees none.
    seen = asyncio.run_coroutine_threadsafe(sync_to_async(events.server_loop)(), server_loop)
    assert seen.result(10) is server_loop
    assert events.server_loop() is None

    mentor, _ = assigned

    def send_in_a_server_thread():
        return services.send_message(
            sender=mentor,
            conversation_id=group.pk,
            content=site.url("/page"),
            client_id=uuid.uuid4(),
        ).message

    message = asyncio.run_coroutine_threadsafe(
        sync_to_async(send_in_a_server_thread)(), server_loop
    ).result(10)
    deadline = time.monotonic() + 10
    while not any(kind == "link_preview_updated" for kind, _ in _RecordingLayer.sends):
        assert time.monotonic() < deadline, "the frame was never sent"
        time.sleep(0.05)
    assert [loop for kind, loop in _RecordingLayer.sends if kind == "link_preview_updated"] == [
        server_loop
    ]
    assert LinkPreview.objects.get(message=message).state == PreviewState.READY


# --- Deleting a message removes its card ----------------------------------------------


def test_deleting_a_message_removes_its_card_and_image(
    previews_on, site, group, assigned, django_capture_on_commit_callbacks
):
    mentor, student = assigned
    message = send(mentor, group, site.url("/page"), django_capture_on_commit_callbacks)
    preview = LinkPreview.objects.get(message=message)
    key = preview.image_name
    assert preview.state == PreviewState.READY and storage.backend().exists(key)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_message(actor=mentor, message_id=message.pk)
    preview.refresh_from_db()
    assert preview.state == PreviewState.REMOVED and preview.image_name == ""
    assert not storage.backend().exists(key)
    assert client_for(student).get(f"/api/messages/{message.pk}/preview/image/").status_code == 404


def test_a_fetch_finishing_after_the_deletion_stores_nothing(
    previews_on, site, group, assigned, django_capture_on_commit_callbacks
):
    mentor, _ = assigned
    with django_capture_on_commit_callbacks(execute=False):
        message = services.send_message(
            sender=mentor,
            conversation_id=group.pk,
            content=site.url("/page"),
            client_id=uuid.uuid4(),
        ).message
    # Deleted by the service: the pending card is removed, the fetch does nothing.
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_message(actor=mentor, message_id=message.pk)
    assert previews.fetch(message_id=message.pk) is None
    assert LinkPreview.objects.get(message=message).state == PreviewState.REMOVED
    # Deleted while the fetch ran (the card still pending when it records):
    # nothing stored, no frame.
    with django_capture_on_commit_callbacks(execute=False):
        other = services.send_message(
            sender=mentor,
            conversation_id=group.pk,
            content=site.url("/page"),
            client_id=uuid.uuid4(),
        ).message
    Message.objects.filter(pk=other.pk).update(deleted_at=timezone.now())
    published = []
    original = events.publish
    events.publish = lambda group_name, frame, **kw: published.append(frame)  # type: ignore[assignment]
    try:
        with django_capture_on_commit_callbacks(execute=True):
            previews.fetch(message_id=other.pk)
    finally:
        events.publish = original  # type: ignore[assignment]
    preview = LinkPreview.objects.get(message=other)
    assert preview.state == PreviewState.REMOVED and preview.image_name == ""
    assert published == []
    assert not storage.backend().exists(previews.image_key(other.pk, sniffing.JPEG))
    assert not storage.backend().exists(previews.image_key(other.pk, sniffing.PNG))


def test_only_the_sender_may_remove_a_card(previews_on, site, group, assigned, make_user):
    mentor, student = assigned
    message = services.send_message(
        sender=mentor, conversation_id=group.pk, content="hi", client_id=uuid.uuid4()
    ).message
    assert policy.may_remove_link_preview(mentor, message)
    assert not policy.may_remove_link_preview(student, message)
    with pytest.raises(AccessDenied):
        policy.check_remove_link_preview(student, message)
    mentor.is_active = False
    assert not policy.may_remove_link_preview(mentor, message)


def test_a_card_whose_fetch_was_lost_is_fetched_by_the_sweep(
    previews_on, site, group, assigned, django_capture_on_commit_callbacks
):
    """Redis restarted empty (or the worker died) after the send: the
    fetch task is gone and the card stays pending. The sweep queues it
    again once it is stale; a card pending for an hour is given up."""
    import datetime as dt

    from django.utils import timezone

    from messaging.threads.services import previews

    mentor, _ = assigned
    # Sent with its fetch lost: the card exists, pending, and nothing ran.
    with django_capture_on_commit_callbacks(execute=False):
        lost = services.send_message(
            sender=mentor,
            conversation_id=group.pk,
            content=site.url("/page"),
            client_id=uuid.uuid4(),
        ).message
        abandoned = services.send_message(
            sender=mentor,
            conversation_id=group.pk,
            content=site.url("/page"),
            client_id=uuid.uuid4(),
        ).message
    assert {p.state for p in LinkPreview.objects.all()} == {PreviewState.PENDING}

    # Just sent: the sweep leaves it to its own fetch.
    assert previews.requeue_stale() == 0
    assert not site.seen

    now = timezone.now()
    LinkPreview.objects.filter(message=lost).update(created_at=now - dt.timedelta(minutes=3))
    LinkPreview.objects.filter(message=abandoned).update(created_at=now - dt.timedelta(hours=2))
    assert tasks.sweep_link_previews() == 1  # tasks run in-process in the tests

    assert LinkPreview.objects.get(message=lost).state == PreviewState.READY
    assert LinkPreview.objects.get(message=lost).title == "The & Title"
    assert LinkPreview.objects.get(message=abandoned).state == PreviewState.FAILED
    assert previews.requeue_stale() == 0


def test_a_lookup_that_times_out_leaves_the_resolvers_queue(monkeypatch):
    """A name whose nameserver never answers is given up after the fetch's
    time, and its lookup leaves the queue rather than waiting there for a
    thread: names that never answer cannot pile up and starve the others."""
    import concurrent.futures

    queued = concurrent.futures.Future()  # a lookup no thread has taken yet

    class Busy:
        def submit(self, *args):
            return queued

    monkeypatch.setattr(net, "_resolver", Busy())
    with pytest.raises(net.Refused):
        net.resolve("never-answers.example", 443, timeout=0.01)
    assert queued.cancelled()
