"""Demo content: the assistant "Success Partner AI", owned by Ada (the demo
admin), a member of the capstone study group. With the assistant off (no
``AI_BASE_URL``) it is there all the same, and the group's page says it is
not configured."""

from accounts.models import User
from messaging.integrations.assistant import services
from messaging.models import Conversation

ASSISTANT_EMAIL = "success-partner@parley.test"
OWNER_EMAIL = "admin@parley.test"
# The demo's capstone study group (``metadata.demo`` of seed_demo's CONVERSATIONS).
GROUP_DEMO_INDEX = 3
INSTRUCTIONS = (
    "You are Success Partner AI, the study assistant of Parley's capstone students. "
    "Help them plan, unblock and reflect: short answers, concrete next steps, and "
    "point them to their mentor for grading questions."
)


def seed_demo(users: dict[str, User]) -> None:
    """Make the assistant and add it to the capstone group; running it
    again adds nothing."""
    owner = users[OWNER_EMAIL]
    bot = services.ensure_assistant_bot(
        owner=owner, email=ASSISTANT_EMAIL, instructions=INSTRUCTIONS
    )
    group = Conversation.objects.filter(metadata__demo=GROUP_DEMO_INDEX).first()
    if group is not None and not group.participants.active().filter(user=bot.user).exists():
        services.add_to_conversation(actor=owner, bot=bot, conversation_id=group.pk)
