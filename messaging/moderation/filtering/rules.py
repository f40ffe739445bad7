"""The active filter rules, compiled once per process and kept until a rule
changes.

A send must not pay a query for the rules: each process keeps the compiled
rules with the version they were read at. The version lives in the shared
cache (Redis in production) and is replaced whenever a rule is saved or
deleted (``receivers``), in this process or any other, so the next check
anywhere reads the rules again. A process also reads them again after
``MAX_AGE_SECONDS`` whatever the version says (the embedded profile's cache
is per process), and, while the cache does not answer, after
``FALLBACK_AGE_SECONDS``: a cache outage delays a rule change, never a send.
"""

import logging
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import regex
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from messaging import shared_versions
from messaging.models import FilterKind, FilterRule
from messaging.moderation.filtering import normalize

logger = logging.getLogger(__name__)

VERSION_KEY = "moderation:filter-rules:version"
MAX_AGE_SECONDS = 60.0
FALLBACK_AGE_SECONDS = 5.0

# Pattern rules: the longest expression the admin accepts, and how long one
# search may run before it counts as no match (the `regex` module stops a
# catastrophic backtracking expression there instead of hanging the send).
MAX_PATTERN_CHARS = 1000
PATTERN_TIMEOUT_SECONDS = 0.05
PATTERN_FLAGS = regex.IGNORECASE | regex.UNICODE | regex.V0

# Where each kind applies: file names are checked for words and patterns
# only (a name like "notes.zip" is not a link, nor is a re-upload spam).
FIELD_CONTENT = "content"
FIELD_CAPTION = "caption"
FIELD_FILE_NAME = "file_name"
_KINDS_FOR_FIELD = {
    FIELD_CONTENT: frozenset(FilterKind.values),
    FIELD_CAPTION: frozenset(FilterKind.values),
    FIELD_FILE_NAME: frozenset({FilterKind.TERM, FilterKind.PATTERN}),
}


def terms_of(pattern: str) -> list[str]:
    """A term rule's terms: one per line, blank lines ignored."""
    return [line.strip() for line in pattern.splitlines() if line.strip()]


def compile_terms(terms: list[str]) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """The two matchers of a term rule: whole words anywhere in a text, and
    a whole run of spaced-out letters (``normalize.spaced_runs``). None when
    no term has anything to match."""
    pieces = sorted(
        {piece for piece in map(normalize.term_regex, terms) if piece},
        key=len,
        reverse=True,
    )
    if not pieces:
        return None
    alternatives = "|".join(pieces)
    words = re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])")
    whole = re.compile(rf"(?:{alternatives})")
    return words, whole


def compile_pattern(pattern: str) -> Any:
    """A pattern rule's expression, compiled (``regex.error`` if it does
    not compile; ``ValueError`` if it is too long)."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(
            _("A pattern has at most %(count)s characters.") % {"count": MAX_PATTERN_CHARS}
        )
    return regex.compile(pattern, PATTERN_FLAGS)


@dataclass(frozen=True)
class CompiledRule:
    """One active rule, ready to match."""

    id: uuid.UUID
    name: str
    kind: str
    action: str
    message: str
    roles: frozenset[str]
    words: re.Pattern[str] | None = None
    whole: re.Pattern[str] | None = None
    pattern: Any = None
    max_links: int = 0
    new_account_days: int = 0
    repeat_count: int = 0
    repeat_window_seconds: int = 0

    def applies(self, *, role: str, field: str) -> bool:
        """Whether the rule checks ``field`` of a sender of ``role`` (no
        roles listed: everyone)."""
        return (not self.roles or role in self.roles) and self.kind in _KINDS_FOR_FIELD.get(
            field, _KINDS_FOR_FIELD[FIELD_CONTENT]
        )


def compile_rule(rule: FilterRule) -> CompiledRule | None:
    """``rule`` ready to match, or None when it cannot match anything (no
    terms, a pattern that does not compile, a limit left blank)."""
    common: dict[str, Any] = {
        "id": rule.pk,
        "name": rule.name,
        "kind": rule.kind,
        "action": rule.action,
        "message": rule.message,
        "roles": frozenset(rule.roles or ()),
    }
    if rule.kind == FilterKind.TERM:
        matchers = compile_terms(terms_of(rule.pattern))
        if matchers is None:
            return None
        return CompiledRule(**common, words=matchers[0], whole=matchers[1])
    if rule.kind == FilterKind.PATTERN:
        try:
            return CompiledRule(**common, pattern=compile_pattern(rule.pattern))
        except (regex.error, ValueError):
            logger.warning("Filter rule %s: its pattern does not compile; skipped", rule.pk)
            return None
    if rule.kind == FilterKind.LINK_LIMIT:
        if rule.max_links is None or rule.new_account_days is None:
            return None
        return CompiledRule(
            **common, max_links=rule.max_links, new_account_days=rule.new_account_days
        )
    if rule.kind == FilterKind.REPEAT:
        if not rule.repeat_count or not rule.repeat_window_seconds:
            return None
        return CompiledRule(
            **common,
            repeat_count=rule.repeat_count,
            repeat_window_seconds=rule.repeat_window_seconds,
        )
    return None


# --- The per-process copy and its version -----------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    version: str | None = None
    loaded_at: float = float("-inf")
    rules: tuple[CompiledRule, ...] = field(default_factory=tuple)

    @property
    def is_read(self) -> bool:
        """Whether these rules were read from the database: the empty copy
        that ``_bump`` and ``forget`` leave is not (its time is -inf)."""
        return math.isfinite(self.loaded_at)


_loaded = _Loaded()
_loading = threading.Lock()


def _shared_version() -> str | None:
    """The rules' version in the shared cache (set now if missing), or None
    when the cache does not answer."""
    try:
        return shared_versions.current(VERSION_KEY)
    except Exception:
        logger.warning("The cache did not answer; filter rules are re-read on a timer")
        return None


def active_rules() -> tuple[CompiledRule, ...]:
    """The active rules, compiled; read from the database only when they
    changed (or the copy is older than its age limit)."""
    global _loaded
    version = _shared_version()
    loaded = _loaded
    age = time.monotonic() - loaded.loaded_at
    if version is not None and version == loaded.version and age < MAX_AGE_SECONDS:
        return loaded.rules
    if version is None and age < FALLBACK_AGE_SECONDS:
        return loaded.rules
    with _loading:
        # Another thread may have read them while this one waited: use its
        # copy, but only a copy that was read. A change (``_bump``) between
        # taking ``loaded`` above and the lock leaves the empty copy here,
        # which is a different object too; returning its rules would let a
        # send through unfiltered.
        if _loaded is not loaded and _loaded.is_read:
            return _loaded.rules
        rows = FilterRule.objects.filter(is_active=True).order_by("name")
        rules = tuple(rule for rule in map(compile_rule, rows) if rule is not None)
        _loaded = _Loaded(version=version, loaded_at=time.monotonic(), rules=rules)
    return rules


def rules_changed() -> None:
    """Make every process read the rules again: now, and once the change
    commits (a process that read them between the two saw the old rows
    under the new version)."""
    _bump()
    transaction.on_commit(_bump)


def _bump() -> None:
    global _loaded
    _loaded = _Loaded()
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        logger.warning("The cache did not answer; other processes see the rule change later")


def forget() -> None:
    """Drop this process's copy (tests: a rolled-back rule sends no signal)."""
    global _loaded
    _loaded = _Loaded()
