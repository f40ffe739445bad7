"""The demo's end-to-end encrypted conversation: Maria (mentor) and Sam
(student) have one, beside their plain one, with no key yet (version 0, a
rotation required): whichever of them opens it first in a browser makes its
first key. Running it again adds nothing."""

from accounts.models import User
from messaging import services
from messaging.models import Conversation, ConversationType

DEMO_PAIR = ("maria@parley.test", "sam@parley.test")


def seed_demo(users: dict[str, User]) -> None:
    mentor, student = (users.get(email) for email in DEMO_PAIR)
    if mentor is None or student is None:
        return
    exists = (
        Conversation.objects.filter(
            type=ConversationType.DIRECT,
            e2e_state__isnull=False,
            participants__user=mentor,
        )
        .filter(participants__user=student)
        .exists()
    )
    if exists:
        return
    services.create_conversation(
        creator=mentor,
        kind=ConversationType.DIRECT,
        participants=[student],
        encrypted=True,
        notify=False,
    )
