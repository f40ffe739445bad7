"""Safe HTTP to a URL someone typed: a GET for link previews, a POST
(``post``) for outgoing webhooks and push services; public addresses only.

The server fetches what a message links to, and posts to the URL a bot's
owner gave, so neither may make it reach inside the network it runs in
(server-side request forgery). A fetch (and a post, but for redirects):

* takes ``http`` and ``https`` URLs without credentials, on ports 80 and 443
  (any port for a target on the allow-list);
* resolves the host first (``getaddrinfo``, within the fetch's time) and
  refuses it unless every address it resolves to is public
  (``is_public_address``: not loopback, private, link-local, multicast,
  reserved, unspecified, shared (CGNAT), nor a cloud metadata address; an
  IPv4-mapped IPv6 address is judged as its IPv4 one), whatever form the
  host was written in (``127.1``, ``2130706433``, ``[::ffff:127.0.0.1]``);
* connects to the address it checked, never resolving again, so DNS
  rebinding cannot swap it; the request carries the original ``Host``, and
  https checks the certificate against the original host name (SNI);
* follows at most ``MAX_REDIRECTS`` redirects, each checked the same way;
* gives up after one total time (``limits.link_preview_timeout_seconds``),
  resolving, connect, TLS, headers and body of every redirect together: a
  watchdog shuts the socket down at the deadline, so a server that sends a
  byte now and then cannot stretch it; reads at most ``max_bytes``;
* sends the path percent-encoded and the host in its IDNA (ASCII) form: a
  link or redirect to ``/café`` is fetched as ``/caf%C3%A9``;
* accepts only the expected type: ``text/html`` for a page, ``image/*``
  for an image.

``PARLEY_LINK_PREVIEW_ALLOW`` (host names, addresses or CIDR ranges) lets a
deployment, or a test, reach a target these rules would refuse; outgoing
webhooks have their own list (``PARLEY_OUTGOING_WEBHOOK_ALLOW``, passed as
``allowed``). No list lets a cloud metadata address through.

A post follows no redirect (a webhook's answer is the one it gets) and
reads at most ``max_bytes`` of the answer, whatever its status.
"""

import concurrent.futures
import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin, urlsplit

from django.conf import settings

MAX_REDIRECTS = 3
PORTS = {"http": 80, "https": 443}
USER_AGENT = "ParleyLinkPreview/1.0 (+link previews)"
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 16 * 1024
# Kept as written in a path or query: reserved characters and ``%`` (an
# already encoded link is not encoded twice).
_PATH_SAFE = "/%:@!$&'()*+,;=?~-._"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata: also inside ranges refused anyway (link-local,
# unique local), named so that no allow-list range lets them through.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
# Ranges ``is_global`` lets through that are still not the public internet.
_NOT_PUBLIC = (
    ipaddress.ip_network("100.64.0.0/10"),  # shared address space (CGNAT)
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64
)


class Refused(Exception):
    """The fetch was not made or not finished; ``code`` says why
    (``scheme``, ``port``, ``address``, ``resolve``, ``timeout``,
    ``too_many_redirects``, ``status``, ``type``, ``too_large``,
    ``connection``)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str  # the media type, lower case, without parameters
    charset: str | None
    body: bytes
    truncated: bool  # the body went on past max_bytes


def is_public_address(address: IPAddress) -> bool:
    """Whether ``address`` is on the public internet: not loopback,
    private, link-local, multicast, reserved, unspecified, shared (CGNAT)
    nor a cloud metadata address. An IPv4-mapped IPv6 address is judged as
    its IPv4 address. The one rule for every address the server connects
    to on a user's word (link previews; push service endpoints)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        if address.sixtofour is not None and not is_public_address(address.sixtofour):
            return False
        if address.teredo is not None and not is_public_address(address.teredo[1]):
            return False
    if address in METADATA_ADDRESSES:
        return False
    if (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
        or any(address in network for network in _NOT_PUBLIC)
    ):
        return False
    return address.is_global


@dataclass(frozen=True)
class AllowList:
    """Targets the public-only rule does not apply to (any port)."""

    hosts: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def parse(cls, entries: Iterable[str]) -> "AllowList":
        hosts, networks = set(), []
        for entry in entries:
            entry = entry.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(hosts=frozenset(hosts), networks=tuple(networks))

    def allows(self, host: str, address: IPAddress) -> bool:
        if address in METADATA_ADDRESSES:
            return False
        if host in self.hosts:
            return True
        return any(address in network for network in self.networks)


def allow_list() -> AllowList:
    """The link previews' allow-list (``PARLEY_LINK_PREVIEW_ALLOW``)."""
    return AllowList.parse(settings.PARLEY.get("LINK_PREVIEW_ALLOW", ()))


class Deadline:
    def __init__(self, seconds: float):
        self.ends = time.monotonic() + seconds

    def left(self) -> float:
        left = self.ends - time.monotonic()
        if left <= 0:
            raise Refused("timeout", "The site did not answer in time.")
        return left

    def passed(self) -> bool:
        return time.monotonic() >= self.ends


class Watchdog:
    """Shuts the fetch's socket down at the deadline. A socket timeout
    bounds one ``recv`` only: a server sending a byte every so often would
    keep ``http.client`` reading headers (or a body) for ever. Once shut
    down, every read returns at once and the fetch ends as ``timeout``."""

    def __init__(self, deadline: Deadline):
        self.deadline = deadline
        self.fired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(max(0.0, deadline.ends - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        """The socket the fetch now reads (the raw one, under any TLS)."""
        with self._lock:
            self._sock = sock
            fired = self.fired
        if fired:
            _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sock = self._sock
        if sock is not None:
            _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    # socket.socket's own shutdown, also for a TLS socket: the TLS object
    # is left alone while another thread may be reading it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


# getaddrinfo has no timeout of its own: it runs on this small pool and is
# waited for only as long as the fetch has left (a resolver that hangs keeps
# one of these threads, not the task).
_resolver = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="resolve")


def resolve(host: str, port: int, *, timeout: float) -> list[IPAddress]:
    """Every address ``host`` resolves to (TCP), or ``Refused``."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [literal]
    future = _resolver.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    try:
        answers = future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        # Still queued behind lookups that hang: it leaves the queue, or
        # names that never answer would pile up there without bound and
        # make every later lookup of the process time out too.
        future.cancel()
        raise Refused("timeout", "The site's name did not resolve in time.") from None
    except (OSError, UnicodeError):
        raise Refused("resolve", "The site's name does not resolve.") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in answers:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Refused("resolve", "The site's name does not resolve.")
    return addresses


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower case, as written (IPv6 without brackets)
    port: int
    path: str  # with its query
    address: IPAddress  # checked: the one connected to


def check_url(url: str, *, deadline: Deadline, allowed: AllowList | None = None) -> Target:
    """Where a fetch of ``url`` would connect, once every rule holds;
    ``Refused`` otherwise."""
    allowed = allowed if allowed is not None else allow_list()
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        raise Refused("scheme", "Not a URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in PORTS:
        raise Refused("scheme", "Only http and https links are fetched.")
    if parts.username is not None or parts.password is not None or not host:
        raise Refused("scheme", "Not a URL that is fetched.")
    try:
        # The Host header and certificate check use the ASCII (IDNA) name.
        host = host if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError:
        raise Refused("resolve", "The site's name is not a valid host name.") from None
    port = port or PORTS[scheme]
    addresses = resolve(host, port, timeout=deadline.left())
    for address in addresses:
        if not (is_public_address(address) or allowed.allows(host, address)):
            raise Refused("address", "Links to private or local addresses are not fetched.")
    if port != PORTS[scheme] and not all(allowed.allows(host, a) for a in addresses):
        raise Refused("port", "Only the standard ports are fetched.")
    # http.client sends ASCII only: anything else (a link or redirect to
    # ``/café``) is percent-encoded; what is already encoded stays as is.
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_PATH_SAFE)
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


def check_target(url: str, *, timeout: float, allowed: AllowList | None = None) -> Target:
    """``check_url`` within ``timeout`` seconds: where a request to ``url``
    would connect, or ``Refused``. For a URL kept to be called later (a
    bot's), checked when it is saved and again at every call."""
    return check_url(url, deadline=Deadline(timeout), allowed=allowed)


class _WatchedHTTPConnection(http.client.HTTPConnection):
    """HTTP to an address already checked, its socket under the watchdog."""

    def __init__(self, address: str, port: int, *, watchdog: Watchdog, timeout: float):
        super().__init__(address, port, timeout=timeout)
        self._watchdog = watchdog

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self._watchdog.watch(sock)
        self.sock = sock


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address already checked, with SNI and the certificate
    check for the host name the link named; the raw socket under the
    watchdog before the handshake (which a slow server could drag out)."""

    def __init__(
        self, address: str, port: int, *, server_name: str, watchdog: Watchdog, timeout: float
    ):
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self._server_name = server_name
        self._watchdog = watchdog

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self._watchdog.watch(sock)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)  # type: ignore[attr-defined]


def _header_text(value: str) -> str:
    """A header as sent: http.client reads it as Latin-1, but a server
    that writes UTF-8 in a ``Location`` means UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == PORTS[target.scheme] else f"{host}:{target.port}"


def _media_type(value: str) -> tuple[str, str | None]:
    kind, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, val = param.partition("=")
        if name.strip().lower() == "charset":
            charset = val.strip().strip('"') or None
    return kind.strip().lower(), charset


def _accepts(media_type: str, expect: str) -> bool:
    if expect == "page":
        return media_type in ("text/html", "application/xhtml+xml")
    return media_type.startswith("image/")


def fetch(
    url: str,
    *,
    expect: str,
    max_bytes: int,
    timeout: float,
    allowed: AllowList | None = None,
) -> Fetched:
    """GET ``url`` within the rules above. ``expect``: ``"page"``
    (``text/html``; a longer body is cut at ``max_bytes``, ``truncated``)
    or ``"image"`` (``image/*``; a longer body is ``Refused("too_large")``).
    Raises ``Refused`` for anything else: refused target, timeout (one
    deadline for the whole fetch, redirects included), an answer other than
    200, the wrong type, a URL that cannot be sent."""
    deadline = Deadline(timeout)
    watchdog = Watchdog(deadline)
    try:
        return _fetch(
            url,
            expect=expect,
            max_bytes=max_bytes,
            deadline=deadline,
            watchdog=watchdog,
            allowed=allowed,
        )
    except (ValueError, UnicodeError) as error:
        # A URL (or redirect) http.client cannot send, or an answer it
        # cannot read: a refusal like any other, never an escape.
        raise Refused("connection", f"The fetch failed ({type(error).__name__}).") from None
    finally:
        watchdog.cancel()


def open_connection(
    *,
    scheme: str,
    address: IPAddress,
    port: int,
    server_name: str,
    watchdog: Watchdog,
    timeout: float,
) -> http.client.HTTPConnection:
    """A connection to ``address``, already checked, under ``watchdog``:
    for ``https`` with SNI and the certificate checked for ``server_name``.
    ``timeout`` bounds each socket operation. For every outgoing call that
    passed the address rules (here, and the AI assistant's client)."""
    if scheme == "https":
        return _PinnedHTTPSConnection(
            str(address), port, server_name=server_name, watchdog=watchdog, timeout=timeout
        )
    return _WatchedHTTPConnection(str(address), port, watchdog=watchdog, timeout=timeout)


def _connection(
    target: Target, *, watchdog: Watchdog, deadline: Deadline
) -> http.client.HTTPConnection:
    """A connection to the checked address of ``target``, under the watchdog."""
    return open_connection(
        scheme=target.scheme,
        address=target.address,
        port=target.port,
        server_name=target.host,
        watchdog=watchdog,
        timeout=deadline.left(),
    )


def _fetch(
    url: str,
    *,
    expect: str,
    max_bytes: int,
    deadline: Deadline,
    watchdog: Watchdog,
    allowed: AllowList | None,
) -> Fetched:
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        target = check_url(current, deadline=deadline, allowed=allowed)
        connection = _connection(target, watchdog=watchdog, deadline=deadline)
        try:
            connection.request(
                "GET",
                target.path,
                headers={
                    "Host": _host_header(target),
                    "User-Agent": USER_AGENT,
                    "Accept": "text/html" if expect == "page" else "image/*",
                    "Accept-Encoding": "identity",
                    "Connection": "close",
                },
            )
            # Kept: http.client lets go of it once the answer says "close".
            sock = connection.sock
            if sock is not None:
                sock.settimeout(deadline.left())
            response = connection.getresponse()
            if response.status in _REDIRECTS:
                location = response.getheader("Location")
                if not location:
                    raise Refused("status", "A redirect without a location.")
                current = urljoin(current, _header_text(location.strip()))
                continue
            if response.status != 200:
                raise Refused("status", f"The site answered {response.status}.")
            media_type, charset = _media_type(response.getheader("Content-Type") or "")
            if not _accepts(media_type, expect):
                raise Refused("type", f"Not what was expected ({media_type or 'no type'}).")
            body, truncated = _read(response, sock, max_bytes, deadline)
            if watchdog.fired:
                # The body ended because the socket was shut, not sent whole.
                raise Refused("timeout", "The site did not answer in time.")
            if truncated and expect != "page":
                raise Refused("too_large", "The image is larger than allowed.")
            return Fetched(
                url=current,
                content_type=media_type,
                charset=charset,
                body=body,
                truncated=truncated,
            )
        except TimeoutError:
            raise Refused("timeout", "The site did not answer in time.") from None
        except (OSError, http.client.HTTPException, ssl.CertificateError) as error:
            if watchdog.fired or deadline.passed():
                # The watchdog shut the socket: the read failed for lack of time.
                raise Refused("timeout", "The site did not answer in time.") from None
            raise Refused("connection", f"The fetch failed ({type(error).__name__}).") from None
        finally:
            connection.close()
    raise Refused("too_many_redirects", f"More than {MAX_REDIRECTS} redirects.")


def _read(
    response: http.client.HTTPResponse,
    sock: socket.socket | None,
    max_bytes: int,
    deadline: Deadline,
) -> tuple[bytes, bool]:
    """At most ``max_bytes`` of the body, read before the deadline; whether
    there was more."""
    chunks: list[bytes] = []
    size = 0
    while size <= max_bytes:
        if sock is not None:
            sock.settimeout(deadline.left())
        chunk = response.read1(min(_CHUNK, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    body = b"".join(chunks)
    return body[:max_bytes], len(body) > max_bytes


@dataclass(frozen=True)
class Posted:
    status: int
    body: bytes  # at most max_bytes of the answer
    truncated: bool  # the answer went on past max_bytes
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case


def post(
    url: str,
    *,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
    max_bytes: int,
    timeout: float,
    allowed: AllowList | None = None,
    user_agent: str = USER_AGENT,
) -> Posted:
    """POST ``body`` (of ``content_type``) to ``url`` within the module's
    rules, with ``headers`` beside the ones it sets (``Host``,
    ``User-Agent``, ``Content-Type``, ``Content-Length``); one deadline
    (``timeout``) for the whole call, no redirect followed. Any status is an
    answer (``Posted``); ``Refused`` when the target is refused or the call
    fails or runs out of time."""
    deadline = Deadline(timeout)
    watchdog = Watchdog(deadline)
    try:
        target = check_url(url, deadline=deadline, allowed=allowed)
        connection = _connection(target, watchdog=watchdog, deadline=deadline)
        try:
            connection.request(
                "POST",
                target.path,
                body=body,
                headers={
                    **headers,
                    "Host": _host_header(target),
                    "User-Agent": user_agent,
                    "Content-Type": content_type,
                    "Content-Length": str(len(body)),
                    "Accept-Encoding": "identity",
                    "Connection": "close",
                },
            )
            sock = connection.sock
            if sock is not None:
                sock.settimeout(deadline.left())
            response = connection.getresponse()
            answer, truncated = _read(response, sock, max_bytes, deadline)
            if watchdog.fired:
                raise Refused("timeout", "The site did not answer in time.")
            return Posted(
                status=response.status,
                body=answer,
                truncated=truncated,
                reason=response.reason or "",
                headers={
                    name.lower(): _header_text(value) for name, value in response.getheaders()
                },
            )
        except TimeoutError:
            raise Refused("timeout", "The site did not answer in time.") from None
        except (OSError, http.client.HTTPException, ssl.CertificateError) as error:
            if watchdog.fired or deadline.passed():
                raise Refused("timeout", "The site did not answer in time.") from None
            raise Refused("connection", f"The call failed ({type(error).__name__}).") from None
        finally:
            connection.close()
    except (ValueError, UnicodeError) as error:
        raise Refused("connection", f"The call failed ({type(error).__name__}).") from None
    finally:
        watchdog.cancel()
