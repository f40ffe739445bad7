"""``support.updated`` reaches every member's socket of the request's
conversation, after the change committed, in the shape of docs/protocol.md;
nobody else's."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from accounts.models import Role
from messaging.support import services
from messaging.support.models import SupportCategory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async

SUPPORT_KEYS = {
    "id",
    "conversation_id",
    "subject",
    "status",
    "priority",
    "category",
    "requester",
    "assignee",
    "created_at",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "overdue",
    "rating",
}
# Frames the changes also cause, which this test does not look at.
OTHERS = ("message.new", "conversation.updated", "conversation.added")


def _open(student):
    # A transactional test empties the tables (the migration's categories too).
    category, _ = SupportCategory.objects.get_or_create(
        slug="complaint", defaults={"name": "Complaint"}
    )
    return services.open_request(
        requester=student,
        category_id=category.pk,
        subject="Locker jammed",
        body="Locker 12 will not open.",
        client_id=uuid.uuid4(),
    )


async def test_members_sockets_see_support_updated(open_socket, make_user):
    student = await orm(make_user)(Role.STUDENT)
    admin = await orm(make_user)(Role.ADMIN)
    outsider = await orm(make_user)(Role.STUDENT)
    request = await orm(_open)(student)
    student_socket = await open_socket(student)
    admin_socket = await open_socket(admin)
    outsider_socket = await open_socket(outsider)

    await orm(services.assign)(actor=admin, request_id=request.pk, assignee_id=admin.pk)
    for socket in (student_socket, admin_socket):
        frame = await socket.recv_type("support.updated", also_skip=OTHERS)
        assert set(frame) == {"type", "support"}
        assert set(frame["support"]) == SUPPORT_KEYS  # no allowed_statuses in frames
        assert frame["support"]["id"] == str(request.pk)
        assert frame["support"]["assignee"]["id"] == str(admin.pk)

    await orm(services.change_status)(actor=admin, request_id=request.pk, status="resolved")
    frame = await student_socket.recv_type("support.updated", also_skip=OTHERS)
    assert frame["support"]["status"] == "resolved"
    assert frame["support"]["resolved_at"] is not None

    assert await outsider_socket.nothing() is True
    for socket in (student_socket, admin_socket, outsider_socket):
        await socket.close()


async def test_a_refused_change_publishes_nothing(open_socket, make_user):
    student = await orm(make_user)(Role.STUDENT)
    await orm(make_user)(Role.ADMIN)
    request = await orm(_open)(student)
    socket = await open_socket(student)
    with pytest.raises(Exception, match="cannot be moved"):
        await orm(services.change_status)(actor=student, request_id=request.pk, status="pending")
    assert await socket.nothing(ignore=("presence", "notification.new", *OTHERS)) is True
    await socket.close()
