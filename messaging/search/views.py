"""The search page: ``/search/?q=…``, server-rendered, with no JavaScript
needed. It asks ``selectors.search`` (which filters by membership first) and
shows the hits grouped by conversation, each linking to the message in its
conversation with its neighbours (``/c/<id>/?around=<seq>#m-<seq>``)."""

import html
import re
from dataclasses import dataclass, field
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from messaging import limits
from messaging.errors import InvalidInput
from messaging.models import Conversation
from messaging.search import selectors
from messaging.views import title_for

# The operators the help on the page explains, in the order shown.
OPERATORS = (
    (
        "from:maria@parley.test  from:me",
        gettext_lazy("messages someone sent (an email, or a word of a name)"),
    ),
    ('in:"Physics lab"', gettext_lazy("messages in one conversation, by words of its title")),
    ('"exact phrase"', gettext_lazy("these words next to each other")),
    ("-word", gettext_lazy("leave out messages with this word")),
    ("has:file  has:image  has:link", gettext_lazy("messages with a file, an image or a link")),
    ("is:unread  is:mention", gettext_lazy("messages you have not read, or that mention you")),
    (
        "before:2026-11-30  after:2026-11-01",
        gettext_lazy("messages sent before or after a day (not on it)"),
    ),
)


_MARK_TAG = re.compile(r"(</?mark>)")


def safe_snippet(snippet: str) -> SafeString:
    """``snippet`` as HTML in which ``<mark>`` and ``</mark>`` are the only
    tags. ``search`` promises escaped text already; this holds even if a
    snippet came unescaped (each piece between the marks is unescaped, then
    escaped once, so an escaped piece stays as it was)."""
    pieces = _MARK_TAG.split(snippet)
    return mark_safe(  # noqa: S308 - every piece but the two tags is escaped
        "".join(
            piece if _MARK_TAG.fullmatch(piece) else escape(html.unescape(piece))
            for piece in pieces
        )
    )


@dataclass(frozen=True)
class ShownHit:
    """A hit as the page shows it: its snippet and where it links."""

    hit: selectors.SearchHit
    snippet: SafeString
    url: str


def shown(hit: selectors.SearchHit) -> ShownHit:
    message = hit.message
    url = reverse("conversation", args=[message.conversation_id])
    return ShownHit(hit, safe_snippet(hit.snippet), f"{url}?around={message.seq}#m-{message.seq}")


@dataclass
class ConversationGroup:
    """One conversation's hits on a page of results, best first."""

    conversation: Conversation
    title: str = ""
    hits: list[ShownHit] = field(default_factory=list)


def group_by_conversation(hits: list[selectors.SearchHit]) -> list[ConversationGroup]:
    """The hits grouped by conversation; groups in the order of their best hit
    (``search`` answers best first), hits in their own order within each."""
    groups: dict[UUID, ConversationGroup] = {}
    for hit in hits:
        conversation = hit.message.conversation
        group = groups.get(conversation.pk)
        if group is None:
            group = groups[conversation.pk] = ConversationGroup(conversation)
        group.hits.append(shown(hit))
    return list(groups.values())


_OFFSET = re.compile(r"[0-9]{1,9}")


def _offset_from(request) -> int:
    """``offset`` from the query string; how far it may go is the
    selector's to say (InvalidInput past its limit)."""
    raw = request.GET.get("offset", "").strip() or "0"
    if not _OFFSET.fullmatch(raw):
        raise InvalidInput(_("offset must be a whole number of 0 or more."))
    return int(raw)


@login_required
@require_GET
def search_page(request):
    """The results of ``q`` for the signed-in user, from ``offset`` on.

    An empty ``q`` shows the form and the operators' help; a query the parser
    refuses answers 400 with its message above the same form.
    """
    text = request.GET.get("q", "")
    context: dict = {
        "query": text,
        "operators": OPERATORS,
        "max_chars": limits.search_max_query_chars(),
    }
    if not text.strip():
        return render(request, "search/search.html", context)
    try:
        offset = _offset_from(request)
        results = selectors.search(user=request.user, query=text, offset=offset)
    except InvalidInput as error:
        context["error"] = error.message
        return render(request, "search/search.html", context, status=400)
    groups = group_by_conversation(results.hits)
    for group in groups:
        group.title = title_for(group.conversation, None, request.user)
    context.update(
        {
            "results": results,
            "groups": groups,
            "offset": offset,
            "first_number": offset + 1,
            "last_number": offset + len(results.hits),
        }
    )
    return render(request, "search/search.html", context)
