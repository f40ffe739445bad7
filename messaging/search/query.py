"""The search box's language, parsed into a ``ParsedQuery``.

What a user may type (docs/api.md, "Search", lists the same):

* plain words, all of which must match (``budget report``);
* ``"quoted phrases"``, whose words must match in that order;
* ``-word`` and ``-"a phrase"``: messages containing them are left out;
* ``from:`` an email address, ``me``, or a word of a display name
  (``from:"Maria Lopez"`` for several words);
* ``in:`` a conversation's id, or words of its title (``in:"Team Alpha"``);
* ``has:file``, ``has:image``, ``has:link``; ``is:unread``, ``is:mention``;
* ``before:YYYY-MM-DD`` and ``after:YYYY-MM-DD``, both exclusive, as dates
  in the user's time zone.

Operator names are case-insensitive. Anything else of the form ``x:y`` is
plain text (``10:30`` or ``re:budget`` are words). Plain text is cut into
words (letters and digits); punctuation, ``_`` included, only separates
them, as both engines read the indexed text, so user input
never reaches a search engine as syntax. A bad operator value, a negated
operator, a query over ``SEARCH_MAX_QUERY_CHARS`` or one with nothing to
search for is ``InvalidInput`` with a message saying which.
"""

import datetime
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from messaging import limits, validation
from messaging.errors import InvalidInput

HAS_VALUES = frozenset({"file", "image", "link"})
IS_VALUES = frozenset({"unread", "mention"})
OPERATORS = ("from", "in", "has", "is", "before", "after")

_WORD = re.compile(r"[^\W_]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# One token from the current position: an optional "-", then a quoted
# phrase, an operator with a quoted or bare value, or a run of non-spaces.
# An unclosed quote runs to the end of the text.
_TOKEN = re.compile(
    r"""(?P<neg>-)?
    (?:
        "(?P<phrase>[^"]*)"?
      | (?P<key>[A-Za-z]+):(?:"(?P<quoted>[^"]*)"?|(?P<value>[^\s"]\S*))
      | (?P<text>\S+)
    )""",
    re.VERBOSE,
)
_SPACE = re.compile(r"\s*")


@dataclass(frozen=True)
class ParsedQuery:
    terms: tuple[str, ...] = ()  # plain words (ANDed)
    phrases: tuple[str, ...] = ()  # "quoted phrases", as their words joined by one space
    excluded: tuple[str, ...] = ()  # -word and -"a phrase" (a phrase has spaces)
    from_users: tuple[str, ...] = ()  # emails, "me", display-name words (any of them)
    in_conversations: tuple[str, ...] = ()  # conversation ids or title words (any of them)
    has: frozenset[str] = frozenset()  # subset of {"file", "image", "link"} (all of them)
    is_: frozenset[str] = frozenset()  # subset of {"unread", "mention"} (all of them)
    before: datetime.date | None = None  # exclusive, in the user's time zone
    after: datetime.date | None = None  # exclusive, in the user's time zone

    def has_text(self) -> bool:
        """Whether there is positive text to match (words or phrases);
        without it a search filters and orders newest first."""
        return bool(self.terms or self.phrases)

    def is_empty(self) -> bool:
        return not (
            self.has_text()
            or self.excluded
            or self.from_users
            or self.in_conversations
            or self.has
            or self.is_
            or self.before
            or self.after
        )


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


# A day either side stays a date in every time zone (the selector turns a
# date into the instants of its start and its end).
_FIRST_DATE = datetime.date.min + datetime.timedelta(days=2)
_LAST_DATE = datetime.date.max - datetime.timedelta(days=2)


def _date(operator: str, value: str) -> datetime.date:
    if _DATE.fullmatch(value):
        try:
            date = datetime.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if _FIRST_DATE <= date <= _LAST_DATE:
                return date
            raise InvalidInput(
                _("%(operator)s: takes a date from %(first)s to %(last)s, not %(value)s.")
                % {
                    "operator": operator,
                    "first": _FIRST_DATE.isoformat(),
                    "last": _LAST_DATE.isoformat(),
                    "value": repr(value),
                }
            )
    raise InvalidInput(
        _("%(operator)s: takes a date written YYYY-MM-DD, not %(value)s.")
        % {"operator": operator, "value": repr(value)}
    )


def _choice(operator: str, value: str, allowed: frozenset[str]) -> str:
    value = value.lower()
    if value not in allowed:
        choices = ", ".join(f"{operator}:{v}" for v in sorted(allowed))
        raise InvalidInput(
            _("Unknown %(operator)s:%(value)s; use %(choices)s.")
            % {"operator": operator, "value": value, "choices": choices}
        )
    return value


def _dedupe(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def parse(text: str) -> ParsedQuery:
    """Parse what was typed in the search box. Pure; raises InvalidInput
    (code ``invalid``) for a bad operator value, a negated operator, a
    query longer than ``limits.search_max_query_chars()``, one holding a
    character the text rule refuses (``validation.check_text``: NUL,
    control characters…) or one with nothing to search for."""
    if not isinstance(text, str):
        raise InvalidInput(_("The query must be text."))
    # NUL and the other characters no text of Parley holds (PostgreSQL
    # could not even compare with them).
    validation.check_text(text, what=_("The query"))
    if len(text) > limits.search_max_query_chars():
        raise InvalidInput(
            _("The query is longer than %(count)s characters.")
            % {"count": limits.search_max_query_chars()}
        )
    terms: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    from_users: list[str] = []
    in_conversations: list[str] = []
    has: set[str] = set()
    is_: set[str] = set()
    before: datetime.date | None = None
    after: datetime.date | None = None

    position = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match is not None, "a non-space character always starts a token"
        position = _SPACE.match(text, match.end()).end()  # type: ignore[union-attr]
        negated = match["neg"] is not None
        key = (match["key"] or "").lower()
        if key in OPERATORS:
            value = match["quoted"] if match["quoted"] is not None else match["value"]
            value = value.strip()
            if negated:
                raise InvalidInput(
                    _("%(operator)s: cannot be negated; leave out the '-'.") % {"operator": key}
                )
            if not value:
                raise InvalidInput(_("%(operator)s: needs a value.") % {"operator": key})
            if key == "from":
                from_users.append(value)
            elif key == "in":
                in_conversations.append(value)
            elif key == "has":
                has.add(_choice("has", value, HAS_VALUES))
            elif key == "is":
                is_.add(_choice("is", value, IS_VALUES))
            elif key == "before":
                before = _date("before", value)
            else:
                after = _date("after", value)
            continue
        bare = match["text"] or ""
        if bare.rstrip(":").lower() in OPERATORS and bare.endswith(":"):
            raise InvalidInput(
                _("%(operator)s: needs a value.") % {"operator": bare.rstrip(":").lower()}
            )
        if match["phrase"] is not None:
            words = _words(match["phrase"])
            quoted = True
        else:
            # Plain text, an unknown "x:y" included.
            words = _words(match.group(0)[1:] if negated else match.group(0))
            quoted = False
        if not words:
            continue
        if negated:
            excluded.append(" ".join(words))
        elif quoted and len(words) > 1:
            phrases.append(" ".join(words))
        else:
            terms.extend(words)

    parsed = ParsedQuery(
        terms=_dedupe(terms),
        phrases=_dedupe(phrases),
        excluded=_dedupe(excluded),
        from_users=_dedupe(from_users),
        in_conversations=_dedupe(in_conversations),
        has=frozenset(has),
        is_=frozenset(is_),
        before=before,
        after=after,
    )
    if parsed.is_empty():
        raise InvalidInput(_("There is nothing to search for: type a word or an operator."))
    return parsed
