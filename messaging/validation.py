"""Input parsed at the edge into typed values.

The socket consumer's command handlers, the REST API's serializer fields and
the page views turn what a client sent into these values before calling a
service or a selector; services and selectors take the typed values and
trust them. Each function raises ``InvalidInput`` (code ``invalid``, or
``too_long`` for over-long content) with a message a person can read, the
codes docs/protocol.md and docs/api.md list.

The functions take JSON values as a socket frame carries them: a seq is an
int, not the text ``"5"`` (the API's query strings are turned into ints by
its fields before these run).
"""

from uuid import UUID

from messaging import limits
from messaging.errors import InvalidInput


def parse_uuid(value: object, *, what: str) -> UUID:
    """``value`` (a UUID, or its text) as a UUID."""
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a UUID.")
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInput(f"{what} must be a UUID.") from None


def parse_uuids(values: object, *, what: str) -> list[UUID]:
    """A list of UUIDs, each once, in the order given."""
    if not isinstance(values, list | tuple):
        raise InvalidInput(f"{what} must be a list of UUIDs.")
    return list(dict.fromkeys(parse_uuid(value, what=f"{what}[]") for value in values))


def clean_content(value: object) -> str:
    """A message's text: not blank, at most ``max_content_chars`` characters
    (``too_long`` beyond), no NUL. Kept as written, whitespace included."""
    if not isinstance(value, str):
        raise InvalidInput("content must be text.")
    if not value.strip():
        raise InvalidInput("A message cannot be empty.")
    limit = limits.max_content_chars()
    if len(value) > limit:
        raise InvalidInput(f"A message has at most {limit} characters.", code="too_long")
    if "\x00" in value:
        raise InvalidInput("content must not contain NUL characters.")
    return value


def clean_title(value: object) -> str:
    """A conversation's title, stripped; may be empty (a direct
    conversation has none; whether a group needs one is the service's rule)."""
    if not isinstance(value, str):
        raise InvalidInput("title must be text.")
    value = value.strip()
    limit = limits.max_title_chars()
    if len(value) > limit:
        raise InvalidInput(f"A title has at most {limit} characters.")
    if "\x00" in value:
        raise InvalidInput("title must not contain NUL characters.")
    return value


def clean_seq(value: object, *, what: str = "seq") -> int:
    """A seq: a whole number, 0 or more (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{what} must be a whole number, 0 or more.")
    return value


def clean_optional_seq(value: object, *, what: str) -> int | None:
    return None if value is None else clean_seq(value, what=what)


def clean_history_cursors(after_seq: int | None, before_seq: int | None) -> None:
    """A history page is asked for forward or back, not both."""
    if after_seq is not None and before_seq is not None:
        raise InvalidInput("Give after_seq or before_seq, not both.")


def clean_page_size(value: object) -> int:
    """A history page size: the default when absent, capped at the maximum."""
    if value is None:
        return limits.history_page_size()
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput("limit must be a whole number, 1 or more.")
    return min(value, limits.history_max_page_size())
