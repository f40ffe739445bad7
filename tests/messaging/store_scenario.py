"""Every kind of stored message, dumped without ids and timestamps, so that
the two store paths can be compared: the portable one (SQLite, the embedded
default) and PostgreSQL's one statement. ``run`` works on any database;
tests/messaging/test_store.py runs it on both and compares the dumps."""

import json
import uuid
from datetime import datetime
from uuid import UUID

from accounts.models import MentorAssignment, Role, User
from messaging import services
from messaging.models import (
    AuditLog,
    Conversation,
    ConversationParticipant,
    ConversationType,
    Message,
    MessageType,
)


def run(tag: str) -> dict:
    """Send text, a file and an image, resend one, add, leave and remove
    people; return what was stored. ``tag`` keeps emails apart when it runs
    twice on one database."""

    def person(role: str, name: str) -> User:
        return User.objects.create_user(
            email=f"{name.lower()}.{tag}@store.test", password=None, display_name=name, role=role
        )

    mentor, student = person(Role.MENTOR, "Mona"), person(Role.STUDENT, "Stan")
    colleague = person(Role.MENTOR, "Cleo")
    MentorAssignment.objects.create(mentor=mentor, student=student)
    direct = services.create_conversation(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Study"
    )

    def send(sender: User, conversation: Conversation, content: str, **extra) -> None:
        services.send_message(
            sender=sender,
            conversation_id=conversation.pk,
            content=content,
            client_id=extra.pop("client_id", uuid.uuid4()),
            **extra,
        )

    key = uuid.uuid4()
    send(student, direct, "hello", client_id=key)
    send(student, direct, "hello", client_id=key)  # a resend stores nothing
    send(
        mentor,
        direct,
        "report.pdf",
        message_type=MessageType.FILE,
        file_url="/media/report.pdf",
        metadata={"name": "report.pdf", "size": 3, "pages": [1, 2]},
    )
    send(student, group, "photo", message_type=MessageType.IMAGE, file_url="/media/p.png")
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[colleague])
    send(colleague, group, "hi all \N{WAVING HAND SIGN}")
    services.remove_participant(actor=colleague, conversation_id=group.pk, user=colleague)
    services.remove_participant(actor=mentor, conversation_id=group.pk, user=student)
    return dump([direct, group], [mentor, student, colleague])


def dump(conversations: list[Conversation], people: list[User]) -> dict:
    names = {str(c.pk): c.title or c.type for c in conversations}
    names.update({str(u.pk): u.display_name for u in people})

    def mask(value):
        """Ids become names; timestamps and client ids become whether set."""
        if isinstance(value, dict):
            return {k: mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v) for v in value]
        if isinstance(value, UUID):
            value = str(value)
        if isinstance(value, str) and value in names:
            return names[value]
        return value

    def row(message: Message) -> dict:
        out = {}
        for field in Message._meta.concrete_fields:
            value = getattr(message, field.attname)
            if field.primary_key:
                continue
            timestamp_or_id = field.name in ("edited_at", "deleted_at", "client_id")
            if isinstance(value, datetime) or timestamp_or_id:
                out[field.name] = value is not None
            else:
                out[field.name] = mask(value)
        return out

    ids = [c.pk for c in conversations]
    return {
        "messages": [
            row(m)
            for m in Message.objects.filter(conversation_id__in=ids).order_by(
                "conversation__type", "seq"
            )
        ],
        "conversations": sorted(
            (
                names[str(c.pk)],
                c.last_seq,
                c.last_message_at == c.messages.order_by("-seq").first().sent_at,
            )
            for c in Conversation.objects.filter(pk__in=ids)
        ),
        "cursors": sorted(
            (
                names[str(p.conversation_id)],
                names[str(p.user_id)],
                p.role,
                p.left_at is not None,
                p.last_read_seq,
                p.last_delivered_seq,
            )
            for p in ConversationParticipant.objects.filter(conversation_id__in=ids)
        ),
        "audit": sorted(
            (
                a.action,
                names[str(a.conversation_id)],
                names[str(a.actor_id)],
                json.dumps(mask(a.details), sort_keys=True),
            )
            for a in AuditLog.objects.filter(conversation_id__in=ids)
        ),
    }
