"""The words of a system message ("Maria added Sam", "Ana changed the status
to Resolved"), in each reader's language.

A system message is stored once for every member, so its ``content`` is in
English, the language an API client without a catalog reads. Its
``metadata["notice"]`` keeps what the words were made of: the English
sentence (a msgid, with named placeholders) and the values put in it. The
server words it in the active language wherever it shows one (the inbox's
preview, a notification, an email: ``worded``), and so does the browser
(static/js/notices.js, whose table names the same msgids for the
``djangojs`` catalog). A value that is itself a word (a support request's
status or priority) is stored as its code and named in the reader's
language.
"""

from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from messaging.support.models import SupportPriority, SupportStatus, category_name

PARTICIPANTS_ADDED = gettext_noop("%(actor)s added %(names)s")
PARTICIPANT_LEFT = gettext_noop("%(actor)s left")
PARTICIPANT_REMOVED = gettext_noop("%(actor)s removed %(name)s")
CONVERSATION_RENAMED = gettext_noop("%(actor)s renamed the conversation to %(title)s")
SUPPORT_OPENED = gettext_noop("%(actor)s opened a support request (%(category)s): %(subject)s")
SUPPORT_STATUS = gettext_noop("%(actor)s changed the status to %(status)s")
SUPPORT_WROTE_AGAIN = gettext_noop("%(actor)s wrote again: the request is %(status)s")
SUPPORT_UNASSIGNED = gettext_noop("%(actor)s unassigned the request")
SUPPORT_TOOK = gettext_noop("%(actor)s took the request")
SUPPORT_ASSIGNED = gettext_noop("%(actor)s assigned the request to %(name)s")
SUPPORT_PRIORITY = gettext_noop("%(actor)s set the priority to %(priority)s")
SUPPORT_SATISFIED = gettext_noop("%(actor)s rated the support: satisfied")
SUPPORT_NOT_SATISFIED = gettext_noop("%(actor)s rated the support: not satisfied")
SUPPORT_IMPORTED = gettext_noop("Imported from the old Messages page (%(status)s)")

SENTENCES = frozenset(
    {
        PARTICIPANTS_ADDED,
        PARTICIPANT_LEFT,
        PARTICIPANT_REMOVED,
        CONVERSATION_RENAMED,
        SUPPORT_OPENED,
        SUPPORT_STATUS,
        SUPPORT_WROTE_AGAIN,
        SUPPORT_UNASSIGNED,
        SUPPORT_TOOK,
        SUPPORT_ASSIGNED,
        SUPPORT_PRIORITY,
        SUPPORT_SATISFIED,
        SUPPORT_NOT_SATISFIED,
        SUPPORT_IMPORTED,
    }
)

# Values stored as codes, named in the reader's language.
_CODED = {"status": SupportStatus, "priority": SupportPriority}


def notice(sentence: str, **values: str) -> dict:
    """What ``metadata["notice"]`` keeps of a system message: one of the
    ``SENTENCES`` and its values (a status or priority as its code)."""
    if sentence not in SENTENCES:
        raise ValueError(f"{sentence!r} is not a notice's sentence")
    return {"text": sentence, "values": values}


def english(words: dict) -> str:
    """The notice in English: the system message's stored ``content``."""
    with translation.override("en"):
        return words["text"] % _named(words["values"])


def worded(metadata: dict | None) -> str | None:
    """The system message's notice in the active language, or None when it
    has none that this server words (a message stored before notices were
    kept: its English ``content`` stands)."""
    words = (metadata or {}).get("notice")
    if not isinstance(words, dict) or words.get("text") not in SENTENCES:
        return None
    values = words.get("values")
    if not isinstance(values, dict):
        return None
    try:
        return gettext(words["text"]) % _named(values)
    except (KeyError, TypeError, ValueError):
        return None


# Unicode's first-strong isolate and its end (FSI … PDI).
FIRST_STRONG_ISOLATE, POP_DIRECTIONAL_ISOLATE = "\u2068", "\u2069"


def _named(values: dict) -> dict[str, str]:
    """The values to put in the sentence, a code named in the active language.

    In a right-to-left language a name, category or subject (often in
    Latin letters) is isolated: it keeps its own direction without
    reordering the sentence's parentheses and colons around it, nor setting
    the direction of a paragraph (``dir="auto"``) that starts with it."""
    isolate = translation.get_language_bidi()
    named = {}
    for key, value in values.items():
        choices = _CODED.get(key)
        if choices is not None and value in choices.values:
            # Lower case, as it reads in the middle of the sentence.
            named[key] = str(choices(value).label).lower()
            continue
        if key == "category" and isinstance(value, str):
            value = category_name(value)  # a default one's is in the catalogs
        if isolate:
            named[key] = f"{FIRST_STRONG_ISOLATE}{value}{POP_DIRECTIONAL_ISOLATE}"
        else:
            named[key] = str(value)
    return named
