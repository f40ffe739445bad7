"""Search: the messages a user may read that match what they typed.

Membership decides first (``policy.readable_conversations``: only active
members read a conversation, so nothing of a conversation one never joined
or has left is searched), then the operators narrow the rows, then the
engine (``backends.backend()``) matches and ranks the text. The search
table holds only messages that may be found (not deleted, not system
notices; ``services.indexing`` keeps it so), and the messages of a page are
read again, deleted ones dropped, before they are shown.
"""

import datetime
import re
import uuid
import zoneinfo
from dataclasses import dataclass
from uuid import UUID

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import limits, policy
from messaging.errors import InvalidInput, NotFound
from messaging.models import Conversation, ConversationParticipant, Message
from messaging.search import backends
from messaging.search.models import SearchDocument
from messaging.search.query import ParsedQuery, parse

# Paging deeper than this is refused: nobody reads that far, and an offset
# costs the rows it skips.
MAX_OFFSET = 1000
# Words found in more messages than this are answered newest first: ranking
# would read every match (docs/benchmarks.md, Search), and for so common a
# search the latest messages are the likely ones sought.
RANKED_AT_MOST = 500
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class SearchHit:
    message: Message  # sender and conversation loaded; attachments prefetched
    snippet: str  # HTML-escaped text with <mark>…</mark> around matches
    rank: float  # higher is better; 0 for a query without text


@dataclass(frozen=True)
class SearchResults:
    # Best first (rank, then newest); newest first without words, or when the
    # words match more than RANKED_AT_MOST messages.
    hits: list[SearchHit]
    has_more: bool
    next_offset: int | None


def search(
    *,
    user: User,
    query: str,
    conversation_id: UUID | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> SearchResults:
    """The messages ``user`` may read that match ``query`` (``query.parse``
    syntax), best first, ``limit`` of them (default ``SEARCH_PAGE_SIZE``, at
    most ``SEARCH_MAX_PAGE_SIZE``) after skipping ``offset``.

    ``conversation_id`` searches one conversation: NotFound unless the user
    may read it (whether it exists or not). InvalidInput for a bad query,
    limit or offset."""
    parsed = parse(query)
    limit = _page_size(limit)
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(_("offset is a whole number from 0 to %(max)s.") % {"max": MAX_OFFSET})
    readable = policy.readable_conversations(user)
    if conversation_id is not None:
        if not readable.filter(pk=conversation_id).exists():
            raise NotFound(_("No such conversation."))
        readable = readable.filter(pk=conversation_id)

    documents = SearchDocument.objects.filter(conversation_id__in=readable.values("pk"))
    documents = _with_operators(documents, user=user, parsed=parsed, readable=readable)
    engine = backends.backend()
    if parsed.has_text():
        newest_first = engine.matches_more_than(documents, parsed, RANKED_AT_MOST)
        rows = engine.page(
            documents, parsed, limit=limit + 1, offset=offset, newest_first=newest_first
        )
    else:
        documents = engine.excluding(documents, parsed.excluded)
        rows = [
            (pk, message_id, 0.0)
            for pk, message_id in documents.order_by("-sent_at", "-id").values_list(
                "id", "message_id"
            )[offset : offset + limit + 1]
        ]
    # Paging stops at MAX_OFFSET: a next page it could not ask for is none.
    has_more = len(rows) > limit and offset + limit <= MAX_OFFSET
    rows = rows[:limit]
    hits = _hits(rows, parsed, engine)
    return SearchResults(
        hits=hits, has_more=has_more, next_offset=offset + limit if has_more else None
    )


def _page_size(limit: int | None) -> int:
    if limit is None:
        return limits.search_page_size()
    maximum = limits.search_max_page_size()
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= maximum:
        raise InvalidInput(_("limit is a whole number from 1 to %(max)s.") % {"max": maximum})
    return limit


def _hits(
    rows: list[backends.Row], parsed: ParsedQuery, engine: backends.Backend
) -> list[SearchHit]:
    if not rows:
        return []
    ids = [pk for pk, _, _ in rows]
    messages = (
        Message.objects.filter(pk__in=[message_id for _, message_id, _ in rows])
        .filter(deleted_at__isnull=True, hidden_at__isnull=True)
        .select_related("sender", "conversation")
        .prefetch_related("attachments")
        .in_bulk()
    )
    if parsed.has_text():
        snippets = engine.snippets(ids, parsed)
    else:
        texts = dict(SearchDocument.objects.filter(pk__in=ids).values_list("pk", "text"))
        snippets = {pk: backends.plain_snippet(text) for pk, text in texts.items()}
    hits = []
    for pk, message_id, rank in rows:
        message = messages.get(message_id)
        if message is not None:
            hits.append(SearchHit(message=message, snippet=snippets.get(pk, ""), rank=rank))
    return hits


# --- Operators --------------------------------------------------------------------


def _with_operators(
    documents: QuerySet[SearchDocument],
    *,
    user: User,
    parsed: ParsedQuery,
    readable: QuerySet[Conversation],
) -> QuerySet[SearchDocument]:
    if parsed.from_users:
        documents = documents.filter(sender_id__in=_senders(user, parsed.from_users, readable))
    if parsed.in_conversations:
        documents = documents.filter(
            conversation_id__in=_conversations(parsed.in_conversations, readable)
        )
    for flag in sorted(parsed.has):
        documents = documents.filter(**{f"has_{flag}": True})
    if "unread" in parsed.is_:
        documents = documents.filter(
            Exists(
                ConversationParticipant.objects.active().filter(
                    conversation_id=OuterRef("conversation_id"),
                    user_id=user.pk,
                    last_read_seq__lt=OuterRef("seq"),
                )
            )
        )
    if "mention" in parsed.is_:
        documents = documents.filter(_mentions(user))
    zone = _zone(user)
    if parsed.before is not None:
        documents = documents.filter(sent_at__lt=_start_of(parsed.before, zone))
    if parsed.after is not None:
        next_day = parsed.after + datetime.timedelta(days=1)
        documents = documents.filter(sent_at__gte=_start_of(next_day, zone))
    return documents


def _senders(user: User, said: tuple[str, ...], readable: QuerySet[Conversation]) -> list[UUID]:
    """The people ``from:`` names (any of them): ``me``, an email address,
    or a word of the display name of someone who is or was a member of a
    conversation the user reads."""
    people = User.objects.filter(
        Exists(
            ConversationParticipant.objects.filter(
                user_id=OuterRef("pk"), conversation_id__in=readable.values("pk")
            )
        )
    )
    ids: set[UUID] = set()
    for value in said:
        if value.lower() == "me":
            ids.add(user.pk)
        elif "@" in value:
            ids.update(people.filter(email__iexact=value).values_list("pk", flat=True))
        else:
            ids.update(_holding_words(people, "display_name", value))
    return list(ids)


def _conversations(said: tuple[str, ...], readable: QuerySet[Conversation]) -> list[UUID]:
    """The conversations ``in:`` names (any of them), among ``readable``: by
    id, or by words of the title (all of them, whole words)."""
    ids: set[UUID] = set()
    for value in said:
        try:
            ids.update(readable.filter(pk=uuid.UUID(value)).values_list("pk", flat=True))
            continue
        except ValueError:
            pass
        ids.update(_holding_words(readable, "title", value))
    return list(ids)


def _holding_words(candidates: QuerySet, field: str, value: str) -> set[UUID]:
    """The ids of ``candidates`` whose ``field`` holds every word of
    ``value`` as a whole word (the database narrows by substring, Python
    keeps whole words); none when ``value`` has no words."""
    words = _WORD.findall(value.casefold())
    if not words:
        return set()
    for word in words:
        candidates = candidates.filter(**{f"{field}__icontains": word})
    return {
        pk
        for pk, text in candidates.values_list("pk", field)
        if set(words) <= set(_WORD.findall(text.casefold()))
    }


def _mentions(user: User) -> Q:
    """Messages that mention ``user``: by name (``metadata["mentions"]``),
    or ``@all`` by someone else (``messaging.mentions``)."""
    # The id's text inside the stored list: a UUID matches only itself, and
    # the lookup reads the same on PostgreSQL and SQLite.
    by_name = Q(message__metadata__mentions__icontains=str(user.pk))
    everyone = Q(message__metadata__mention_everyone="all") & ~Q(sender_id=user.pk)
    return by_name | everyone


def _zone(user: User) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(user.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def _start_of(day: datetime.date, zone: datetime.tzinfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
