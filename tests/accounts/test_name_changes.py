"""A new display name reaches the sockets of everyone who shares a
conversation with the person, and their own, as one ``user.updated``
(docs/protocol.md); nobody else hears it, and saving the same name sends
nothing."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from accounts import services
from accounts.models import Role
from messaging import services as messaging_services
from messaging.threads.models import Thread
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401 - fixtures

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


async def test_a_new_name_reaches_contacts_and_own_sockets_only(
    open_socket,  # noqa: F811
    direct,
    assigned,
    make_user,
):
    mentor, student = assigned
    stranger = await sync_to_async(make_user)(Role.STUDENT, name="Stella Stranger")
    own = await open_socket(student)
    contact = await open_socket(mentor)
    outsider = await open_socket(stranger)

    renamed = await sync_to_async(services.update_profile)(user=student, display_name="Sam Rivera")
    expected = {"id": str(student.pk), "display_name": "Sam Rivera", "role": Role.STUDENT}
    for socket in (own, contact):
        assert (await socket.recv_type("user.updated"))["user"] == expected
    assert await outsider.nothing()

    # The same name again, or only the language: nothing to tell.
    await sync_to_async(services.update_profile)(
        user=renamed, display_name="Sam Rivera", language="es"
    )
    assert await contact.nothing()
    for socket in (own, contact, outsider):
        await socket.close()


async def test_an_admins_rename_tells_them_too(open_socket, direct, assigned):  # noqa: F811
    mentor, student = assigned
    contact = await open_socket(mentor)
    student.email = "sam.rivera@example.test"
    await sync_to_async(services.save_account)(user=student, changed=["email"])
    assert await contact.nothing()
    student.display_name = "Samuel Student"
    await sync_to_async(services.save_account)(user=student, changed=["display_name"])
    frame = await contact.recv_type("user.updated")
    assert frame["user"]["display_name"] == "Samuel Student"
    await contact.close()


def test_a_thread_summary_names_the_replier_by_the_new_name(direct, assigned):
    mentor, student = assigned
    root = messaging_services.send_message(
        sender=mentor, conversation_id=direct.pk, client_id=uuid.uuid4(), content="Plan?"
    ).message
    messaging_services.send_message(
        sender=student,
        conversation_id=direct.pk,
        client_id=uuid.uuid4(),
        content="Mine is ready",
        parent_id=root.pk,
    )
    services.update_profile(user=student, display_name="Sam Rivera")
    (shown,) = Thread.objects.get(root_id=root.pk).last_repliers
    assert shown == {"id": str(student.pk), "display_name": "Sam Rivera", "role": Role.STUDENT}
