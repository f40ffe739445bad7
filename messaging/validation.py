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

Every string a person supplies (message content, titles, display names)
passes ``check_text``, the one text rule: see ``REFUSED_CHARACTERS``.
"""

import re
from dataclasses import dataclass, field
from uuid import UUID

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from messaging import limits
from messaging.errors import FileRefused, InvalidInput

# --- Text -----------------------------------------------------------------------

# Refused in every string a person supplies, with the words a refusal uses:
# NUL (PostgreSQL text cannot hold it), lone surrogates (no UTF-8 encoding
# exists for them: storing or sending one fails), the other C0 and C1
# control characters and DEL (invisible; terminal escapes in logs and
# exports), and the Basic Multilingual Plane's noncharacters (U+FFFE is a
# byte-order mark read backwards; the supplementary planes' noncharacters
# pass: Unicode permits noncharacters in interchange, and the API schema's
# ECMAScript patterns cannot name them). Tab, line
# feed and carriage return are ordinary text in a message.
_REFUSED_EVERYWHERE = (
    ("\x00", "NUL"),
    ("\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f", gettext_lazy("a control character")),
    ("\ud800-\udfff", gettext_lazy("a lone surrogate")),
    (
        "\ufdd0-\ufdef\ufffe\uffff",
        gettext_lazy("a noncharacter"),
    ),
)
# Refused besides in one-line strings (titles, display names), which are
# shown inside other text: line breaks and tabs, and the bidirectional
# embedding, override and isolate controls, which would reorder the text
# around a name (a name that displays as another).
_REFUSED_IN_ONE_LINE = (
    ("\t\n\r\u2028\u2029", gettext_lazy("a line break or tab")),
    ("\u202a-\u202e\u2066-\u2069", gettext_lazy("a bidirectional control")),
)
REFUSED_CHARACTERS = _REFUSED_EVERYWHERE + _REFUSED_IN_ONE_LINE


def _pattern(groups) -> re.Pattern[str]:
    return re.compile("|".join(f"([{chars}])" for chars, _ in groups))


_EVERYWHERE = _pattern(_REFUSED_EVERYWHERE)
_ONE_LINE = _pattern(REFUSED_CHARACTERS)


def refused_pattern(*, one_line: bool = False) -> re.Pattern[str]:
    """What ``check_text`` refuses, as a pattern matching one character (the
    API schema states the same rule)."""
    return _ONE_LINE if one_line else _EVERYWHERE


def check_text(value: str, *, what: str, one_line: bool = False) -> str:
    """``value`` unchanged, or InvalidInput (``invalid``) naming the field
    ``what``, the first refused character's code point and its position
    (``REFUSED_CHARACTERS``; ``one_line`` adds line breaks, tabs and
    bidirectional controls)."""
    groups = REFUSED_CHARACTERS if one_line else _REFUSED_EVERYWHERE
    found = (_ONE_LINE if one_line else _EVERYWHERE).search(value)
    if found is None or found.lastindex is None:
        return value
    kind = groups[found.lastindex - 1][1]  # the pattern's group is the category's
    raise InvalidInput(
        # Translators: %(kind)s is one of "NUL", "a control character",
        # "a lone surrogate", "a noncharacter", "a line break or tab",
        # "a bidirectional control"; %(field)s a field name, kept as is.
        _("%(field)s must not contain %(kind)s (U+%(code_point)s, character %(position)s).")
        % {
            "field": what,
            "kind": kind,
            "code_point": f"{ord(found.group()):04X}",
            "position": found.start() + 1,
        }
    )


URN_PREFIX = "urn:uuid:"


def _read_uuid(text: str) -> UUID:
    """``UUID(text)``, its ``urn:uuid:`` prefix read in any case (a URN's
    scheme and namespace are case-insensitive; Python reads only lower
    case)."""
    if text[:9].lower() == URN_PREFIX:
        text = URN_PREFIX + text[9:]
    return UUID(text)


def parse_uuid(value: object, *, what: str) -> UUID:
    """``value`` (a UUID, or its text in any spelling the UUID standard
    reads) as a UUID."""
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str):
        raise InvalidInput(_("%(field)s must be a UUID.") % {"field": what})
    try:
        return _read_uuid(value)
    except ValueError:
        raise InvalidInput(_("%(field)s must be a UUID.") % {"field": what}) from None


def echo_id(value: str) -> str:
    """An id as an error frame echoes it: canonical (lower case, dashed) if it
    is a UUID in any spelling, else its first 64 characters with the
    characters no frame may carry (``is_plain_text``) replaced by U+FFFD."""
    try:
        return str(_read_uuid(value))
    except ValueError:
        return _EVERYWHERE.sub("\ufffd", value[:64])


def is_plain_text(value: str) -> bool:
    """Whether ``value`` holds none of the characters every string a person
    supplies is refused for (``check_text``): what the server may echo back
    in a frame as it came (a lone surrogate has no UTF-8, and a strict JSON
    reader refuses a frame that carries one)."""
    return _EVERYWHERE.search(value) is None


def parse_uuids(values: object, *, what: str) -> list[UUID]:
    """A list of UUIDs, each once, in the order given."""
    if not isinstance(values, list | tuple):
        raise InvalidInput(_("%(field)s must be a list of UUIDs.") % {"field": what})
    return list(dict.fromkeys(parse_uuid(value, what=f"{what}[]") for value in values))


def clean_content(value: object) -> str:
    """A message's text: not blank, at most ``max_content_chars`` characters
    (``too_long`` beyond), ``check_text``. Kept as written, whitespace
    included."""
    if not isinstance(value, str):
        raise InvalidInput(_("content must be text."))
    if not value.strip():
        raise InvalidInput(_("A message cannot be empty."))
    limit = limits.max_content_chars()
    if len(value) > limit:
        raise InvalidInput(
            ngettext(
                "A message has at most %(count)s character.",
                "A message has at most %(count)s characters.",
                limit,
            )
            % {"count": limit},
            code="too_long",
        )
    return check_text(value, what="content")


def clean_caption(value: object) -> str:
    """The text of a message that carries files: ``clean_content``'s rules,
    except that it may be empty (absent, ``null`` or ``""``: no caption)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise InvalidInput(_("content must be text."))
    if not value.strip():
        return ""
    return clean_content(value)


def clean_attachment_ids(value: object) -> list[UUID]:
    """A send's ``attachments``: absent (``None``) or a list of upload ids
    (UUID strings), each once; an empty list is no files. More than
    ``MAX_ATTACHMENTS_PER_MESSAGE`` is ``FileRefused`` (``too_many_files``),
    as the send itself says."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(_("attachments must be a list of upload ids."))
    limit = int(settings.PARLEY["MAX_ATTACHMENTS_PER_MESSAGE"])
    if len(value) > limit:
        raise FileRefused.too_many_files(limit)
    if not all(isinstance(item, str) for item in value):
        raise InvalidInput(_("attachments must be a list of upload ids (UUID strings)."))
    ids = [parse_uuid(item, what="attachments[]") for item in value]
    if len(set(ids)) != len(ids):
        raise InvalidInput(_("attachments lists the same upload twice."))
    return ids


def clean_title(value: object) -> str:
    """A conversation's title, stripped; may be empty (a direct
    conversation has none; whether a group needs one is the service's rule).
    One line: ``check_text(one_line=True)``."""
    if not isinstance(value, str):
        raise InvalidInput(_("title must be text."))
    value = value.strip()
    limit = limits.max_title_chars()
    if len(value) > limit:
        raise InvalidInput(
            ngettext(
                "A title has at most %(count)s character.",
                "A title has at most %(count)s characters.",
                limit,
            )
            % {"count": limit}
        )
    return check_text(value, what="title", one_line=True)


MAX_DISPLAY_NAME_CHARS = 150  # accounts.User.display_name


# The words of ``@all`` and ``@here`` (messaging.mentions.EVERYONE): a
# person named one of them would read as a broadcast, or be one.
RESERVED_DISPLAY_NAMES = frozenset({"all", "here"})


def clean_display_name(value: object) -> str:
    """A person's display name, stripped: required, at most 150 characters,
    one line (``check_text(one_line=True)``), and not one of
    ``RESERVED_DISPLAY_NAMES`` in any case."""
    if not isinstance(value, str):
        raise InvalidInput(_("display_name must be text."))
    value = value.strip()
    if not value:
        raise InvalidInput(_("A display name is required."))
    if value.casefold() in RESERVED_DISPLAY_NAMES:
        raise InvalidInput(
            _("“%(name)s” is how a message mentions everyone; choose another display name.")
            % {"name": value}
        )
    if len(value) > MAX_DISPLAY_NAME_CHARS:
        raise InvalidInput(
            _("A display name has at most %(count)s characters.")
            % {"count": MAX_DISPLAY_NAME_CHARS}
        )
    return check_text(value, what="display_name", one_line=True)


MAX_SEQ = 2**63 - 1  # a seq is a PostgreSQL bigint


def clean_seq(value: object, *, what: str = "seq") -> int:
    """A seq: a whole number from 0 to ``MAX_SEQ`` (booleans are not numbers
    here; a larger number would fail in the database, not be refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise InvalidInput(
            _("%(field)s must be a whole number from 0 to %(max)s.")
            % {"field": what, "max": MAX_SEQ}
        )
    return value


def clean_optional_seq(value: object, *, what: str) -> int | None:
    return None if value is None else clean_seq(value, what=what)


def clean_history_cursors(after_seq: int | None, before_seq: int | None) -> None:
    """A history page is asked for forward or back, not both."""
    if after_seq is not None and before_seq is not None:
        raise InvalidInput(_("Give after_seq or before_seq, not both."))


# One presence question names at most this many people, over the socket
# (``presence.query``) and the REST API (``GET presence/``) alike.
MAX_PRESENCE_IDS = 200

MAX_RESUME_CURSORS = 500


@dataclass(frozen=True)
class ResumeCursors:
    """A ``resume`` frame's cursors, parsed: ``cursors`` maps each
    conversation (by its UUID, however it was spelled) to the lowest seq
    given for it, in the order first given; ``refused`` lists each entry that
    could not be read, as given, with the reason."""

    cursors: dict[UUID, int] = field(default_factory=dict)
    refused: list[tuple[str, InvalidInput]] = field(default_factory=list)


def clean_resume_cursors(value: object) -> ResumeCursors:
    """A ``resume`` frame's ``cursors``: an object of at most
    ``MAX_RESUME_CURSORS`` entries ``{conversation_id: last_seq_held}``, or
    InvalidInput. Spellings of one id (upper case, braces, ``urn:uuid:``, no
    dashes) are one conversation, so each is looked at once."""
    if not isinstance(value, dict) or len(value) > MAX_RESUME_CURSORS:
        raise InvalidInput(
            _("cursors must map up to %(count)s conversation ids to seqs.")
            % {"count": MAX_RESUME_CURSORS}
        )
    parsed = ResumeCursors()
    for key, seq in value.items():
        try:
            conversation_id = parse_uuid(key, what="conversation_id")
            seq = clean_seq(seq)
        except InvalidInput as error:
            parsed.refused.append((key, error))
            continue
        held = parsed.cursors.get(conversation_id)
        parsed.cursors[conversation_id] = seq if held is None else min(held, seq)
    return parsed


# Far beyond any real list; keeps OFFSET within what the database takes.
MAX_LIST_OFFSET = 1_000_000


def clean_list_window(limit: object, offset: object, *, default: int, most: int) -> tuple[int, int]:
    """A page of a list paged by ``limit`` and ``offset``: ``limit`` 1 or
    more, read as at most ``most`` (``default`` when absent); ``offset``
    from 0 to ``MAX_LIST_OFFSET`` (0 when absent)."""
    if limit is None:
        limit = default
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput(_("limit must be a whole number, 1 or more."))
    if offset is None:
        offset = 0
    if (
        isinstance(offset, bool)
        or not isinstance(offset, int)
        or not 0 <= offset <= MAX_LIST_OFFSET
    ):
        raise InvalidInput(
            _("offset must be a whole number from 0 to %(max)s.") % {"max": MAX_LIST_OFFSET}
        )
    return min(limit, most), offset


def clean_page_size(value: object) -> int:
    """A history page size: the default when absent, capped at the maximum."""
    if value is None:
        return limits.history_page_size()
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(_("limit must be a whole number, 1 or more."))
    return min(value, limits.history_max_page_size())
