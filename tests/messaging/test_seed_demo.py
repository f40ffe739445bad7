"""manage.py seed_demo: the demo data (files included), printed logins, and a
second run that changes nothing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import RequestFactory

from accounts.models import MentorAssignment, Role, User
from messaging import services
from messaging.files.models import Attachment, AttachmentKind
from messaging.management.commands.seed_demo import (
    CONVERSATIONS,
    DEMO_PASSWORD,
    FILES,
    FORMATTED_LINE,
    PEOPLE,
    REACTIONS,
    REPORTED_LINE,
    REPORTER,
    SAVED_BY,
    THREAD_REPLIES,
)
from messaging.models import (
    AuditLog,
    Conversation,
    ConversationParticipant,
    ConversationType,
    Message,
    ModerationCase,
)
from messaging.support.models import SupportRequest
from messaging.threads.models import Pin, Reaction, SavedMessage


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """The demo's files go to the test's own folder, never into var/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (
            User,
            MentorAssignment,
            Conversation,
            ConversationParticipant,
            Message,
            AuditLog,
            Attachment,
            SupportRequest,
        )
    }


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_creates_the_demo_and_prints_the_logins(client):
    output = seed()

    assert DEMO_PASSWORD in output
    for email, name, _ in PEOPLE:
        assert email in output and name in output
    # The people; the integrations' bots are users of their own role.
    roles = list(User.objects.exclude(role=Role.BOT).values_list("role", flat=True))
    assert sorted(roles) == sorted(role for _, _, role in PEOPLE)
    assert User.objects.filter(role=Role.BOT).exists()
    assert roles.count(Role.STUDENT) == 4 and roles.count(Role.MENTOR) == 2
    assert MentorAssignment.objects.count() == 4
    chosen = dict(User.objects.exclude(language="").values_list("email", "language"))
    assert chosen == {"theo@parley.test": "es", "tara@parley.test": "ar"}
    assert set(Conversation.objects.values_list("type", flat=True)) == set(ConversationType.values)
    seeded = Message.objects.filter(conversation__support_request__isnull=True)
    # The lines, the files' messages, the line in the moderation queue, the
    # formatted plan with its thread, and what the integrations posted: the
    # meeting's message, the notice that the assistant joined the group, the
    # notices that the demo bot and the webhook's bot joined theirs, and the
    # webhook's post.
    integrations = 1 + 1 + 2 + 1
    assert seeded.count() == (
        sum(len(c[4]) for c in CONVERSATIONS)
        + len(FILES)
        + 1
        + 1
        + len(THREAD_REPLIES)
        + integrations
    )
    [case] = ModerationCase.objects.select_related("message", "sender")
    assert case.status == "open" and case.report_count == 1
    assert case.message.content == REPORTED_LINE[1] == case.reported_content
    assert case.reports.get().reporter.email == REPORTER
    # The support requests: Sam's complaint, assigned to the admin, pending;
    # Tara's technical question, open. Every support conversation has its
    # request (a bare one would be in nobody's queue and show no status).
    requests = SupportRequest.objects.select_related("category", "requester", "assignee")
    complaint, question = sorted(requests, key=lambda r: r.requester.email)
    assert complaint.category.slug == "complaint"
    assert complaint.requester.email == "sam@parley.test"
    assert complaint.assignee.role == Role.ADMIN and complaint.status == "pending"
    assert (question.category.slug, question.requester.email) == ("technical", "tara@parley.test")
    assert question.status == "open" and question.subject == "Cannot upload my assignment"
    assert not Conversation.objects.filter(
        type=ConversationType.SUPPORT, support_request__isnull=True
    ).exists()
    for conversation in Conversation.objects.all():
        seqs = list(conversation.messages.order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, conversation.last_seq + 1))
    # The printed logins work.
    admin = User.objects.get(role=Role.ADMIN)
    assert admin.is_staff and admin.is_superuser
    # Password checks need the request (the login lockout counts per address).
    login_page = RequestFactory().post("/login/")
    assert client.login(request=login_page, email=admin.email, password=DEMO_PASSWORD)
    student_email = next(e for e, _, r in PEOPLE if r == Role.STUDENT)
    assert client.login(request=login_page, email=student_email, password=DEMO_PASSWORD)


@pytest.mark.django_db
def test_seed_demo_twice_creates_nothing_new():
    seed()
    first = counts()
    assert all(first.values()), first
    output = seed()
    assert counts() == first
    assert DEMO_PASSWORD in output


@pytest.mark.django_db
def test_seed_demo_runs_again_after_the_demo_was_used():
    """People edit, delete and archive in the demo; `make run` seeds again."""
    seed()
    first = counts()
    group = Conversation.objects.get(type=ConversationType.GROUP)
    edited, deleted = group.messages.exclude(sender=None).order_by("seq")[:2]
    services.edit_message(editor=edited.sender, message_id=edited.pk, content="edited")
    services.delete_message(actor=deleted.sender, message_id=deleted.pk)
    support = SupportRequest.objects.get(requester__email="tara@parley.test")
    services.set_archived(
        actor=User.objects.get(role=Role.ADMIN),
        conversation_id=support.conversation_id,
        archived=True,
    )
    audit_rows = AuditLog.objects.count()

    seed()

    assert counts() == {**first, "AuditLog": audit_rows}
    edited.refresh_from_db()
    assert edited.content == "edited"


@pytest.mark.django_db
def test_seed_demo_gives_sofia_quiet_hours_and_a_muted_group_once():
    import datetime as dt

    from notifications import selectors as notification_selectors
    from notifications import services as notification_services

    seed()
    sofia = User.objects.get(email="sofia@parley.test")
    preference = notification_selectors.preferences_for(sofia)
    assert (preference.quiet_hours_start, preference.quiet_hours_end) == (dt.time(22), dt.time(7))
    assert sofia.time_zone == "Europe/Berlin"
    group = Conversation.objects.get(type=ConversationType.GROUP)
    mute = notification_selectors.active_mute(sofia, group.pk)
    assert mute is not None and mute.until is None
    # She unmutes; seeding again leaves her choice alone.
    notification_services.unmute_conversation(user=sofia, conversation_id=group.pk)
    seed()
    assert notification_selectors.active_mute(sofia, group.pk) is None


@pytest.mark.django_db
def test_seed_demo_sends_an_image_a_pdf_and_a_word_document(media_root):
    seed()
    attachments = list(Attachment.objects.select_related("message").order_by("created_at"))
    assert {a.name: a.kind for a in attachments} == {
        "project-plan.pdf": AttachmentKind.PDF,
        "interview-notes.docx": AttachmentKind.OFFICE,
        "whiteboard.png": AttachmentKind.IMAGE,
    }
    # Sent, through the upload service (stored, sniffed, thumbnailed).
    assert all(a.message is not None and a.sent_at for a in attachments)
    image = next(a for a in attachments if a.kind == AttachmentKind.IMAGE)
    assert (image.width, image.height) == (960, 600) and image.thumbnail_key
    pdf = next(a for a in attachments if a.kind == AttachmentKind.PDF)
    assert pdf.page_count == 4
    assert pdf.message.message_type == "file"
    assert image.message.message_type == "image"
    for attachment in attachments:
        assert (media_root / attachment.storage_key).is_file()


@pytest.mark.django_db
def test_seed_demo_has_a_formatted_message_with_a_thread_reactions_a_pin_and_a_save():
    seed()
    author, text = FORMATTED_LINE
    plan = Message.objects.get(sender__email=author, content=text)
    assert "<ol>" in plan.content_html
    assert '<pre><code class="language-python">' in plan.content_html
    replies = list(plan.replies.order_by("seq").values_list("content", flat=True))
    assert replies == [reply for _, reply in THREAD_REPLIES]
    assert plan.thread.reply_count == len(THREAD_REPLIES)
    reacted = set(Reaction.objects.filter(message=plan).values_list("user__email", "emoji"))
    assert reacted == set(REACTIONS)
    assert Pin.objects.get(message=plan).pinned_by.email == author
    assert SavedMessage.objects.get(message=plan).user.email == SAVED_BY
    seed()  # a second run adds nothing to it
    assert plan.replies.count() == len(THREAD_REPLIES)
    assert Reaction.objects.filter(message=plan).count() == len(REACTIONS)
