"""A bot's page in the Django admin: an admin edits an assistant's
instructions and a webhook bot's URL through the bots' service (audited,
the URL checked as the API checks it); nobody else changes a bot there."""

import pytest
from django.urls import reverse

from accounts.models import Role
from messaging.integrations.bots import services as bot_services
from messaging.integrations.models import Bot, BotKind
from messaging.models import AuditAction, AuditLog

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def change_url(bot: Bot) -> str:
    return reverse("admin:messaging_bot_change", args=[bot.pk])


def test_an_admin_writes_an_assistants_instructions(client, make_user):
    admin = make_user(Role.ADMIN, is_staff=True, is_superuser=True)
    bot = bot_services.create_bot(
        owner=admin, display_name="Success Partner AI", kind=BotKind.ASSISTANT
    ).bot
    client.force_login(admin)
    page = client.get(change_url(bot))
    assert page.status_code == 200 and b"instructions" in page.content
    response = client.post(change_url(bot), {"instructions": "Answer in one sentence."})
    assert response.status_code == 302, response.content
    bot.refresh_from_db()
    assert bot.instructions == "Answer in one sentence."
    assert AuditLog.objects.filter(action=AuditAction.BOT_UPDATE, actor=admin).exists()


def test_a_webhook_bots_url_is_checked_as_the_api_checks_it(client, make_user):
    admin = make_user(Role.ADMIN, is_staff=True, is_superuser=True)
    bot = bot_services.create_bot(owner=admin, display_name="Course calendar").bot
    client.force_login(admin)
    response = client.post(
        change_url(bot), {"instructions": "", "outgoing_url": "http://127.0.0.1:9/hook"}
    )
    assert response.status_code == 200  # the form again, with the error
    assert response.context["adminform"].form.errors["outgoing_url"]
    bot.refresh_from_db()
    assert bot.outgoing_url == ""


def test_a_staff_mentor_cannot_change_a_bot_in_the_admin(client, make_user):
    admin = make_user(Role.ADMIN)
    mentor = make_user(Role.MENTOR, is_staff=True, is_superuser=True)
    bot = bot_services.create_bot(owner=admin, display_name="Course calendar").bot
    client.force_login(mentor)
    response = client.post(change_url(bot), {"instructions": "x", "outgoing_url": ""})
    assert response.status_code == 403
    bot.refresh_from_db()
    assert bot.instructions == ""
