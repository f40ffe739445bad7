"""Demo content for bots and webhooks: Maria's "Study Helper" bot in the
capstone group (no outgoing URL: she gives it one to try outgoing
webhooks), and a "Course calendar" incoming webhook there with one post.
Idempotent: what exists is left alone."""

from accounts.models import User
from messaging.integrations.bots import services as bot_services
from messaging.integrations.models import Bot, IncomingWebhook
from messaging.integrations.webhooks.services import incoming
from messaging.models import Conversation, ConversationParticipant, ConversationType
from messaging.services import add_participants

GROUP_TITLE = "Capstone study group"
BOT_NAME = "Study Helper"
WEBHOOK_NAME = "Course calendar"
WEBHOOK_POST = "Reminder: **capstone check-in** on Friday at 15:00 in room 4."


def seed_demo(users: dict[str, User]) -> None:
    maria = users.get("maria@parley.test")
    group = Conversation.objects.filter(
        title=GROUP_TITLE, type=ConversationType.GROUP, created_by=maria
    ).first()
    if maria is None or group is None:
        return
    bot = Bot.objects.filter(owner=maria, user__display_name=BOT_NAME).first()
    if bot is None:
        bot = bot_services.create_bot(owner=maria, display_name=BOT_NAME).bot
    if (
        not ConversationParticipant.objects.active()
        .filter(conversation=group, user=bot.user)
        .exists()
    ):
        add_participants(actor=maria, conversation_id=group.pk, users=[bot.user])
    if not IncomingWebhook.objects.filter(conversation=group, name=WEBHOOK_NAME).exists():
        issued = incoming.create_incoming_webhook(
            actor=maria, conversation_id=group.pk, name=WEBHOOK_NAME
        )
        incoming.post_incoming(
            webhook=issued.webhook, payload={"text": WEBHOOK_POST}, idempotency_key="demo"
        )
