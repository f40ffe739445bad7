"""Parley's limits, in one place, read from ``settings.PARLEY`` at call time.

Nothing binds a limit at import: an override (a deployment's environment, a
test's ``settings`` fixture or ``monkeypatch.setitem(settings.PARLEY, …)``)
is seen by every caller at once. Use ``limits.max_content_chars()`` and
friends rather than indexing ``settings.PARLEY`` directly.
"""

from django.conf import settings


def _limit(name: str):
    return settings.PARLEY[name]


def max_content_chars() -> int:
    return int(_limit("MAX_CONTENT_CHARS"))


def max_title_chars() -> int:
    return int(_limit("MAX_TITLE_CHARS"))


def max_group_members() -> int:
    return int(_limit("MAX_GROUP_MEMBERS"))


def max_frame_bytes() -> int:
    return int(_limit("MAX_FRAME_BYTES"))


def max_sockets_per_user() -> int:
    return int(_limit("MAX_SOCKETS_PER_USER"))


def send_rate_per_second() -> float:
    return float(_limit("SEND_RATE_PER_SECOND"))


def send_burst() -> int:
    return int(_limit("SEND_BURST"))


def history_page_size() -> int:
    return int(_limit("HISTORY_PAGE_SIZE"))


def history_max_page_size() -> int:
    return int(_limit("HISTORY_MAX_PAGE_SIZE"))


def resume_page_size() -> int:
    return int(_limit("RESUME_PAGE_SIZE"))


def typing_ttl_seconds() -> int:
    return int(_limit("TYPING_TTL_SECONDS"))


def typing_min_interval_seconds() -> float:
    return float(_limit("TYPING_MIN_INTERVAL_SECONDS"))


def typing_frame_burst() -> int:
    return int(_limit("TYPING_FRAME_BURST"))


def typing_frames_per_second() -> float:
    return float(_limit("TYPING_FRAMES_PER_SECOND"))


def audit_denial_window_seconds() -> int:
    return int(_limit("AUDIT_DENIAL_WINDOW_SECONDS"))


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


def support_subject_max_chars() -> int:
    return int(_limit("SUPPORT_SUBJECT_MAX_CHARS"))


def support_rating_comment_max_chars() -> int:
    return int(_limit("SUPPORT_RATING_COMMENT_MAX_CHARS"))
