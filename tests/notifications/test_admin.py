"""The notifications tables in the Django admin: the feed, the delivery
records and the push devices are read-only lists an operator can search and
filter; the only changes are the actions, which call the services."""

import datetime as dt
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from messaging import services
from notifications.models import (
    Channel,
    Delivery,
    DeliveryState,
    Notification,
    PushSubscription,
)
from notifications.services import fanout
from tests.notifications.helpers import subscribe_device

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    root = User.objects.create_superuser(
        email="root@example.test", password="root-password-1", display_name="Root"
    )
    client.force_login(root)
    return client


def _url(model, view, *args):
    return reverse(f"admin:notifications_{model._meta.model_name}_{view}", args=args)


def _results(response):
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def _actions(response) -> set[str]:
    form = response.context["action_form"]
    return set(dict(form.fields["action"].choices)) if form else set()


def _send(sender, conversation, text):
    sent = services.send_message(
        sender=sender, conversation_id=conversation.pk, content=text, client_id=uuid.uuid4()
    )
    fanout.notify_message(message_id=sent.message.pk)  # what the commit would run
    return sent.message


@pytest.fixture
def notified(direct, assigned):
    """The student has two unread notifications of direct messages, the
    mentor one."""
    mentor, student = assigned
    _send(mentor, direct, "first")
    _send(mentor, direct, "second")
    _send(student, direct, "a reply")
    return mentor, student


def test_notifications_are_listed_searched_and_filtered(admin_client, notified):
    mentor, student = notified
    changelist = _url(Notification, "changelist")
    assert len(_results(admin_client.get(changelist))) == 3
    mine = _results(admin_client.get(changelist, {"q": student.email}))
    assert len(mine) == 2 and {n.user for n in mine} == {student}
    assert _results(admin_client.get(changelist, {"kind__exact": "mention"})) == []
    Notification.objects.filter(user=mentor).update(read_at=timezone.now())
    unread = _results(admin_client.get(changelist, {"read_at__isempty": "1"}))
    assert {n.user for n in unread} == {student}
    page = admin_client.get(changelist, {"q": student.email}).content.decode()
    assert student.email in page and "Direct messages" in page


def test_notifications_cannot_be_added_changed_or_deleted(admin_client, notified):
    row = Notification.objects.first()
    assert admin_client.get(_url(Notification, "add")).status_code == 403
    assert admin_client.get(_url(Notification, "delete", row.pk)).status_code == 403
    assert admin_client.get(_url(Notification, "change", row.pk)).status_code == 200
    response = admin_client.post(_url(Notification, "change", row.pk), {"kind": "mention"})
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.kind == "direct"
    assert "delete_selected" not in _actions(admin_client.get(_url(Notification, "changelist")))


def test_mark_read_action_goes_through_the_feed_service(
    admin_client, notified, django_capture_on_commit_callbacks
):
    mentor, student = notified
    chosen = Notification.objects.filter(user=student).order_by("created_at").first()
    already = Notification.objects.get(user=mentor)
    read_at = timezone.now() - dt.timedelta(days=1)
    Notification.objects.filter(pk=already.pk).update(read_at=read_at)
    with django_capture_on_commit_callbacks() as announced:
        response = admin_client.post(
            _url(Notification, "changelist"),
            {"action": "mark_read", "_selected_action": [chosen.pk, already.pk]},
        )
    assert response.status_code == 302
    chosen.refresh_from_db()
    already.refresh_from_db()
    assert chosen.read_at is not None
    assert already.read_at == read_at  # read before: left as it was
    # The other notification of the same person is untouched.
    assert Notification.objects.filter(user=student, read_at__isnull=True).count() == 1
    # The service announces the change to the person's tabs (after commit):
    # once, for the one row that changed.
    assert len(announced) == 1


def test_view_only_staff_cannot_mark_read_or_forget_devices(client, make_user, notified):
    mentor, student = notified
    subscribe_device(student, "https://push.example.com/send/student")
    viewer = make_user(Role.ADMIN, is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_notification", "view_pushsubscription"])
    )
    client.force_login(viewer)
    response = client.get(_url(Notification, "changelist"))
    assert response.status_code == 200 and "mark_read" not in _actions(response)
    row = Notification.objects.filter(user=student).first()
    client.post(
        _url(Notification, "changelist"), {"action": "mark_read", "_selected_action": [row.pk]}
    )
    row.refresh_from_db()
    assert row.read_at is None
    response = client.get(_url(PushSubscription, "changelist"))
    assert response.status_code == 200 and "forget_devices" not in _actions(response)
    device = PushSubscription.objects.get(user=student)
    client.post(
        _url(PushSubscription, "changelist"),
        {"action": "forget_devices", "_selected_action": [device.pk]},
    )
    assert PushSubscription.objects.filter(pk=device.pk).exists()


def test_stuck_pending_deliveries_are_found_by_state_and_key(admin_client, student, mentor):
    key = "missed:conversation:1"
    stuck = Delivery.objects.create(user=student, channel=Channel.EMAIL, key=key)
    Delivery.objects.create(
        user=student, channel=Channel.EMAIL, key="digest:daily:2026-01-05", state="sent"
    )
    Delivery.objects.create(user=mentor, channel=Channel.PUSH, key="notification:x:y")
    changelist = _url(Delivery, "changelist")
    pending = _results(admin_client.get(changelist, {"state__exact": DeliveryState.PENDING}))
    assert {d.key for d in pending} == {key, "notification:x:y"}
    pending_email = _results(
        admin_client.get(changelist, {"state__exact": "pending", "channel__exact": "email"})
    )
    assert pending_email == [stuck]
    assert _results(admin_client.get(changelist, {"q": "missed:"})) == [stuck]
    assert len(_results(admin_client.get(changelist, {"q": mentor.email}))) == 1
    assert admin_client.get(_url(Delivery, "add")).status_code == 403
    assert admin_client.get(_url(Delivery, "delete", stuck.pk)).status_code == 403
    response = admin_client.post(_url(Delivery, "change", stuck.pk), {"state": "sent"})
    assert response.status_code == 403
    stuck.refresh_from_db()
    assert stuck.state == DeliveryState.PENDING


def test_push_devices_are_searched_and_forgotten_through_the_service(admin_client, student, mentor):
    phone = subscribe_device(student, "https://push.example.com/send/phone")
    laptop = subscribe_device(student, "https://push.example.com/send/laptop")
    other = subscribe_device(mentor, "https://push.example.com/send/mentor")
    changelist = _url(PushSubscription, "changelist")
    assert set(_results(admin_client.get(changelist, {"q": student.email}))) == {phone, laptop}
    assert _results(admin_client.get(changelist, {"q": "send/mentor"})) == [other]
    page = admin_client.get(_url(PushSubscription, "change", phone.pk)).content.decode()
    assert phone.p256dh not in page and phone.auth not in page  # the keys stay off the page
    assert admin_client.get(_url(PushSubscription, "add")).status_code == 403
    assert admin_client.get(_url(PushSubscription, "delete", phone.pk)).status_code == 403
    response = admin_client.get(changelist)
    assert "forget_devices" in _actions(response)
    assert "delete_selected" not in _actions(response)
    response = admin_client.post(
        changelist, {"action": "forget_devices", "_selected_action": [phone.pk, other.pk]}
    )
    assert response.status_code == 302
    assert list(PushSubscription.objects.all()) == [laptop]
