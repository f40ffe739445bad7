"""Reactions, pins and saved messages on whichever database runs it:
test_reactions_embedded.py runs it on the embedded default (SQLite, where
``SELECT … FOR UPDATE`` is not a thing) and on PostgreSQL and compares."""

import uuid

from accounts.models import MentorAssignment, Role, User
from messaging import events, selectors, services
from messaging.errors import MessagingError
from messaging.threads.selectors import pins as pin_selectors
from messaging.threads.selectors import saved as saved_selectors
from messaging.threads.services import pins, reactions, saved


def run(tag: str) -> dict:
    def person(role: str, name: str) -> User:
        return User.objects.create_user(
            email=f"{name.lower()}.{tag}@reactions.test",
            password=None,
            display_name=name,
            role=role,
        )

    mentor, student = person(Role.MENTOR, "Mona"), person(Role.STUDENT, "Stan")
    MentorAssignment.objects.create(mentor=mentor, student=student)
    group = services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="G"
    )
    message = services.send_message(
        sender=mentor, conversation_id=group.pk, content="hi", client_id=uuid.uuid4()
    ).message

    def refusal(act, **kwargs):
        try:
            act(**kwargs)
        except MessagingError as error:
            return error.code
        return "done"

    first = reactions.add_reaction(user=student, message_id=message.pk, emoji="❤")
    again = reactions.add_reaction(user=student, message_id=message.pk, emoji="❤️")
    reactions.add_reaction(user=mentor, message_id=message.pk, emoji="👍")
    removed = reactions.remove_reaction(user=mentor, message_id=message.pk, emoji="👍")
    pins.pin_message(user=mentor, message_id=message.pk)
    saved.save_message(user=student, message_id=message.pk)
    payload = events.message_payload(selectors.message_for(student, message.pk))
    return {
        "added": [first, again],
        "removed": removed,
        "reactions": [(r["emoji"], r["count"]) for r in payload["reactions"]],
        "pinned_by": payload["pinned"]["pinned_by"]["display_name"],
        "student_pins": refusal(pins.pin_message, user=student, message_id=message.pk),
        "pinned_list": len(pin_selectors.pinned_messages(user=student, conversation_id=group.pk)),
        "saved_list": len(saved_selectors.saved_page(user=student, limit=10).saved),
    }
