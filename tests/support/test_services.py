"""Opening, changing and rating support requests: each change is a system
message in the conversation, an audit row and (status, assignee) a
notification to the requester; the timers and the automatic moves of the
requester's messages."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from accounts.models import Role
from messaging import events
from messaging.errors import (
    AccessDenied,
    ClientIdConflict,
    ContentBlocked,
    InvalidInput,
    InvalidTransition,
    TooManyOpenRequests,
)
from messaging.files.payloads import message_text
from messaging.models import (
    AuditAction,
    AuditLog,
    Conversation,
    ConversationParticipant,
    ConversationType,
    FilterAction,
    FilterHit,
    FilterKind,
    FilterRule,
    Message,
    MessageType,
)
from messaging.moderation.models import CaseStatus
from messaging.services import conversations as conversation_services
from messaging.support import selectors, services
from messaging.support.models import SupportRequest, SupportStatus
from notifications.models import Kind, Notification
from tests.messaging.helpers import send

pytestmark = pytest.mark.django_db


@pytest.fixture
def posted(django_capture_on_commit_callbacks):
    """``posted(sender, request, text)``: a message sent and its fan-out (and
    so ``message_posted``) run, as after a real commit."""

    def post(sender, request, text="hello"):
        with django_capture_on_commit_callbacks(execute=True):
            message = send(sender, request.conversation, text)
        request.refresh_from_db()
        return message

    return post


def notices(request, event=None):
    found = Message.objects.filter(
        conversation_id=request.conversation_id, message_type=MessageType.SYSTEM
    ).order_by("seq")
    found = [m for m in found if "support" in m.metadata]
    if event:
        found = [m for m in found if m.metadata["support"]["event"] == event]
    return found


def support_notifications(user):
    return Notification.objects.filter(user=user, kind=Kind.SUPPORT)


# --- Opening ---------------------------------------------------------------------------


def test_open_makes_the_support_conversation_with_the_admins_and_the_first_message(
    student, admin_user, second_admin, complaint, open_request
):
    request = open_request(student, subject="  Broken projector ", body="Since Monday.")
    assert request.status == SupportStatus.OPEN
    assert request.priority == "normal"
    assert request.category == complaint
    assert request.subject == "Broken projector"
    assert request.first_response_at is None
    conversation = request.conversation
    assert conversation.type == ConversationType.SUPPORT
    assert conversation.title == "Broken projector"
    members = set(
        ConversationParticipant.objects.active()
        .filter(conversation=conversation)
        .values_list("user_id", flat=True)
    )
    assert members == {student.pk, admin_user.pk, second_admin.pk}
    messages = list(conversation.messages.order_by("seq"))
    assert [m.message_type for m in messages] == [MessageType.SYSTEM, MessageType.TEXT]
    assert messages[0].metadata["support"]["event"] == "opened"
    assert messages[1].content == "Since Monday." and messages[1].sender == student
    assert AuditLog.objects.filter(
        action=AuditAction.SUPPORT_OPEN, conversation_id=conversation.pk
    ).exists()


def test_open_again_with_the_same_client_id_returns_the_same_request(student, open_request):
    client_id = uuid.uuid4()
    first = open_request(student, client_id=client_id)
    again = open_request(student, client_id=client_id)
    assert again.pk == first.pk
    assert SupportRequest.objects.filter(requester=student).count() == 1
    assert Message.objects.filter(sender=student, client_id=client_id).count() == 1


def test_open_with_a_client_id_used_elsewhere_is_a_conflict_and_leaves_nothing(
    student, direct, open_request
):
    message = send(student, direct, "hi")
    with pytest.raises(ClientIdConflict):
        open_request(student, client_id=message.client_id)
    assert not SupportRequest.objects.exists()
    assert not direct.__class__.objects.filter(type=ConversationType.SUPPORT).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", ""),
        ("subject", "   "),
        ("subject", "a" * 201),
        ("subject", "two\nlines"),
        ("body", ""),
        ("body", "  "),
    ],
)
def test_open_refuses_bad_input(student, admin_user, open_request, field, value):
    with pytest.raises(InvalidInput):
        open_request(student, **{field: value})
    assert not SupportRequest.objects.exists()


def test_open_refuses_an_inactive_category(student, complaint, open_request):
    complaint.is_active = False
    complaint.save()
    with pytest.raises(InvalidInput):
        open_request(student)


def test_waiting_requests_are_bounded_per_person(student, admin_user, open_request, settings):
    """Each request puts every admin in a new conversation: past the cap a
    person opens no more until one is resolved or closed. An admin opening
    one for them is not held to it, and a resend is still the same request."""
    settings.PARLEY = {**settings.PARLEY, "SUPPORT_MAX_OPEN_PER_PERSON": 2}
    key = uuid.uuid4()
    first = open_request(student, client_id=key)
    second = open_request(student)
    services.change_status(actor=admin_user, request_id=second.pk, status="pending")
    with pytest.raises(TooManyOpenRequests) as refused:
        open_request(student, subject="A third")
    assert refused.value.code == "too_many_open_requests"
    assert "2 support requests waiting" in refused.value.message
    assert SupportRequest.objects.filter(requester=student).count() == 2
    # A resend of an opened one is answered as before.
    assert open_request(student, client_id=key).pk == first.pk
    # An admin may still open one for them.
    open_request(student, opened_by=admin_user, subject="From the office")
    # Once one is resolved there is room again.
    services.change_status(actor=admin_user, request_id=first.pk, status="resolved")
    services.change_status(actor=admin_user, request_id=second.pk, status="closed")
    assert open_request(student, subject="A fourth").status == SupportStatus.OPEN


def test_an_admin_does_not_open_a_request_for_themselves(admin_user, open_request):
    with pytest.raises(AccessDenied):
        open_request(admin_user)
    assert not SupportRequest.objects.exists()


def test_an_admin_opens_one_for_a_student_and_that_counts_as_a_response(
    student, admin_user, open_request
):
    request = open_request(student, opened_by=admin_user, body="We noticed your upload failed.")
    assert request.requester == student
    assert request.first_response_at == request.created_at
    first = request.conversation.messages.get(message_type=MessageType.TEXT)
    assert first.sender == admin_user


@pytest.mark.django_db(transaction=True)
def test_a_first_message_a_blocking_rule_refuses_opens_nothing_but_leaves_its_trace(
    student, admin_user, open_request
):
    # Transactional: the hit is written after the opening rolled back, and
    # must commit on its own (its conversation was never stored).
    FilterRule.objects.create(
        name="No slurs", kind=FilterKind.TERM, action=FilterAction.BLOCK, pattern="darn"
    )
    with pytest.raises(ContentBlocked):
        open_request(student, body="This darn projector.")
    assert not SupportRequest.objects.exists()
    assert not Conversation.objects.filter(type=ConversationType.SUPPORT).exists()
    hit = FilterHit.objects.get()
    assert (hit.user, hit.rule_name, hit.action) == (student, "No slurs", FilterAction.BLOCK)
    assert hit.message is None and hit.conversation is None
    assert hit.excerpt == "This darn projector."
    audit = AuditLog.objects.get(action=AuditAction.FILTER_HIT)
    assert audit.actor == student
    assert audit.details["rule_name"] == "No slurs"
    assert not AuditLog.objects.filter(action=AuditAction.SUPPORT_OPEN).exists()


# --- Changes: notice, audit, notification ------------------------------------------------


def test_a_status_change_is_a_notice_an_audit_row_and_a_notification(
    request_of, student, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        changed = services.change_status(
            actor=admin_user, request_id=request_of.pk, status="pending"
        )
    assert changed.status == "pending"
    [notice] = notices(request_of, "status")
    assert notice.sender == admin_user
    assert notice.metadata["support"] == {
        "event": "status",
        "request_id": str(request_of.pk),
        "previous": "open",
        "status": "pending",
        "automatic": False,
    }
    assert "pending" in notice.content
    row = AuditLog.objects.get(action=AuditAction.SUPPORT_STATUS)
    assert row.actor == admin_user and row.message_id == notice.pk
    assert row.details["status"] == "pending"
    [notification] = support_notifications(student)
    assert notification.message_id == notice.pk and notification.actor == admin_user
    assert not support_notifications(admin_user).exists()


def test_an_assignment_notifies_the_requester_and_adds_a_newer_admin(
    request_of, student, admin_user, make_user
):
    newcomer = make_user(Role.ADMIN)  # joined after the request was opened
    changed = services.assign(actor=admin_user, request_id=request_of.pk, assignee_id=newcomer.pk)
    assert changed.assignee == newcomer
    assert (
        ConversationParticipant.objects.active()
        .filter(conversation_id=request_of.conversation_id, user=newcomer)
        .exists()
    )
    [notice] = notices(request_of, "assign")
    assert notice.metadata["support"]["assignee_id"] == str(newcomer.pk)
    assert AuditLog.objects.filter(action=AuditAction.SUPPORT_ASSIGN).count() == 1
    assert support_notifications(student).count() == 1
    # The same again changes nothing.
    services.assign(actor=admin_user, request_id=request_of.pk, assignee_id=newcomer.pk)
    assert len(notices(request_of, "assign")) == 1
    unassigned = services.assign(actor=admin_user, request_id=request_of.pk, assignee_id=None)
    assert unassigned.assignee is None
    assert len(notices(request_of, "assign")) == 2


def test_only_active_admins_are_assigned(request_of, admin_user, mentor, make_user):
    for nobody in (mentor.pk, make_user(Role.ADMIN, is_active=False).pk, uuid.uuid4()):
        with pytest.raises(InvalidInput):
            services.assign(actor=admin_user, request_id=request_of.pk, assignee_id=nobody)
    assert not notices(request_of, "assign")


@pytest.mark.parametrize("change", ["assign", "priority"])
def test_the_requester_may_not_assign_or_set_priority(request_of, student, change):
    with pytest.raises(AccessDenied):
        if change == "assign":
            services.assign(actor=student, request_id=request_of.pk, assignee_id=None)
        else:
            services.set_priority(actor=student, request_id=request_of.pk, priority="urgent")
    assert AuditLog.objects.filter(action=AuditAction.ACCESS_DENIED, actor=student).exists()


def test_priority_is_a_notice_and_an_audit_row_without_a_notification(
    request_of, student, admin_user
):
    changed = services.set_priority(actor=admin_user, request_id=request_of.pk, priority="urgent")
    assert changed.priority == "urgent"
    [notice] = notices(request_of, "priority")
    assert notice.metadata["support"]["priority"] == "urgent"
    assert AuditLog.objects.filter(action=AuditAction.SUPPORT_PRIORITY).count() == 1
    assert not support_notifications(student).exists()
    with pytest.raises(InvalidInput):
        services.set_priority(actor=admin_user, request_id=request_of.pk, priority="whenever")


def test_the_requester_withdrawing_is_not_notified_of_it(request_of, student):
    services.change_status(actor=student, request_id=request_of.pk, status="closed")
    request_of.refresh_from_db()
    assert request_of.status == "closed" and request_of.closed_at is not None
    assert len(notices(request_of, "status")) == 1
    assert not support_notifications(student).exists()


# --- Rating ----------------------------------------------------------------------------------


def test_a_requester_who_left_the_conversation_no_longer_acts_on_it(
    request_of, student, admin_user
):
    """Each change is a notice in the conversation, in their name: once they
    left it (or were removed) they may see their request, not move or rate
    it. The staff still may."""
    services.change_status(actor=admin_user, request_id=request_of.pk, status="resolved")
    conversation_services.remove_participant(
        actor=student, conversation_id=request_of.conversation_id, user=student
    )
    before = len(notices(request_of))
    with pytest.raises(AccessDenied):
        services.change_status(actor=student, request_id=request_of.pk, status="open")
    with pytest.raises(AccessDenied):
        services.rate(actor=student, request_id=request_of.pk, satisfied=False)
    request_of.refresh_from_db()
    assert (request_of.status, request_of.rated_at) == ("resolved", None)
    assert len(notices(request_of)) == before
    assert selectors.requests_of(student).filter(pk=request_of.pk).exists()
    services.change_status(actor=admin_user, request_id=request_of.pk, status="closed")


def test_the_requester_rates_once_after_resolution(request_of, student, admin_user):
    with pytest.raises(InvalidTransition):
        services.rate(actor=student, request_id=request_of.pk, satisfied=True)
    services.change_status(actor=admin_user, request_id=request_of.pk, status="resolved")
    with pytest.raises(AccessDenied):
        services.rate(actor=admin_user, request_id=request_of.pk, satisfied=True)
    rated = services.rate(
        actor=student, request_id=request_of.pk, satisfied=False, comment=" Too slow. "
    )
    assert rated.satisfied is False and rated.rating_comment == "Too slow."
    assert rated.rated_at is not None
    assert events.support_payload(rated)["rating"]["comment"] == "Too slow."
    [notice] = notices(request_of, "rated")
    assert notice.metadata["support"]["satisfied"] is False
    assert AuditLog.objects.filter(action=AuditAction.SUPPORT_RATE).count() == 1
    with pytest.raises(InvalidTransition):
        services.rate(actor=student, request_id=request_of.pk, satisfied=True)


def test_a_rating_comment_has_a_limit(request_of, student, admin_user, settings):
    settings.PARLEY = {**settings.PARLEY, "SUPPORT_RATING_COMMENT_MAX_CHARS": 5}
    services.change_status(actor=admin_user, request_id=request_of.pk, status="closed")
    with pytest.raises(InvalidInput):
        services.rate(actor=student, request_id=request_of.pk, satisfied=True, comment="123456")
    services.rate(actor=student, request_id=request_of.pk, satisfied=True, comment="12345")


# --- Timers and the requester's messages -------------------------------------------------------


def test_first_response_is_the_first_message_of_someone_else(
    request_of, student, admin_user, posted
):
    services.change_status(actor=admin_user, request_id=request_of.pk, status="pending")
    request_of.refresh_from_db()
    assert request_of.first_response_at is None  # a status change is no response
    posted(student, request_of, "still broken")
    assert request_of.first_response_at is None  # nor is the requester's own message
    answer = posted(admin_user, request_of, "on it")
    assert request_of.first_response_at == answer.sent_at
    posted(admin_user, request_of, "fixed?")
    assert request_of.first_response_at == answer.sent_at


def test_resolution_sets_and_reopening_clears_resolved_at(request_of, student, admin_user):
    resolved = services.change_status(actor=admin_user, request_id=request_of.pk, status="resolved")
    assert resolved.resolved_at is not None
    reopened = services.change_status(actor=student, request_id=request_of.pk, status="open")
    assert reopened.resolved_at is None
    closed = services.change_status(actor=admin_user, request_id=request_of.pk, status="closed")
    assert closed.closed_at is not None


def test_a_status_reads_as_the_browser_words_it_in_spanish(request_of, student, admin_user):
    # A request is feminine in Spanish; a moderation case's "Open" is not.
    services.change_status(actor=admin_user, request_id=request_of.pk, status="resolved")
    services.change_status(actor=student, request_id=request_of.pk, status="open")
    reopened = notices(request_of, "status")[-1]
    with translation.override("es"):
        assert message_text(reopened).endswith("cambió el estado a abierta")
        assert str(CaseStatus.OPEN.label) == "Abierto"


@pytest.mark.parametrize("status", ["pending", "resolved"])
def test_a_message_from_the_requester_brings_a_waiting_request_back_to_open(
    request_of, student, admin_user, posted, status
):
    services.change_status(actor=admin_user, request_id=request_of.pk, status=status)
    notified = support_notifications(student).count()
    posted(student, request_of, "any news?")
    assert request_of.status == "open"
    assert request_of.resolved_at is None
    last = notices(request_of, "status")[-1]
    assert last.sender == student and last.metadata["support"]["automatic"] is True
    assert support_notifications(student).count() == notified  # their own doing


def test_a_closed_request_stays_closed_and_its_conversation_stays_writable(
    request_of, student, admin_user, posted
):
    services.change_status(actor=admin_user, request_id=request_of.pk, status="closed")
    message = posted(student, request_of, "one more thing")
    assert message.pk and request_of.status == "closed"


def test_an_admins_message_does_not_move_the_status(request_of, admin_user, posted):
    services.change_status(actor=admin_user, request_id=request_of.pk, status="resolved")
    posted(admin_user, request_of, "glad it works")
    assert request_of.status == "resolved"


def test_the_hook_run_again_undoes_no_later_change(request_of, student, admin_user, posted):
    services.change_status(actor=admin_user, request_id=request_of.pk, status="pending")
    message = posted(student, request_of, "answer")
    assert request_of.status == "open"
    services.change_status(actor=admin_user, request_id=request_of.pk, status="pending")
    services.message_posted(message)  # a redelivered fan-out task
    request_of.refresh_from_db()
    assert request_of.status == "pending"


def test_overdue_after_the_first_response_and_the_resolution_times(
    request_of, admin_user, settings
):
    settings.PARLEY = {
        **settings.PARLEY,
        "SUPPORT_FIRST_RESPONSE_HOURS": 2,
        "SUPPORT_RESOLUTION_HOURS": 10,
    }
    now = timezone.now()
    opened = request_of.created_at
    assert not selectors.is_overdue(request_of, now=opened + timedelta(hours=1))
    assert selectors.is_overdue(request_of, now=opened + timedelta(hours=3))
    request_of.first_response_at = opened + timedelta(minutes=5)
    assert not selectors.is_overdue(request_of, now=opened + timedelta(hours=3))
    assert selectors.is_overdue(request_of, now=opened + timedelta(hours=11))
    request_of.status = SupportStatus.RESOLVED
    assert not selectors.is_overdue(request_of, now=opened + timedelta(hours=11))
    assert now >= opened


# --- Bulk ----------------------------------------------------------------------------------------


def test_bulk_assign_and_close(student, mentor, admin_user, open_request):
    requests = [open_request(student), open_request(mentor), open_request(student)]
    ids = [r.pk for r in requests]
    assert services.bulk_assign(actor=admin_user, request_ids=ids, assignee_id=admin_user.pk) == 3
    assert services.bulk_assign(actor=admin_user, request_ids=ids, assignee_id=admin_user.pk) == 0
    services.change_status(actor=student, request_id=ids[0], status="closed")
    assert services.bulk_close(actor=admin_user, request_ids=ids) == 2
    assert set(SupportRequest.objects.values_list("status", flat=True)) == {"closed"}
    assert AuditLog.objects.filter(action=AuditAction.SUPPORT_STATUS).count() == 3


def test_bulk_is_staff_only_and_all_or_nothing(student, admin_user, open_request):
    request = open_request(student)
    with pytest.raises(AccessDenied):
        services.bulk_close(actor=student, request_ids=[request.pk])
    from messaging.errors import NotFound

    with pytest.raises(NotFound):
        services.bulk_close(actor=admin_user, request_ids=[request.pk, uuid.uuid4()])
    request.refresh_from_db()
    assert request.status == "open"
    with pytest.raises(InvalidInput):
        services.bulk_close(actor=admin_user, request_ids=[])
