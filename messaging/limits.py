"""Parley's limits, in one place, read from ``settings.PARLEY`` at call time.

Nothing binds a limit at import: an override (a deployment's environment, a
test's ``settings`` fixture or ``monkeypatch.setitem(settings.PARLEY, …)``)
is seen by every caller at once. Use ``limits.max_content_chars()`` and
friends rather than indexing ``settings.PARLEY`` directly.
"""

import logging
import math
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from messaging import shared_versions

logger = logging.getLogger(__name__)


def _limit(name: str):
    return settings.PARLEY[name]


def max_content_chars() -> int:
    return int(_limit("MAX_CONTENT_CHARS"))


def max_title_chars() -> int:
    return int(_limit("MAX_TITLE_CHARS"))


def max_group_members(role: str | None = None) -> int:
    """How many people a conversation may hold; with ``role``, the limit of
    that role (``RoleLimits``) for a conversation that person creates or
    adds people to."""
    return int(_for_role(role, "max_group_members", _limit("MAX_GROUP_MEMBERS")))


def max_frame_bytes() -> int:
    return int(_limit("MAX_FRAME_BYTES"))


def max_sockets_per_user(role: str | None = None) -> int:
    return int(_for_role(role, "max_sockets_per_user", _limit("MAX_SOCKETS_PER_USER")))


def send_rate_per_second(role: str | None = None) -> float:
    return float(_for_role(role, "send_rate_per_second", _limit("SEND_RATE_PER_SECOND")))


def send_burst(role: str | None = None) -> int:
    return int(_for_role(role, "send_burst", _limit("SEND_BURST")))


# --- Limits per role ------------------------------------------------------------
#
# A role's row (``messaging.moderation.models.RoleLimits``, edited in the
# admin) overrides the deployment's setting field by field; a blank field
# keeps the setting. The rows are read once into the Django cache (Redis in
# production, shared by every process) under a key that names the current
# version of the rows; a save replaces the version after it commits
# (``forget_role_limits``), so every process reads the rows again on its
# next lookup. A reader stores what it read under the version it saw
# *before* its query: a reader that raced a save writes its (possibly old)
# rows under a version nobody asks for any more, never over the new one.
# Without the cache (Redis away) the rows are read from the database: a
# limit never depends on Redis.

ROLE_LIMIT_FIELDS = (
    "send_rate_per_second",
    "send_burst",
    "max_sockets_per_user",
    "max_group_members",
)
# The least each figure may be: a rate of 0 would divide by zero in the send
# bucket, a burst or socket limit of 0 would lock the role out, and a
# conversation holds at least two people. The model's validators, the admin
# form and the service refuse less; a stored row with less (a raw SQL fix)
# is raised to the minimum when read, so it can never break a send.
ROLE_LIMIT_MINIMUMS: dict[str, float | int] = {
    name.lower(): minimum for name, minimum in settings.PARLEY_LIMIT_MINIMUMS.items()
}
ROLE_LIMITS_CACHE_KEY = "parley:role-limits"
ROLE_LIMITS_VERSION_KEY = "parley:role-limits:version"
# A version is replaced on every save; the timeout bounds how long a row
# changed behind the service's back (a raw SQL fix) is still applied, and
# how long an abandoned version's rows stay in the cache.
ROLE_LIMITS_CACHE_SECONDS = 300


def role_limit_error(field: str, value) -> str | None:
    """Why ``value`` cannot be ``field``'s figure, or None when it can
    (None itself can: the deployment's setting applies)."""
    if value is None:
        return None
    minimum = ROLE_LIMIT_MINIMUMS[field]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _("%(field)s must be a number.") % {"field": field}
    if not math.isfinite(value):
        return _("%(field)s must be a finite number.") % {"field": field}
    if isinstance(minimum, int) and not float(value).is_integer():
        return _("%(field)s must be a whole number.") % {"field": field}
    if value < minimum:
        return _("%(field)s must be at least %(minimum)s.") % {"field": field, "minimum": minimum}
    return None


def _safe_role_limit(role: str, field: str, value):
    """``value`` as stored, or the nearest figure that cannot break a send:
    below the minimum it is raised to it; not a finite number, it is
    dropped (the deployment's setting applies)."""
    if value is None or role_limit_error(field, value) is None:
        return value
    minimum = ROLE_LIMIT_MINIMUMS[field]
    if isinstance(value, int | float) and not isinstance(value, bool) and value < minimum:
        safe = minimum
    else:
        safe = None
    logger.warning("Role limits: %s's stored %s %r is invalid; using %r", role, field, value, safe)
    return safe


def _read_role_rows() -> dict[str, dict[str, float | int | None]]:
    """The rows as stored, each figure made safe."""
    from messaging.moderation.models import RoleLimits  # models load after this module

    return {
        row["role"]: {
            field: _safe_role_limit(row["role"], field, row[field]) for field in ROLE_LIMIT_FIELDS
        }
        for row in RoleLimits.objects.values("role", *ROLE_LIMIT_FIELDS)
    }


def _role_limits_version() -> str:
    """The current version of the rows (made if the cache has none)."""
    return shared_versions.current(ROLE_LIMITS_VERSION_KEY)


@dataclass(frozen=True)
class _ProcessCopy:
    """The rows this process last took from the cache, under their version."""

    version: str
    table: dict[str, dict[str, float | int | None]]
    taken_at: float


_process_copy: _ProcessCopy | None = None


def role_limits_table() -> dict[str, dict[str, float | int | None]]:
    """``{role: {field: value or None}}`` for the roles that have a row.

    Every send asks (its bucket), so the version is the one read per call:
    while it is unchanged the process keeps its own copy of the rows (for
    at most ``ROLE_LIMITS_CACHE_SECONDS``, as the cache does), and only a
    new version fetches them again."""
    global _process_copy
    try:
        version = _role_limits_version()
        copy = _process_copy
        if (
            copy is not None
            and copy.version == version
            and time.monotonic() - copy.taken_at < ROLE_LIMITS_CACHE_SECONDS
        ):
            return copy.table
        key = f"{ROLE_LIMITS_CACHE_KEY}:{version}"
        table = cache.get(key)
    except Exception:  # the cache's own client errors (redis-py): read the database
        logger.warning("Role limits: the cache is unavailable", exc_info=True)
        return _read_role_rows()
    if table is None:
        table = _read_role_rows()
        try:
            cache.set(key, table, ROLE_LIMITS_CACHE_SECONDS)
        except Exception:
            logger.warning("Role limits: could not cache", exc_info=True)
    _process_copy = _ProcessCopy(version, table, time.monotonic())
    return table


def forget_role_limits() -> None:
    """Start a new version of the cached rows: the next lookup, in any
    process, reads them (called after a save commits)."""
    try:
        cache.set(ROLE_LIMITS_VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:
        logger.warning("Role limits: could not drop the cached rows", exc_info=True)


def _for_role(role: str | None, field: str, fallback, *, row: dict | None = None):
    """``role``'s figure for ``field`` (from ``row`` when the caller read it
    already), or ``fallback`` when the role has none."""
    if not role:
        return fallback
    if row is None:
        row = role_limits_table().get(role, {})
    value = row.get(field)
    return fallback if value is None else value


@dataclass(frozen=True)
class SendAllowance:
    """One person's send bucket: ``rate`` tokens a second, up to ``burst``."""

    rate: float
    burst: int


def send_allowance(role: str | None = None) -> SendAllowance:
    """The send bucket of ``role`` (one lookup of the role rows)."""
    row = role_limits_table().get(role, {}) if role else {}
    rate = _for_role(role, "send_rate_per_second", _limit("SEND_RATE_PER_SECOND"), row=row)
    burst = _for_role(role, "send_burst", _limit("SEND_BURST"), row=row)
    return SendAllowance(rate=float(rate), burst=int(burst))


def history_page_size() -> int:
    return int(_limit("HISTORY_PAGE_SIZE"))


def history_max_page_size() -> int:
    return int(_limit("HISTORY_MAX_PAGE_SIZE"))


def resume_page_size() -> int:
    return int(_limit("RESUME_PAGE_SIZE"))


def presence_announce_burst() -> int:
    return int(_limit("PRESENCE_ANNOUNCE_BURST"))


def presence_announces_per_second() -> float:
    return float(_limit("PRESENCE_ANNOUNCES_PER_SECOND"))


def typing_ttl_seconds() -> int:
    return int(_limit("TYPING_TTL_SECONDS"))


def typing_min_interval_seconds() -> float:
    return float(_limit("TYPING_MIN_INTERVAL_SECONDS"))


def typing_frame_burst() -> int:
    return int(_limit("TYPING_FRAME_BURST"))


def typing_frames_per_second() -> float:
    return float(_limit("TYPING_FRAMES_PER_SECOND"))


def socket_frame_burst() -> int:
    return int(_limit("SOCKET_FRAME_BURST"))


def socket_frames_per_second() -> float:
    return float(_limit("SOCKET_FRAMES_PER_SECOND"))


def receipt_frame_burst() -> int:
    return int(_limit("RECEIPT_FRAME_BURST"))


def receipt_frames_per_second() -> float:
    return float(_limit("RECEIPT_FRAMES_PER_SECOND"))


def audit_denial_window_seconds() -> int:
    return int(_limit("AUDIT_DENIAL_WINDOW_SECONDS"))


def audit_download_window_seconds() -> int:
    return int(_limit("AUDIT_DOWNLOAD_WINDOW_SECONDS"))


def presence_ttl_seconds() -> int:
    return int(_limit("PRESENCE_TTL_SECONDS"))


def presence_heartbeat_seconds() -> int:
    """How often sockets are refreshed: often enough that a live one never
    expires between two beats."""
    return min(int(_limit("PRESENCE_HEARTBEAT_SECONDS")), max(1, presence_ttl_seconds() // 3))


def last_seen_write_interval_seconds() -> int:
    return int(_limit("LAST_SEEN_WRITE_INTERVAL_SECONDS"))


def search_config() -> str:
    """The PostgreSQL text search configuration (its language)."""
    return str(_limit("SEARCH_CONFIG"))


def search_page_size() -> int:
    return int(_limit("SEARCH_PAGE_SIZE"))


def search_max_page_size() -> int:
    return int(_limit("SEARCH_MAX_PAGE_SIZE"))


def search_max_query_chars() -> int:
    return int(_limit("SEARCH_MAX_QUERY_CHARS"))


# --- Support requests (messaging.support) -------------------------------------


def support_first_response_hours() -> int:
    """A request without a first response is overdue after this many hours."""
    return int(_limit("SUPPORT_FIRST_RESPONSE_HOURS"))


def support_resolution_hours() -> int:
    """A request still open or pending is overdue after this many hours."""
    return int(_limit("SUPPORT_RESOLUTION_HOURS"))


def bots_max_per_owner() -> int:
    """How many active bots (incoming webhooks' included) a mentor owns."""
    return int(_limit("BOTS_MAX_PER_OWNER"))


def support_max_open_per_person() -> int:
    """How many requests one person may have open or pending at once."""
    return int(_limit("SUPPORT_MAX_OPEN_PER_PERSON"))


def support_subject_max_chars() -> int:
    return int(_limit("SUPPORT_SUBJECT_MAX_CHARS"))


def support_rating_comment_max_chars() -> int:
    return int(_limit("SUPPORT_RATING_COMMENT_MAX_CHARS"))


# --- Threads, reactions, pins, link previews (messaging.threads) -------------


def max_reactions_per_message() -> int:
    return int(_limit("MAX_REACTIONS_PER_MESSAGE"))


def max_reactions_per_person() -> int:
    return int(_limit("MAX_REACTIONS_PER_PERSON"))


def max_pins_per_conversation() -> int:
    return int(_limit("MAX_PINS_PER_CONVERSATION"))


def thread_page_size() -> int:
    return int(_limit("THREAD_PAGE_SIZE"))


def link_previews_enabled() -> bool:
    return bool(_limit("LINK_PREVIEWS"))


def link_preview_timeout_seconds() -> float:
    return float(_limit("LINK_PREVIEW_TIMEOUT_SECONDS"))


def link_preview_max_bytes() -> int:
    return int(_limit("LINK_PREVIEW_MAX_BYTES"))
