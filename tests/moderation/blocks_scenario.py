"""Blocks on whichever database runs it: the one-statement send's claim
refuses a direct conversation with a block, both ways, and a group goes on.
tests/moderation/test_blocks_embedded.py runs it on the embedded default
(SQLite) and on PostgreSQL and compares."""

import uuid

from accounts.models import MentorAssignment, Role, User
from messaging import policy, services
from messaging.errors import PersonBlocked
from messaging.moderation.services import blocks


def run(tag: str) -> dict:
    def person(role: str, name: str) -> User:
        return User.objects.create_user(
            email=f"{name.lower()}.{tag}@blocks.test", password=None, display_name=name, role=role
        )

    mentor, student = person(Role.MENTOR, "Mona"), person(Role.STUDENT, "Stan")
    MentorAssignment.objects.create(mentor=mentor, student=student)
    direct = services.create_conversation(creator=mentor, kind="direct", participants=[student])
    group = services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Both"
    )

    def send(sender: User, conversation) -> str:
        try:
            services.send_message(
                sender=sender, conversation_id=conversation.pk, content="hi", client_id=uuid.uuid4()
            )
        except PersonBlocked as refused:
            return refused.code
        return "sent"

    def messageable() -> bool:
        return policy.messageable_users(student).filter(pk=mentor.pk).exists()

    outcome: dict = {"before": [send(student, direct), send(mentor, direct)]}
    blocks.block_person(blocker=mentor, blocked_id=student.pk)
    outcome["blocked"] = [send(student, direct), send(mentor, direct)]
    outcome["group"] = [send(student, group), send(mentor, group)]
    outcome["messageable_while_blocked"] = messageable()
    blocks.unblock_person(blocker=mentor, blocked_id=student.pk)
    outcome["after"] = [send(student, direct), send(mentor, direct)]
    outcome["messageable_after"] = messageable()
    return outcome
