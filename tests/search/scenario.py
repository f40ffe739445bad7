"""One fixture and one query set, run on PostgreSQL by the tests and on the
embedded default (SQLite FTS5) by ``parity_run.py`` in a subprocess: both
must return the same messages, named by (conversation title, seq).

Built through the services, as real use would: sends (with files), an
edit, a delete, a leave, read cursors, mentions; then each message's
``sent_at`` is set to a fixed time so that ``before:``/``after:`` have
something definite to cut (Sam reads in New York: 02:00 UTC on the 10th is
still the 9th for him).
"""

import datetime
import uuid

from django.db import transaction

from accounts.models import MentorAssignment, Role, User
from messaging import services
from messaging.files.models import Attachment, AttachmentKind
from messaging.models import Conversation, ConversationType, Message
from messaging.search import selectors
from messaging.search.services import indexing

UTC = datetime.UTC
PLAN = "fieldtrip_plan.txt"
NOV_4 = (11, 4, 12)

# (conversation, sender, content, when (UTC), attachment kind and name or None)
MESSAGES = [
    ("Study group", "maria", "Welcome to the budget planning session", (11, 1, 12), None),
    ("Study group", "sam", "The budget report is attached", (11, 2, 12), ("text", PLAN)),
    ("Study group", "sam", "kangaroo sighting near campus", (11, 2, 13), None),
    ("Study group", "sofia", "budget budget budget numbers look odd", (11, 3, 12), None),
    ("Study group", "maria", "See https://example.org/plan for the quarterly plan", NOV_4, None),
    ("Study group", "sofia", "@Sam Student please check the report numbers", (11, 5, 12), None),
    ("Study group", "maria", "Quarterly report draft <script>alert(1)</script>", (11, 10, 2), None),
    ("Study group", "sofia", "whiteboard from today", (11, 11, 12), ("image", "whiteboard.png")),
    ("Project Alpha", "maria", "Alpha kickoff: budget and timeline", (11, 6, 12), None),
    ("Project Alpha", "sam", "timeline report ready", (11, 7, 12), None),
    # Twice ranks above once, though older.
    ("Project Alpha", "maria", "syllabus syllabus review", (11, 6, 13), None),
    ("Project Alpha", "maria", "syllabus draft ready", (11, 6, 14), None),
    ("Project Alpha", "sam", "budget typo", (11, 7, 13), None),
    # Found by its rendered words: "**rubric** ~~due~~" reads "rubric due".
    ("Project Alpha", "sam", "the **rubric** ~~due~~ [link](https://x.example)", (11, 7, 14), None),
    ("Secret room", "maria", "budget secret leak", (11, 8, 12), None),
    ("Left room", "maria", "budget from the room Sam left", (11, 8, 13), None),
    ("", "maria", "Private budget advice for you", (11, 9, 12), None),
    ("", "sam", "thanks, budget report advice taken", (11, 12, 12), None),
]

# What Sam types, and whether the order of the answer is defined (by rank
# on a clear case, or newest first without text) rather than only the set.
QUERIES = [
    ("budget", False),
    ('"rubric due link"', False),
    ("report", False),
    ("numbers", False),
    ("syllabus", True),
    ('"budget report"', False),
    ("budget -report", False),
    ('budget -"budget report"', False),
    ("-budget", True),
    ("from:me", True),
    ("from:maria", True),
    ("from:maria@search.test budget", False),
    ("from:Sofia report", False),
    ("from:olga budget", False),
    ("from:nobody -budget", False),
    ("in:nowhere budget", False),
    ("in:secret", False),
    ('in:"Project Alpha"', True),
    ("in:alpha report", False),
    ("has:link", True),
    ("has:file", True),
    ("has:image", True),
    ("is:unread", True),
    ("is:mention", True),
    ("before:2026-11-05", True),
    ("after:2026-11-09", True),
    ("after:2026-11-05 before:2026-11-08 budget", False),
    ("fieldtrip", False),
    ("photosynthesis", False),
    ("whiteboard", False),
    ("kangaroo", False),
    ("wombat", False),
    ("leak", False),
    ("added", False),
    ("typo", False),
    ("quarterly plan", False),
    ("alert", False),
    ('"quarterly plan"', False),
]


def _person(email: str, name: str, role: str) -> User:
    return User.objects.create_user(
        email=email,
        password="pw-" + "x" * 12,
        display_name=name,
        role=role,
        time_zone="America/New_York",
    )


def build() -> dict:
    """Make the people, conversations and messages; returns them by name."""
    maria = _person("maria@search.test", "Maria Mentor", Role.MENTOR)
    sam = _person("sam@search.test", "Sam Student", Role.STUDENT)
    sofia = _person("sofia@search.test", "Sofia Student", Role.STUDENT)
    olga = _person("olga@search.test", "Olga Outsider", Role.STUDENT)
    people = {"maria": maria, "sam": sam, "sofia": sofia, "olga": olga}
    for student in (sam, sofia, olga):
        MentorAssignment.objects.create(mentor=maria, student=student)

    def group(title, *members):
        return services.create_conversation(
            creator=maria, kind=ConversationType.GROUP, participants=members, title=title
        )

    conversations = {
        "Study group": group("Study group", sam, sofia),
        "Project Alpha": group("Project Alpha", sam),
        "Secret room": group("Secret room", olga),
        "Left room": group("Left room", sam, sofia),
        "": services.create_conversation(
            creator=maria, kind=ConversationType.DIRECT, participants=[sam]
        ),
    }
    # System notices ("… added …") are never found.
    services.add_participants(
        actor=maria, conversation_id=conversations["Study group"].pk, users=[olga]
    )
    services.remove_participant(
        actor=maria, conversation_id=conversations["Study group"].pk, user=olga
    )

    sent: dict[tuple[str, str], Message] = {}
    for title, sender, content, (month, day, hour), attachment in MESSAGES:
        conversation = conversations[title]
        ids = []
        if attachment:
            ids = [_upload(attachment, uploader=people[sender], conversation=conversation).pk]
        message = services.send_message(
            sender=people[sender],
            conversation_id=conversation.pk,
            content=content,
            client_id=uuid.uuid4(),
            attachment_ids=ids,
        ).message
        when = datetime.datetime(2026, month, day, hour, tzinfo=UTC)
        Message.objects.filter(pk=message.pk).update(sent_at=when)
        sent[(title, content)] = message

    # The text of the plan was extracted after the send (as a preview does).
    plan = sent[("Study group", "The budget report is attached")]
    Attachment.objects.filter(message=plan).update(extracted_text="photosynthesis and chlorophyll")
    with transaction.atomic():
        indexing.reindex_attachments_of(plan.pk)
    services.edit_message(
        editor=sam,
        message_id=sent[("Study group", "kangaroo sighting near campus")].pk,
        content="wombat sighting near campus",
    )
    services.delete_message(actor=sam, message_id=sent[("Project Alpha", "budget typo")].pk)
    services.remove_participant(actor=sam, conversation_id=conversations["Left room"].pk, user=sam)
    # Sam has read the study group up to Maria's link; the rest is unread.
    services.mark_read(user=sam, conversation_id=conversations["Study group"].pk, up_to_seq=7)
    # The fixed times, everywhere (the search rows copy sent_at).
    indexing.rebuild()
    return {"people": people, "conversations": conversations}


def _upload(attachment: tuple[str, str], *, uploader: User, conversation: Conversation):
    from tests.files.factories import make_attachment

    kind, name = attachment
    return make_attachment(
        uploader=uploader,
        conversation=conversation,
        kind=AttachmentKind.IMAGE if kind == "image" else AttachmentKind.TEXT,
        name=name,
    )


def key(message: Message) -> list:
    return [message.conversation.title, message.seq]


# Queries whose snippets are compared too (as HTML: marks and escaping).
SNIPPET_QUERIES = ("alert", '"quarterly plan"', "fieldtrip")


def run(user: User) -> dict:
    """Every query of ``QUERIES`` as ``user``: the keys of all results, in
    order (``answers``), and the snippets of ``SNIPPET_QUERIES``."""
    answers, snippets = {}, {}
    for query, _ordered in QUERIES:
        results = selectors.search(user=user, query=query, limit=50)
        answers[query] = [key(hit.message) for hit in results.hits]
        if query in SNIPPET_QUERIES:
            snippets[query] = [hit.snippet for hit in results.hits]
    return {"answers": answers, "snippets": snippets}
