"""Whether this process can reach Redis, i.e. whether live delivery works.

Redis carries live events (the channel layer), live presence and the shared
send-rate buckets; PostgreSQL is the record. When a Redis call fails, its
caller reports it here and carries on without Redis (sends still commit,
presence reads ``unknown``, rate limits fall back to this process), and this
process is *degraded* until a probe succeeds
(``messaging.realtime.maintenance`` probes every second while degraded and
tells every socket, docs/protocol.md ``degraded``).

One warning is logged when an outage starts and one when it ends, however
many calls fail in between. Thread-safe: the REST API reports from its
threads, the consumers from the event loop.
"""

import logging
import threading

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_reason: str | None = None  # None while Redis answers


def live() -> bool:
    """Whether Redis answered the last time anyone asked."""
    return _reason is None


def reason() -> str | None:
    """Why live delivery is degraded, for clients; None when it is not."""
    return _reason


def report_failure(what: str, error: BaseException) -> None:
    """A Redis call for ``what`` failed: degrade (logged once per outage)."""
    global _reason
    with _lock:
        if _reason is not None:
            return
        _reason = "redis_unavailable"
    logger.warning(
        "Redis is unreachable (%s: %s): live delivery is degraded; sends continue on "
        "PostgreSQL and send rates are limited per process until it is back",
        what,
        error or type(error).__name__,
    )


def report_ok() -> None:
    """A Redis call succeeded: no longer degraded (logged once)."""
    global _reason
    with _lock:
        if _reason is None:
            return
        _reason = None
    logger.warning("Redis is reachable again: live delivery and shared rate limits are back")


def reset() -> None:
    """Forget any outage (tests)."""
    global _reason
    with _lock:
        _reason = None
