"""Which address a request comes from.

``PARLEY_TRUSTED_PROXIES`` says how many reverse proxies stand in front of
Parley, each appending the address it received the request from to
``X-Forwarded-For``. It is the one switch for forwarded headers: with ``0``
(the default) they are the client's own words and ignored, and the client is
the connection's peer (``REMOTE_ADDR``); with ``N`` the client is the
``N``-th address from the right of ``X-Forwarded-For`` (the one the
outermost trusted proxy saw), so entries a client writes itself, to the
left, never count. DRF's throttles (``NUM_PROXIES``), the login lockout
(django-axes, through ``AXES_CLIENT_IP_CALLABLE``) and the lockout logs all
read the address this way, and count an IPv6 client by its /64
(``client_network``); ``SECURE_PROXY_SSL_HEADER`` (``X-Forwarded-Proto``)
is trusted only when it is set.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def trusted_proxies() -> int:
    return settings.PARLEY_TRUSTED_PROXIES


def client_address(request: HttpRequest) -> str | None:
    """The client's address, as DRF's throttles identify it with
    ``NUM_PROXIES = PARLEY_TRUSTED_PROXIES``. With fewer forwarded entries
    than proxies, the left-most; an entry that is not an IP address counts
    as the peer's address (it can only come from a misconfigured chain)."""
    peer = request.META.get("REMOTE_ADDR")
    proxies = trusted_proxies()
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not proxies or not forwarded:
        return peer
    hops = forwarded.split(",")
    candidate = hops[-min(proxies, len(hops))].strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


# What one IPv6 subscriber is given at the least (RFC 6177: a /64 for a
# single network): within it a client changes its source address at will.
IPV6_CLIENT_PREFIX = 64


def client_network(request: HttpRequest) -> str | None:
    """``client_address``, an IPv6 address reduced to its /64 (written as
    that network's first address): what the login lockout and the throttles
    count. Counted per whole IPv6 address, one machine changing its source
    address on every request would never be counted twice."""
    address = client_address(request)
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv4Address):
        return str(parsed)
    if parsed.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is 192.0.2.1
        return str(parsed.ipv4_mapped)
    host_bits = 128 - IPV6_CLIENT_PREFIX
    return str(ipaddress.IPv6Address(int(parsed) >> host_bits << host_bits))
