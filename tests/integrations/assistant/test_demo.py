"""The assistant's demo content: made once, whatever the number of runs."""

import pytest

from accounts.models import Role, User
from messaging import services as messaging_services
from messaging.integrations.assistant import demo
from messaging.integrations.models import Bot, BotKind
from messaging.models import ConversationType, Message

pytestmark = pytest.mark.django_db


def test_the_demo_assistant_is_made_once_and_joins_the_capstone_group(make_user):
    ada = User.objects.create_user(
        email="admin@parley.test", password="pw-demo-admin", display_name="Ada", role=Role.ADMIN
    )
    maria = make_user(Role.MENTOR)
    group = messaging_services.create_conversation(
        creator=ada,
        kind=ConversationType.GROUP,
        participants=[maria],
        title="Capstone study group",
        metadata={"demo": demo.GROUP_DEMO_INDEX},
    )
    users = {"admin@parley.test": ada}

    demo.seed_demo(users)
    messages = Message.objects.count()
    demo.seed_demo(users)

    bot = Bot.objects.get()
    assert bot.kind == BotKind.ASSISTANT and bot.owner == ada
    assert bot.user.display_name == "Success Partner AI"
    assert bot.user.role == Role.BOT and not bot.user.has_usable_password()
    assert bot.instructions == demo.INSTRUCTIONS
    assert group.participants.active().filter(user=bot.user).count() == 1
    assert Message.objects.count() == messages
