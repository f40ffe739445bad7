"""The Django admin: every registered model's pages open for a superuser,
search and filters narrow the lists, and admin actions go through services."""

from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from messaging import services
from messaging.e2e.models import Device, DeviceStatus
from messaging.files.models import Attachment, AttachmentKind
from messaging.models import (
    AuditAction,
    AuditLog,
    Conversation,
    ConversationParticipant,
    ConversationType,
    FilterAction,
    FilterHit,
    FilterRule,
    Message,
    MessageStatus,
    Mute,
    Report,
    RoleLimits,
    UserBlock,
    UserPresence,
    Warning,
)
from messaging.moderation.services import cases
from notifications import services as notification_services
from notifications.models import Channel, Delivery
from notifications.services import fanout
from tests.notifications.helpers import subscribe_device


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser(
        email="root@example.test", password="root-password-1", display_name="Root"
    )


@pytest.fixture
def populated(superuser):
    """At least one row of every registered model."""
    call_command("seed_demo", stdout=StringIO())
    # A plain one: the seed's encrypted direct conversation has no messages.
    direct = Conversation.objects.filter(
        type=ConversationType.DIRECT, e2e_state__isnull=True
    ).first()
    reader = direct.participants.exclude(user=direct.messages.last().sender).first().user
    # The seed's notifications follow its commits, which a test never makes:
    # the fan-out of the last direct message is run here instead.
    fanout.notify_message(message_id=direct.messages.last().pk)
    services.mark_read(user=reader, conversation_id=direct.pk, up_to_seq=direct.last_seq)
    UserPresence.objects.create(user=reader)
    notification_services.update_preferences(user=reader)
    if not Attachment.objects.exists():
        # An upload's row (its bytes are not needed to list it).
        Attachment.objects.create(
            conversation=direct,
            uploader=reader,
            original_name="notes.txt",
            name="notes.txt",
            size=5,
            content_type="text/plain",
            kind=AttachmentKind.TEXT,
            sha256="0" * 64,
            storage_key="attachments/00/none/original.txt",
        )
    # A device and a delivery record (seeded messages make the notifications).
    subscribe_device(reader, "https://push.example.com/send/reader")
    Delivery.objects.create(user=reader, channel=Channel.EMAIL, key="digest:daily:2026-01-05")
    Group.objects.get_or_create(name="Moderators")  # migration 0009 makes it
    # A flagged message's filter hit (the seed has the rules, not hits).
    FilterHit.objects.create(
        rule=FilterRule.objects.first(),
        rule_name="Demo rule",
        action=FilterAction.FLAG,
        user=reader,
        conversation=direct,
        message=direct.messages.last(),
        excerpt="a flagged line",
    )
    # Moderation: a reported message's case, a mute, a warning, a block,
    # limits for a role.
    reported = direct.messages.exclude(sender=None).first()
    case = cases.open_case(reported, reports=1)
    Report.objects.create(case=case, message=reported, reporter=reader, reason="spam")
    now = timezone.now()
    Mute.objects.create(
        user=reported.sender, starts_at=now, ends_at=now + timedelta(hours=1), note="cool off"
    )
    Warning.objects.create(
        user=reported.sender, conversation=direct, message=reported, text="Be kind."
    )
    UserBlock.objects.create(blocker=reader, blocked=reported.sender)
    RoleLimits.objects.create(role=Role.STUDENT, send_burst=10)
    if apps.is_installed("rest_framework.authtoken"):
        from rest_framework.authtoken.models import Token

        Token.objects.create(user=reader)
    if apps.is_installed("django_celery_beat"):
        # The periodic tasks' pages (their schedule is edited there).
        import datetime as dt

        from django_celery_beat.models import ClockedSchedule, CrontabSchedule, SolarSchedule

        call_command("setup_periodic_tasks", stdout=StringIO())
        CrontabSchedule.objects.create(minute="0", hour="8")
        SolarSchedule.objects.create(event="sunrise", latitude=52.5, longitude=13.4)
        ClockedSchedule.objects.create(clocked_time=timezone.now() + dt.timedelta(days=1))
    if apps.is_installed("axes"):
        # A failed login is what makes an access attempt row.
        Client().post("/login/", {"username": reader.email, "password": "wrong"})
    # Reactions, pins and link previews (messaging.threads).
    from messaging.threads.models import LinkPreview, Pin, Reaction

    if not Reaction.objects.exists():
        Reaction.objects.create(message=reported, user=reader, emoji="👍")
    if not Pin.objects.exists():
        Pin.objects.create(message=reported, conversation=direct, pinned_by=reader)
    if not LinkPreview.objects.exists():
        LinkPreview.objects.create(message=reported, url="https://example.com/")
    # Reminders and calendar feeds (messaging.integrations.reminders).
    from messaging.integrations.models import CalendarFeed, Reminder

    Reminder.objects.create(user=reader, message=reported, remind_at=now, note="read it")
    CalendarFeed.objects.create(user=reader, token="admin-page-test-token")
    # Bots, incoming webhooks and the outgoing delivery log.
    from messaging.integrations.models import Bot, OutgoingDelivery
    from messaging.integrations.webhooks import demo as webhooks_demo

    webhooks_demo.seed_demo({user.email: user for user in User.objects.all()})
    # End-to-end encryption: a device (the seed's encrypted conversation has none).
    from tests.e2e.server.keys import Device as KeyPairs

    keys = KeyPairs(user_id=reader.pk)
    Device.objects.create(
        id=keys.id,
        user=reader,
        status=DeviceStatus.ACTIVE,
        ecdh_public=keys.ecdh_public,
        signing_public=keys.signing_public,
    )
    if not OutgoingDelivery.objects.exists():
        OutgoingDelivery.objects.create(bot=Bot.objects.first(), message=reported)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def _registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model", [m for m, _ in _registered()], ids=[m._meta.label for m, _ in _registered()]
)
def test_every_admin_page_opens(model, admin_client, populated):
    model_admin = admin.site._registry[model]
    changelist = _url(model, "changelist")
    response = admin_client.get(changelist)
    assert response.status_code == 200
    cl = response.context["cl"]
    assert cl.result_count >= 1
    # Every choice of every list filter opens.
    for spec in cl.filter_specs:
        for choice in spec.choices(cl):
            assert admin_client.get(changelist + choice["query_string"]).status_code == 200

    request = response.wsgi_request
    if model_admin.has_add_permission(request):
        assert admin_client.get(_url(model, "add")).status_code == 200

    obj = model._default_manager.first()
    assert obj is not None, f"no {model._meta.label} to open"
    response = admin_client.get(_url(model, "change", obj.pk))
    assert response.status_code == 200, response.content[:500]

    if model_admin.search_fields:
        assert admin_client.get(changelist, {"q": "a"}).status_code == 200


@pytest.mark.django_db
def test_admin_pages_name_the_sites_icon(admin_client):
    """Without a link of its own the browser asks /favicon.ico: a 404 in
    the console of every admin page."""
    signed_in = admin_client.get(reverse("admin:index"))
    # Model names read as English (not "Message statuss").
    assert b"Message statuses" in signed_in.content
    assert b"Outgoing deliveries" in signed_in.content
    signing_in = Client().get(reverse("admin:login"))
    for response in (signed_in, signing_in):
        assert response.status_code == 200
        assert b'rel="icon"' in response.content


def _results(response):
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.django_db
def test_search_and_filters_narrow_the_lists(admin_client, populated):
    group = Conversation.objects.get(type=ConversationType.GROUP)
    by_title = _results(admin_client.get(_url(Conversation, "changelist"), {"q": "Capstone"}))
    assert by_title == [group]
    by_member = _results(
        admin_client.get(_url(Conversation, "changelist"), {"q": "tara@parley.test"})
    )
    assert {c.type for c in by_member} == {ConversationType.SUPPORT}

    supports = _results(
        admin_client.get(_url(Conversation, "changelist"), {"type__exact": "support"})
    )
    assert supports and all(c.type == ConversationType.SUPPORT for c in supports)

    mentors = _results(admin_client.get(_url(User, "changelist"), {"role__exact": "mentor"}))
    assert sorted(u.email for u in mentors) == ["marcus@parley.test", "maria@parley.test"]

    found = _results(admin_client.get(_url(Message, "changelist"), {"q": "mock interview"}))
    assert [m.content for m in found] == ["Theo, how did the mock interview go?"]

    sends = _results(
        admin_client.get(_url(AuditLog, "changelist"), {"action__exact": AuditAction.MESSAGE_SEND})
    )
    assert sends and {row.action for row in sends} == {AuditAction.MESSAGE_SEND}


@pytest.mark.django_db
def test_admin_actions_go_through_services(admin_client, populated, superuser):
    group = Conversation.objects.get(type=ConversationType.GROUP)
    assert {"archive", "unarchive"} <= _actions(admin_client.get(_url(Conversation, "changelist")))
    response = admin_client.post(
        _url(Conversation, "changelist"), {"action": "archive", "_selected_action": [group.pk]}
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.archived_at is not None
    assert AuditLog.objects.filter(
        action=AuditAction.CONVERSATION_ARCHIVE, actor=superuser, conversation_id=group.pk
    ).exists()

    message = Message.objects.filter(content__contains="mock interview").get()
    chosen = {"action": "delete_for_moderation", "_selected_action": [message.pk]}
    # First the page asking why; nothing is deleted without a note.
    response = admin_client.post(_url(Message, "changelist"), chosen)
    assert response.status_code == 200 and 'name="note"' in response.content.decode()
    admin_client.post(_url(Message, "changelist"), {**chosen, "apply": "1", "note": " "})
    message.refresh_from_db()
    assert message.deleted_at is None
    response = admin_client.post(
        _url(Message, "changelist"), {**chosen, "apply": "1", "note": "spam"}
    )
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.deleted_at is not None and message.content == ""
    row = AuditLog.objects.get(action=AuditAction.MESSAGE_DELETE, message_id=message.pk)
    assert row.details["moderation"] is True and row.details["note"] == "spam"


@pytest.mark.django_db
def test_audit_log_and_messages_cannot_be_changed_in_the_admin(admin_client, populated):
    row = AuditLog.objects.first()
    response = admin_client.post(_url(AuditLog, "change", row.pk), {"action": "read.mark"})
    assert response.status_code == 403
    assert admin_client.get(_url(AuditLog, "delete", row.pk)).status_code == 403
    assert admin_client.get(_url(Message, "add")).status_code == 403
    message = Message.objects.first()
    assert admin_client.get(_url(Message, "delete", message.pk)).status_code == 403
    assert Message.objects.filter(pk=message.pk).exists()


@pytest.mark.django_db
def test_rows_that_services_write_are_read_only_in_the_admin(admin_client, populated):
    """Editing them here would skip the policy, the audit and the events."""
    conversation = Conversation.objects.filter(type=ConversationType.GROUP).get()
    participant = conversation.participants.first()
    for model, obj in [
        (Conversation, conversation),
        (ConversationParticipant, participant),
        (MessageStatus, MessageStatus.objects.first()),
    ]:
        assert admin_client.get(_url(model, "add")).status_code == 403
        assert admin_client.get(_url(model, "delete", obj.pk)).status_code == 403
    response = admin_client.post(
        _url(Conversation, "change", conversation.pk), {"title": "Hijacked", "type": "direct"}
    )
    assert response.status_code == 403
    conversation.refresh_from_db()
    assert (conversation.title, conversation.type) == ("Capstone study group", "group")


@pytest.mark.django_db
def test_staff_without_permissions_sees_no_messaging_admin(client, make_user):
    staff = make_user(Role.ADMIN, is_staff=True)
    client.force_login(staff)
    assert client.get(_url(Message, "changelist")).status_code == 403


def _actions(response) -> set[str]:
    form = response.context["action_form"]
    return set(dict(form.fields["action"].choices)) if form else set()


@pytest.mark.django_db
def test_view_only_staff_cannot_run_the_actions(client, make_user, populated):
    viewer = make_user(Role.ADMIN, is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_conversation", "view_message"])
    )
    client.force_login(viewer)
    group = Conversation.objects.get(type=ConversationType.GROUP)
    response = client.get(_url(Conversation, "changelist"))
    assert response.status_code == 200
    assert "archive" not in _actions(response)
    client.post(
        _url(Conversation, "changelist"), {"action": "archive", "_selected_action": [group.pk]}
    )
    group.refresh_from_db()
    assert group.archived_at is None
    response = client.get(_url(Message, "changelist"))
    assert "delete_for_moderation" not in _actions(response)


def test_message_and_presence_rows_cannot_be_edited_in_the_admin(admin_client, populated):
    """Messages change through services (edit by the author, moderation
    action) and presence rows through the presence service: their change
    pages are view-only, and a forged POST changes nothing."""
    message = Message.objects.exclude(message_type="system").first()
    url = reverse("admin:messaging_message_change", args=[message.pk])
    response = admin_client.post(url, {"content": "rewritten by hand"})
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.content != "rewritten by hand"
    presence = UserPresence.objects.first()
    url = reverse("admin:messaging_userpresence_change", args=[presence.pk])
    assert admin_client.post(url, {"status": "away"}).status_code == 403
