"""The bots' and webhooks' demo content: made once, however often it runs."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from messaging.integrations.models import Bot, IncomingWebhook
from messaging.integrations.webhooks import demo
from messaging.models import ConversationParticipant, Message

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_the_demo_is_made_once():
    call_command("seed_demo", stdout=StringIO())
    users = {user.email: user for user in User.objects.all()}
    demo.seed_demo(users)
    demo.seed_demo(users)
    bot = Bot.objects.get(user__display_name=demo.BOT_NAME)
    assert bot.owner.email == "maria@parley.test"
    webhook = IncomingWebhook.objects.get(name=demo.WEBHOOK_NAME)
    assert webhook.conversation.title == demo.GROUP_TITLE
    members = ConversationParticipant.objects.active().filter(conversation=webhook.conversation)
    assert {bot.user_id, webhook.bot.user_id} <= set(members.values_list("user_id", flat=True))
    posts = Message.objects.filter(sender=webhook.bot.user)
    assert [p.content for p in posts] == [demo.WEBHOOK_POST]
