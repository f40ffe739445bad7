"""Demo data: an admin, two mentors, four students, conversations of each
type with some history, a mention among it, a formatted message with a
thread, reactions, a pin and a saved copy, two support requests (a
complaint, assigned and pending; a technical question, open), a reported
message in the moderation queue, content filter rules, and files (a PDF,
a Word document and a picture, made by
``messaging.management.demo_files``). Running it again changes nothing.
Notifications come from the messages as they would live (after the
command's transaction commits)."""

import datetime as dt
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services as account_services
from accounts.models import Role, User
from messaging import services
from messaging.e2e import demo as e2e_demo
from messaging.files.services.uploads import create_upload
from messaging.integrations.assistant import demo as assistant_demo
from messaging.integrations.meetings import demo as meetings_demo
from messaging.integrations.reminders import demo as reminders_demo
from messaging.integrations.scheduling import demo as scheduling_demo
from messaging.integrations.webhooks import demo as webhooks_demo
from messaging.management import demo_files
from messaging.models import (
    Conversation,
    ConversationType,
    FilterAction,
    FilterKind,
    FilterRule,
    Message,
    ReportReason,
)
from messaging.moderation.services import reports
from messaging.support import selectors as support_selectors
from messaging.support import services as support_services
from messaging.threads.services import pins, reactions, saved
from notifications import selectors as notification_selectors
from notifications import services as notification_services
from notifications.services import missed_email

DEMO_PASSWORD = "parley-demo"

PEOPLE = [
    ("admin@parley.test", "Ada Admin", Role.ADMIN),
    ("maria@parley.test", "Maria Mentor", Role.MENTOR),
    ("marcus@parley.test", "Marcus Mentor", Role.MENTOR),
    ("sam@parley.test", "Sam Student", Role.STUDENT),
    ("sofia@parley.test", "Sofia Student", Role.STUDENT),
    ("theo@parley.test", "Theo Student", Role.STUDENT),
    ("tara@parley.test", "Tara Student", Role.STUDENT),
]

# Parley in other languages: Theo reads it in Spanish, Tara in Arabic (a
# right-to-left interface); everyone else follows their browser.
LANGUAGES = {"theo@parley.test": "es", "tara@parley.test": "ar"}

ASSIGNMENTS = [
    ("maria@parley.test", "sam@parley.test"),
    ("maria@parley.test", "sofia@parley.test"),
    ("marcus@parley.test", "theo@parley.test"),
    ("marcus@parley.test", "tara@parley.test"),
]

# (kind, creator, others, title, [(sender, text), ...])
CONVERSATIONS = [
    (
        ConversationType.DIRECT,
        "maria@parley.test",
        ["sam@parley.test"],
        "",
        [
            ("sam@parley.test", "Hi Maria! Do you have a minute to look at my project plan?"),
            ("maria@parley.test", "Of course. Send it over and I'll read it tonight."),
            ("sam@parley.test", "Thanks! It's in the shared folder."),
        ],
    ),
    (
        ConversationType.DIRECT,
        "marcus@parley.test",
        ["theo@parley.test"],
        "",
        [
            ("marcus@parley.test", "Theo, how did the mock interview go?"),
            ("theo@parley.test", "Better than I expected. I froze once on the system design part."),
        ],
    ),
    (
        ConversationType.DIRECT,
        "maria@parley.test",
        ["marcus@parley.test"],
        "",
        [
            ("maria@parley.test", "Shall we run a joint session for our students next week?"),
        ],
    ),
    (
        ConversationType.GROUP,
        "maria@parley.test",
        ["sam@parley.test", "sofia@parley.test", "marcus@parley.test"],
        "Capstone study group",
        [
            ("maria@parley.test", "Welcome to the capstone group! Introduce yourselves."),
            ("sofia@parley.test", "Hi all, I'm Sofia, working on a data pipeline project."),
            ("sam@parley.test", "Sam here: a web app for tutoring schedules."),
            # A mention: Sam and Sofia find it in their notification bell.
            (
                "maria@parley.test",
                "@Sam Student and @Sofia Student, please share your project plans by Friday.",
            ),
        ],
    ),
]


# Files sent in a demo conversation, through the upload service and a send,
# as the page sends them: (conversation index, sender, caption,
# [(file name, maker), ...]). The documents get their previews from the
# preview task each upload queues (in-process here, unless a worker runs).
FILES: list[tuple[int, str, str, list[tuple[str, Callable[[], bytes]]]]] = [
    (
        0,
        "maria@parley.test",
        "Our whiteboard from today's session, for reference.",
        [("whiteboard.png", demo_files.whiteboard_png)],
    ),
    # Sam's comes last: Maria has it unread, and `make run` emails her.
    (
        0,
        "sam@parley.test",
        "Here is my project plan, and my interview notes so far.",
        [
            ("project-plan.pdf", demo_files.project_plan_pdf),
            ("interview-notes.docx", demo_files.report_docx),
        ],
    ),
]

# Sofia keeps quiet hours in her own zone and has muted the busy study group
# (the notification settings page and the mute menu show both).
QUIET_PERSON = "sofia@parley.test"
# The demo's support request (a complaint, assigned, pending) is Sam's.
SUPPORT_REQUESTER = "sam@parley.test"
MUTED_GROUP = 3  # index in CONVERSATIONS: the capstone study group


# (name, fields) of the demo's content filter rules.
FILTER_RULES: list[tuple[str, dict[str, Any]]] = [
    (
        "Blocked words (demo)",
        {
            "kind": FilterKind.TERM,
            "action": FilterAction.BLOCK,
            "pattern": "darn\nfrick\nheck off",
            "message": "Please keep it friendly: that word isn't allowed here.",
        },
    ),
    (
        "Unkind words from students (demo)",
        {
            "kind": FilterKind.TERM,
            "action": FilterAction.FLAG,
            "roles": [Role.STUDENT],
            "pattern": "stupid\nidiot\nshut up",
        },
    ),
    (
        "Links from new accounts",
        {
            "kind": FilterKind.LINK_LIMIT,
            "action": FilterAction.BLOCK,
            "max_links": 2,
            "new_account_days": 7,
            "message": "New accounts may share at most 2 links in a message.",
        },
    ),
    (
        "Repeated messages",
        {
            "kind": FilterKind.REPEAT,
            "action": FilterAction.BLOCK,
            "repeat_count": 5,
            "repeat_window_seconds": 60,
            "message": "You sent the same message several times in a row; please wait a moment.",
        },
    ),
]


# The moderation queue's demo case: an unkind line in the study group, and
# the person it was about reports it.
# Rich text, a thread, reactions, a pin and a saved message in the capstone
# group: (sender, text) for the formatted line, then the thread's replies.
FORMATTED_LINE = (
    "maria@parley.test",
    "**Plan for Friday** — bring these:\n\n"
    "1. Your project's _one-sentence_ goal\n"
    "2. A first milestone\n"
    "3. One open question\n\n"
    "If you use Python, a tiny example helps:\n\n"
    "```python\ndef milestone(done: int, total: int) -> str:\n"
    '    return f"{done}/{total} tasks"\n```',
)
THREAD_REPLIES = [
    ("sam@parley.test", "Can the goal be two sentences if the project has two parts?"),
    ("maria@parley.test", "Keep it to one: pick the part users see first."),
    ("sofia@parley.test", "Is a `pandas` notebook fine as the example?"),
]
REACTIONS = [("sam@parley.test", "👍"), ("sofia@parley.test", "👍"), ("marcus@parley.test", "🎉")]
SAVED_BY = "sam@parley.test"

REPORTED_LINE = ("sam@parley.test", "Honestly Sofia, a data pipeline is a stupid capstone idea.")
REPORTER = "sofia@parley.test"


INTEGRATION_SEEDS = (
    e2e_demo.seed_demo,
    meetings_demo.seed_demo,
    reminders_demo.seed_demo,
    scheduling_demo.seed_demo,
    webhooks_demo.seed_demo,
    assistant_demo.seed_demo,
)


def _schedule(conversation_id: uuid.UUID, user_ids: list) -> None:
    missed_email.schedule_for(conversation_id=conversation_id, user_ids=user_ids)


class Command(BaseCommand):
    help = "Create the demo users and conversations (idempotent) and print the logins."

    def handle(self, *args, **options):
        users = self._seed_people_and_conversations()
        # Uploads store their bytes before their rows commit, so they run
        # outside a transaction (an outer rollback would leave the bytes).
        self._seed_files(users)
        self._seed_moderation_case(users)
        self._seed_thread_and_reactions(users)
        # A scheduled message, a reminder, a meeting, a webhook that has
        # posted, bots (docs/integrations.md): each integration seeds its own.
        for seed in INTEGRATION_SEEDS:
            seed(users)
        # Last, so the demo's own lines are not held to them.
        self._seed_filter_rules()

        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in at http://127.0.0.1:8000/"))
        self.stdout.write(f"Every demo account's password: {DEMO_PASSWORD}")
        for email, name, role in PEOPLE:
            self.stdout.write(f"  {role:<8} {email:<22} {name}")

    @transaction.atomic
    def _seed_people_and_conversations(self) -> dict[str, User]:
        users = {}
        for email, name, role in PEOPLE:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email=email,
                    password=DEMO_PASSWORD,
                    display_name=name,
                    role=role,
                    is_staff=role == Role.ADMIN,
                    is_superuser=role == Role.ADMIN,
                    language=LANGUAGES.get(email, ""),
                )
            users[email] = user
        for mentor, student in ASSIGNMENTS:
            account_services.assign_mentor(mentor=users[mentor], student=users[student])

        # Direct conversations whose new lines are left unread by the other
        # person: `make run` emails them after the delay (missed-message email).
        unread_for: dict = {}
        for index, (kind, creator, others, title, lines) in enumerate(CONVERSATIONS):
            conversation = Conversation.objects.filter(metadata__demo=index).first()
            conversation = conversation or services.create_conversation(
                creator=users[creator],
                kind=kind,
                participants=[users[e] for e in others],
                title=title,
                metadata={"demo": index},
            )
            for line_no, (sender, text) in enumerate(lines):
                # Fixed client ids mark the lines already sent. They are
                # skipped rather than resent: `make run` seeds every time, and
                # a demo line edited, deleted or archived since would make a
                # resend a client_id conflict or an archived refusal.
                client_id = uuid.uuid5(uuid.NAMESPACE_URL, f"parley-demo/{index}/{line_no}")
                if Message.objects.filter(sender=users[sender], client_id=client_id).exists():
                    continue
                services.send_message(
                    sender=users[sender],
                    conversation_id=conversation.pk,
                    content=text,
                    client_id=client_id,
                )
                if kind == ConversationType.DIRECT:
                    members = {users[creator].pk, *(users[e].pk for e in others)}
                    unread_for.setdefault(conversation.pk, set()).update(
                        members - {users[sender].pk}
                    )
        for conversation_id, user_ids in unread_for.items():
            transaction.on_commit(partial(_schedule, conversation_id, list(user_ids)))

        self._seed_notification_settings(users)
        self._seed_support_request(users)
        return users

    def _seed_filter_rules(self) -> None:
        """A few content rules to try (Admin → Filter rules): mild blocked
        words for everyone, a stricter flagging list for students, a link
        limit for new accounts and a repeat rule. Found by name on a second
        run, and left as an admin has edited them since."""
        for name, fields in FILTER_RULES:
            FilterRule.objects.get_or_create(name=name, defaults=fields)

    def _seed_moderation_case(self, users: dict[str, User]) -> None:
        """Sofia reports Sam's unkind line in the study group: the
        moderation queue (Admin → Moderation cases) opens on it. A second
        run finds the line and the report and adds neither again."""
        sender, text = REPORTED_LINE
        client_id = uuid.uuid5(uuid.NAMESPACE_URL, "parley-demo/moderation/0")
        message = Message.objects.filter(sender=users[sender], client_id=client_id).first()
        if message is None:
            message = services.send_message(
                sender=users[sender],
                conversation_id=Conversation.objects.get(metadata__demo=MUTED_GROUP).pk,
                content=text,
                client_id=client_id,
            ).message
        reports.report_message(
            reporter=users[REPORTER],
            message_id=message.pk,
            reason=ReportReason.HARASSMENT,
            details="He keeps putting people down in this group.",
        )

    @transaction.atomic
    def _seed_thread_and_reactions(self, users: dict[str, User]) -> None:
        """Maria's formatted plan in the capstone group (bold, a list, code),
        a thread of questions under it, reactions on it, pinned by Maria and
        saved by Sam. Once: a second run finds the plan and leaves it, and
        whatever people did with it since, alone."""
        group = Conversation.objects.get(metadata__demo=MUTED_GROUP)

        author, text = FORMATTED_LINE
        key = uuid.uuid5(uuid.NAMESPACE_URL, "parley-demo/threads/plan")
        if Message.objects.filter(sender=users[author], client_id=key).exists():
            return  # seeded before: what people did with it since stays
        plan = services.send_message(
            sender=users[author], conversation_id=group.pk, content=text, client_id=key
        ).message
        for number, (email, reply) in enumerate(THREAD_REPLIES):
            services.send_message(
                sender=users[email],
                conversation_id=group.pk,
                content=reply,
                client_id=uuid.uuid5(uuid.NAMESPACE_URL, f"parley-demo/threads/reply/{number}"),
                parent_id=plan.pk,
            )
        for email, emoji in REACTIONS:
            reactions.add_reaction(user=users[email], message_id=plan.pk, emoji=emoji)
        pins.pin_message(user=users[author], message_id=plan.pk)
        saved.save_message(user=users[SAVED_BY], message_id=plan.pk)

    def _seed_support_request(self, users: dict[str, User]) -> None:
        """Sam's complaint, assigned to Ada and waiting for Sam (pending), and
        Tara's technical question, open and answered: the support pages and
        the queue show both from the start. Every support conversation has
        its request (its status, its place in the queue)."""
        support_services.ensure_default_categories()
        self._seed_taras_question(users)
        sam, ada = users[SUPPORT_REQUESTER], users["admin@parley.test"]
        client_id = uuid.uuid5(uuid.NAMESPACE_URL, "parley-demo/support/0")
        if support_selectors.opened_with(opener=sam, client_id=client_id):
            return  # a later run leaves what was done with it since
        request = support_services.open_request(
            requester=sam,
            category_id=support_selectors.category_by_slug("complaint").pk,
            subject="The library is too loud to study in the afternoons",
            body="Every day after 2 pm the group tables are so noisy that I cannot "
            "concentrate. Could the quiet zone be enforced?",
            client_id=client_id,
        )
        support_services.assign(actor=ada, request_id=request.pk, assignee_id=ada.pk)
        services.send_message(
            sender=ada,
            conversation_id=request.conversation_id,
            content="Thanks Sam. Which room is it, and does it happen every weekday?",
            client_id=uuid.uuid5(uuid.NAMESPACE_URL, "parley-demo/support/0/answer"),
        )
        support_services.change_status(actor=ada, request_id=request.pk, status="pending")

    def _seed_taras_question(self, users: dict[str, User]) -> None:
        tara, ada = users["tara@parley.test"], users["admin@parley.test"]
        client_id = uuid.uuid5(uuid.NAMESPACE_URL, "parley-demo/support/1")
        if support_selectors.opened_with(opener=tara, client_id=client_id):
            return
        request = support_services.open_request(
            requester=tara,
            category_id=support_selectors.category_by_slug("technical").pk,
            subject="Cannot upload my assignment",
            body="The upload button does nothing when I pick a PDF.",
            client_id=client_id,
        )
        services.send_message(
            sender=ada,
            conversation_id=request.conversation_id,
            content="Thanks Tara, we're looking into it. Which browser do you use?",
            client_id=uuid.uuid5(uuid.NAMESPACE_URL, "parley-demo/support/1/answer"),
        )

    def _seed_files(self, users: dict[str, User]) -> None:
        for number, (index, sender, caption, files) in enumerate(FILES):
            client_id = uuid.uuid5(uuid.NAMESPACE_URL, f"parley-demo/files/{number}")
            # Checked before uploading: a second run stores no second copy.
            if Message.objects.filter(sender=users[sender], client_id=client_id).exists():
                continue
            conversation = Conversation.objects.get(metadata__demo=index)
            uploads = [
                create_upload(
                    uploader=users[sender],
                    conversation_id=conversation.pk,
                    upload=SimpleUploadedFile(name, make()),
                )
                for name, make in files
            ]
            services.send_message(
                sender=users[sender],
                conversation_id=conversation.pk,
                content=caption,
                client_id=client_id,
                attachment_ids=[upload.pk for upload in uploads],
            )

    def _seed_notification_settings(self, users: dict[str, User]) -> None:
        sofia = users[QUIET_PERSON]
        # Only the first time: a later run leaves what she changed since.
        if not notification_selectors.preferences_for(sofia)._state.adding:
            return
        notification_services.update_preferences(
            user=sofia,
            time_zone="Europe/Berlin",
            quiet_hours_start=dt.time(22, 0),
            quiet_hours_end=dt.time(7, 0),
        )
        group = Conversation.objects.get(metadata__demo=MUTED_GROUP)
        notification_services.mute_conversation(user=sofia, conversation_id=group.pk, until=None)
