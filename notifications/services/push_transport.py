"""How a push reaches a push service: through ``messaging.threads.net``,
under the rules every call the server makes on a user's word follows.

A push endpoint is a URL the browser (so, anyone with an account) gave.
``push.check_endpoint`` reads it when it is saved, but only as written: a
public-looking name may resolve, then or later, to an address inside the
network the server runs in. ``requests`` would connect wherever the name
resolves at send time, bound each read (not the whole call) by its timeout,
and read the whole answer into memory. ``net.post`` resolves the name,
refuses it unless every address is public, connects to the address it
checked, gives the whole call one deadline (a service answering a byte at a
time cannot hold a worker) and reads at most ``MAX_ANSWER_BYTES``.

``GuardedSession`` is what pywebpush asks of a ``requests.Session``: a
``post`` whose answer has ``status_code``, ``reason``, ``text`` and
``headers``. Each push is its own connection (``Connection: close``):
without keep-alive, a worker opens one TLS connection a device.
"""

import ipaddress
from dataclasses import dataclass

from django.conf import settings

from messaging.threads import net

# A push service answers with a status and little else (RFC 8030): enough
# for its error text in a delivery's record, and no more held in memory.
MAX_ANSWER_BYTES = 8 * 1024
USER_AGENT = "ParleyPush/1.0"

# A refusal of the endpoint itself: asking again will not change it.
FINAL_REFUSALS = frozenset({"scheme", "port", "address"})

# With ``PUSH["ALLOW_LOOPBACK_HTTP"]`` (DEBUG only): a push service on this machine.
_LOOPBACK = net.AllowList(
    hosts=frozenset({"localhost"}),
    networks=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")),
)


@dataclass(frozen=True)
class PushAnswer:
    """The part of a ``requests.Response`` pywebpush and ``push`` read."""

    status_code: int
    reason: str
    text: str
    headers: dict[str, str]  # names in lower case


def allowed() -> net.AllowList | None:
    """Targets the public-only rule does not apply to: the loopback
    interface while ``PUSH["ALLOW_LOOPBACK_HTTP"]`` is on; none otherwise."""
    return _LOOPBACK if settings.PUSH["ALLOW_LOOPBACK_HTTP"] else None


class GuardedSession:
    def post(
        self, url: str, *, data: bytes | None, headers: dict[str, str], timeout: float
    ) -> PushAnswer:
        """POST the encrypted push to ``url``; raises ``net.Refused`` when the
        endpoint is refused, or the call fails or runs out of ``timeout``."""
        posted = net.post(
            url,
            body=data or b"",
            content_type="application/octet-stream",
            headers=dict(headers),
            max_bytes=MAX_ANSWER_BYTES,
            timeout=timeout,
            allowed=allowed(),
            user_agent=USER_AGENT,
        )
        return PushAnswer(
            status_code=posted.status,
            reason=posted.reason,
            text=posted.body.decode("utf-8", "replace"),
            headers=posted.headers,
        )
