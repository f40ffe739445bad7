"""The demo shows the notification centre at work: a mention and unread
notifications, made by the messages as live ones are."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from notifications.models import Notification


@pytest.mark.django_db(transaction=True)
def test_the_demo_has_a_mention_and_unread_notifications():
    call_command("seed_demo", stdout=StringIO())
    sam = User.objects.get(email="sam@parley.test")
    mention = Notification.objects.get(user=sam, kind="mention")
    assert mention.read_at is None and mention.in_app
    assert str(sam.pk) in mention.message.metadata["mentions"]
    assert Notification.objects.filter(user=sam, kind="direct", read_at__isnull=True).exists()
    before = Notification.objects.count()
    call_command("seed_demo", stdout=StringIO())
    assert Notification.objects.count() == before
