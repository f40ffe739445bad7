"""Demo content: the assistant "Success Partner AI", owned by Ada (the demo
admin), a member of the capstone study group. With the assistant off (no
``AI_BASE_URL``) it is there all the same, and the group's page says it is
not configured."""

from accounts.models import User
from messaging.integrations.bots import services as bot_services
from messaging.integrations.models import Bot, BotKind
from messaging.models import Conversation
from messaging.services import add_participants

ASSISTANT_NAME = "Success Partner AI"
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
    bot = Bot.objects.filter(
        owner=owner, kind=BotKind.ASSISTANT, user__display_name=ASSISTANT_NAME
    ).first()
    if bot is None:
        bot = bot_services.create_bot(
            owner=owner,
            display_name=ASSISTANT_NAME,
            kind=BotKind.ASSISTANT,
            instructions=INSTRUCTIONS,
            issue_token=False,
        ).bot
    group = Conversation.objects.filter(metadata__demo=GROUP_DEMO_INDEX).first()
    if group is not None and not group.participants.active().filter(user=bot.user).exists():
        add_participants(actor=owner, conversation_id=group.pk, users=[bot.user])
