"""The demo's video call: Maria started one in a group conversation she is
in (the capstone study group of ``seed_demo``). Running it again adds
nothing; where video calls are not set up it adds nothing either."""

from accounts.models import User
from messaging.integrations.meetings import providers, services
from messaging.integrations.models import Meeting
from messaging.models import Conversation, ConversationParticipant, ConversationType

DEMO_STARTER = "maria@parley.test"
DEMO_TITLE = "Capstone check-in"


def seed_demo(users: dict[str, User]) -> None:
    maria = users.get(DEMO_STARTER)
    if maria is None or not providers.enabled():
        return
    if Meeting.objects.filter(started_by=maria, title=DEMO_TITLE).exists():
        return
    memberships = ConversationParticipant.objects.active().filter(user=maria)
    group = (
        Conversation.objects.filter(
            type=ConversationType.GROUP,
            archived_at__isnull=True,
            pk__in=memberships.values("conversation_id"),
        )
        .order_by("created_at")
        .first()
    )
    if group is None:
        return
    services.start_meeting(actor=maria, conversation_id=group.pk, title=DEMO_TITLE)
