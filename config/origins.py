"""The WebSocket origin check.

A browser sends its page's origin with every WebSocket handshake and, unlike
for a form post, no CSRF token can travel with it: the ``Origin`` header is
what stops another site's page from opening a socket with the visitor's
session cookie. So the handshake is accepted only from exactly (scheme, host
and port) the origins a form post would be accepted from by Django's CSRF
check:

- the site's own origin: the ``Host`` of the handshake (which must be one of
  ``ALLOWED_HOSTS``) with ``https`` when the socket is ``wss``, or when a
  trusted proxy says so in ``SECURE_PROXY_SSL_HEADER`` (set only when
  ``PARLEY_TRUSTED_PROXIES`` is), ``http`` otherwise;
- an origin in ``CSRF_TRUSTED_ORIGINS``, exactly, or under one of its
  ``scheme://*.domain`` patterns: the public origin of a deployment whose
  proxy changes the host or the scheme.

Anything else, including ``null``, an empty or missing ``Origin`` and other
schemes, is refused with HTTP 403 before a consumer exists.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def parse_origin(value: str) -> Origin | None:
    """``(scheme, host, port)`` of a serialized origin, or ``None`` unless it
    is exactly ``http(s)://host[:port]``."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    if parts.path or parts.query or parts.fragment:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def _headers(scope) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in scope.get("headers", ()):
        found.setdefault(name.decode("latin1").lower(), []).append(value.decode("latin1"))
    return found


def _allowed_hosts() -> list[str]:
    # As HttpRequest.get_host: with DEBUG on and no ALLOWED_HOSTS, local names.
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def _is_secure(scope, headers: dict[str, list[str]]) -> bool:
    if scope.get("scheme") == "wss":
        return True
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy_header:
        return False
    name, secure_value = proxy_header
    # "HTTP_X_FORWARDED_PROTO" names the header "x-forwarded-proto".
    values = headers.get(name.removeprefix("HTTP_").replace("_", "-").lower())
    if not values:
        return False
    return values[0].split(",", 1)[0].strip() == secure_value


def own_origin(scope) -> Origin | None:
    """The origin the handshake was addressed to, if its ``Host`` is one of
    ``ALLOWED_HOSTS``."""
    headers = _headers(scope)
    hosts = headers.get("host", [])
    if len(hosts) != 1:
        return None
    domain, _ = split_domain_port(hosts[0])
    if not domain or not validate_host(domain, _allowed_hosts()):
        return None
    scheme = "https" if _is_secure(scope, headers) else "http"
    return parse_origin(f"{scheme}://{hosts[0]}")


def is_trusted_origin(origin: Origin) -> bool:
    """Whether ``origin`` is in ``CSRF_TRUSTED_ORIGINS`` (exactly, or under a
    ``scheme://*.domain`` pattern there, as Django's CSRF check reads it)."""
    scheme, host, port = origin
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if "*" in trusted:
            parts = urlsplit(trusted)
            netloc = host if port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
            if parts.scheme == scheme and is_same_domain(netloc, parts.netloc.lstrip("*")):
                return True
        elif parse_origin(trusted) == origin:
            return True
    return False


def origin_allowed(scope) -> bool:
    """Whether the WebSocket handshake in ``scope`` comes from an allowed
    origin (the module's docstring says which)."""
    values = _headers(scope).get("origin", [])
    if len(values) != 1:
        return False
    origin = parse_origin(values[0])
    if origin is None:
        return False
    return origin == own_origin(scope) or is_trusted_origin(origin)
