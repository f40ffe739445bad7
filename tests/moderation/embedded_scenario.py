"""Moderation actions on whichever database runs it: a mute refusing the
one-statement send's claim, hiding and restoring with search (FTS5 on
SQLite). tests/moderation/test_actions_embedded.py runs it on the embedded
default (SQLite) and on PostgreSQL and compares."""

import uuid
from datetime import timedelta

from django.utils import timezone

from accounts.models import MentorAssignment, Role, User
from messaging import events, services
from messaging.errors import Muted
from messaging.models import Mute
from messaging.moderation.services import actions
from messaging.search import selectors as search_selectors


def run(tag: str) -> dict:
    def person(role: str, name: str) -> User:
        return User.objects.create_user(
            email=f"{name.lower()}.{tag}@moderation.test",
            password=None,
            display_name=name,
            role=role,
        )

    admin = person(Role.ADMIN, "Ada")
    mentor, student = person(Role.MENTOR, "Mona"), person(Role.STUDENT, "Stan")
    MentorAssignment.objects.create(mentor=mentor, student=student)
    direct = services.create_conversation(creator=mentor, kind="direct", participants=[student])

    def send(content: str) -> str:
        try:
            services.send_message(
                sender=student, conversation_id=direct.pk, content=content, client_id=uuid.uuid4()
            )
        except Muted as refused:
            return refused.code
        return "sent"

    def found() -> list[str]:
        hits = search_selectors.search(user=mentor, query="pineapples").hits
        return [hit.message.content for hit in hits]

    outcome: dict = {"before": send(f"pineapples {tag}")}
    message = direct.messages.get()
    mute = actions.mute_user(
        moderator=admin, user_id=student.pk, conversation_id=direct.pk, minutes=5, note="x"
    )
    outcome["muted"] = send("let me speak")
    Mute.objects.filter(pk=mute.pk).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(hours=1)
    )
    outcome["after_the_mute"] = send("thanks")
    outcome["found_before_hiding"] = len(found())
    hidden = actions.hide_message(moderator=admin, message_id=message.pk, note="rude")
    payload = events.message_payload(hidden)
    outcome["hidden_payload"] = [payload["hidden"], payload["content"]]
    outcome["found_while_hidden"] = len(found())
    actions.restore_message(moderator=admin, message_id=message.pk, note="ok")
    outcome["found_after_restoring"] = len(found())
    return outcome
