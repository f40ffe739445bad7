"""Blocks between people: who may block whom, the API, and that a block
stops direct messages both ways (API and socket) until it is lifted, while
group conversations carry on."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from accounts.models import Role
from messaging import policy, services
from messaging.errors import AccessDenied, PersonBlocked
from messaging.models import AuditAction, AuditLog, Message, UserBlock
from messaging.moderation.services import blocks

pytestmark = [pytest.mark.services]

orm = sync_to_async


def _block(api, user, other):
    return api(user).put(f"/api/blocks/{other.pk}/")


def _send(api, user, conversation, content="hello"):
    return api(user).post(
        f"/api/conversations/{conversation.pk}/messages/",
        {"content": content, "client_id": str(uuid.uuid4())},
        format="json",
    )


@pytest.mark.django_db
def test_blocking_through_the_api_lists_audits_and_is_idempotent(api, make_user, mentor):
    other = make_user(Role.MENTOR, name="Pushy Peer")
    first = _block(api, mentor, other)
    assert first.status_code == 201, first.json()
    assert first.json()["user"] == {
        "id": str(other.pk),
        "display_name": "Pushy Peer",
        "role": "mentor",
    }
    assert _block(api, mentor, other).status_code == 200
    assert UserBlock.objects.filter(blocker=mentor, blocked=other).count() == 1
    listed = api(mentor).get("/api/blocks/").json()["blocks"]
    assert [b["user"]["id"] for b in listed] == [str(other.pk)]
    assert api(other).get("/api/blocks/").json()["blocks"] == []
    row = AuditLog.objects.get(action=AuditAction.BLOCK)
    assert row.actor == mentor and row.target_user_id == other.pk

    assert api(mentor).delete(f"/api/blocks/{other.pk}/").status_code == 204
    assert not UserBlock.objects.exists()
    assert AuditLog.objects.get(action=AuditAction.UNBLOCK).target_user_id == other.pk
    # Harmless again.
    assert api(mentor).delete(f"/api/blocks/{other.pk}/").status_code == 204
    assert AuditLog.objects.filter(action=AuditAction.UNBLOCK).count() == 1


@pytest.mark.django_db
def test_a_student_cannot_block_their_mentor_or_an_admin(api, assigned, admin_user, make_user):
    mentor, student = assigned
    for other in (mentor, admin_user):
        response = _block(api, student, other)
        assert response.status_code == 403, other.role
        assert response.json()["error"]["code"] == "forbidden"
        assert not policy.may_block(student, other)
    assert not UserBlock.objects.exists()
    assert AuditLog.objects.filter(actor=student, action=AuditAction.ACCESS_DENIED).exists()
    # Another mentor and another student they may block; the mentor may
    # block the student.
    assert _block(api, student, make_user(Role.MENTOR)).status_code == 201
    assert _block(api, student, make_user(Role.STUDENT)).status_code == 201
    assert _block(api, mentor, student).status_code == 201


@pytest.mark.django_db
def test_nobody_blocks_themselves_or_nobody(api, mentor):
    assert _block(api, mentor, mentor).status_code == 400
    missing = api(mentor).put("/api/blocks/00000000-0000-4000-8000-000000000000/")
    assert missing.status_code == 404
    assert api().get("/api/blocks/").status_code == 401


@pytest.mark.django_db
def test_a_block_stops_direct_sends_both_ways_and_unblock_restores(api, direct, assigned):
    blocker, blocked = assigned  # the mentor blocks their student
    blocks.block_person(blocker=blocker, blocked_id=blocked.pk)

    for sender, message in ((blocker, "You can't message"), (blocked, "can't receive")):
        response = _send(api, sender, direct)
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "blocked" and message in error["message"]
    assert not Message.objects.filter(conversation=direct, message_type="text").exists()
    assert not policy.may_post(blocker, direct) and not policy.may_post(blocked, direct)
    assert not policy.postable_conversations(blocker).filter(pk=direct.pk).exists()
    # The person is gone from the other's list of people to write to.
    assert not policy.messageable_users(blocker).filter(pk=blocked.pk).exists()
    assert not policy.messageable_users(blocked).filter(pk=blocker.pk).exists()
    # Starting the conversation again says why too.
    with pytest.raises(PersonBlocked):
        services.create_conversation(creator=blocked, kind="direct", participants=[blocker])

    blocks.unblock_person(blocker=blocker, blocked_id=blocked.pk)
    assert _send(api, blocked, direct).status_code == 201
    assert _send(api, blocker, direct).status_code == 201
    assert policy.messageable_users(blocker).filter(pk=blocked.pk).exists()


@pytest.mark.django_db
def test_a_block_leaves_group_conversations_alone(api, assigned, make_user):
    mentor, student = assigned
    peer = make_user(Role.MENTOR)
    group = services.create_conversation(
        creator=mentor, kind="group", participants=[student, peer], title="Cohort"
    )
    blocks.block_person(blocker=mentor, blocked_id=peer.pk)
    assert _send(api, peer, group).status_code == 201
    assert _send(api, mentor, group).status_code == 201
    assert group.participants.active().filter(user=peer).exists()


@pytest.mark.django_db
def test_editing_in_a_blocked_conversation_is_refused_deleting_is_not(api, direct, assigned):
    mentor, student = assigned
    message = services.send_message(
        sender=mentor, conversation_id=direct.pk, content="hi", client_id=uuid.uuid4()
    ).message
    blocks.block_person(blocker=mentor, blocked_id=student.pk)
    edit = api(mentor).patch(f"/api/messages/{message.pk}/", {"content": "x"}, format="json")
    assert edit.status_code == 403 and edit.json()["error"]["code"] == "blocked"
    assert api(mentor).delete(f"/api/messages/{message.pk}/").status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_the_socket_refuses_a_send_to_a_blocked_person(open_socket, direct, assigned):
    mentor, student = assigned
    await orm(blocks.block_person)(blocker=mentor, blocked_id=student.pk)
    for sender in (student, mentor):
        socket = await open_socket(sender)
        client_id = str(uuid.uuid4())
        await socket.send(
            {
                "type": "message.send",
                "conversation_id": str(direct.pk),
                "content": "are you there?",
                "client_id": client_id,
                "ref": "r1",
            }
        )
        error = await socket.recv_type("error")
        assert error["code"] == "blocked" and error["client_id"] == client_id
        await socket.close()
    assert not await orm(Message.objects.filter(conversation=direct, message_type="text").exists)()


@pytest.mark.django_db
def test_the_conversation_page_shows_the_block_control_and_notice(client, direct, assigned):
    mentor, student = assigned
    page = f"/c/{direct.pk}/"
    client.force_login(mentor)
    html = client.get(page).content.decode()
    assert 'id="block-toggle"' in html and 'id="composer"' in html
    assert 'id="report-dialog"' in html and 'value="safeguarding"' in html
    blocks.block_person(blocker=mentor, blocked_id=student.pk)
    html = client.get(page).content.decode()
    assert "You blocked" in html and 'id="composer"' not in html
    assert 'data-blocked="true"' in html

    client.force_login(student)
    html = client.get(page).content.decode()
    # No Block for one's assigned mentor; the notice says why nothing can be sent.
    assert 'id="block-toggle"' not in html
    assert "can't receive your messages" in html and 'id="composer"' not in html


@pytest.mark.django_db
def test_a_block_is_named_only_where_the_conversation_was_allowed(make_user):
    """Someone who could never write to the other is refused as before, not
    told about a block."""
    student, stranger = make_user(Role.STUDENT), make_user(Role.STUDENT)
    UserBlock.objects.create(blocker=stranger, blocked=student)
    with pytest.raises(AccessDenied):
        services.create_conversation(creator=student, kind="direct", participants=[stranger])


def test_blocking_spends_from_the_send_bucket(api, make_user, mentor, settings):
    """Each block and unblock is an audit row, kept for ever: past the send
    budget they are refused, and nothing is written."""
    settings.PARLEY = {**settings.PARLEY, "SEND_BURST": 3, "SEND_RATE_PER_SECOND": 0.01}
    other = make_user(Role.MENTOR)
    client = api(mentor)
    answers = [
        client.put(f"/api/blocks/{other.pk}/"),
        client.delete(f"/api/blocks/{other.pk}/"),
        client.put(f"/api/blocks/{other.pk}/"),
        client.delete(f"/api/blocks/{other.pk}/"),
    ]
    assert [a.status_code for a in answers] == [201, 204, 201, 429]
    assert answers[3].json()["error"]["code"] == "rate_limited"
    assert UserBlock.objects.filter(blocker=mentor, blocked=other).exists()


@pytest.mark.django_db(transaction=True)
async def test_both_people_hear_block_changed_each_naming_the_other(open_socket, direct, assigned):
    mentor, student = assigned
    blocker = await open_socket(mentor)
    blocked = await open_socket(student)
    for change in (blocks.block_person, blocks.unblock_person):
        await orm(change)(blocker=mentor, blocked_id=student.pk)
        assert (await blocker.recv_type("block.changed"))["user_id"] == str(student.pk)
        assert (await blocked.recv_type("block.changed"))["user_id"] == str(mentor.pk)
    await blocker.close()
    await blocked.close()
