"""The policy's support rules (``messaging.policy``): who sees a request,
who is assigned one, who rates one; each rule's Python and query forms
agree over every kind of person and request."""

import itertools

import pytest

from accounts.models import Role
from messaging import policy
from messaging.support import services
from messaging.support.models import SupportRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(student, mentor, admin_user, open_request):
    """A request of each of a student and a mentor, one of them resolved."""
    mine = open_request(student, subject="mine")
    theirs = open_request(mentor, subject="theirs")
    services.change_status(actor=admin_user, request_id=theirs.pk, status="resolved")
    return {"answered": mine, "theirs": theirs}


def test_the_staff_work_the_queue(student, mentor, admin_user, make_user):
    assert policy.may_work_support_queue(admin_user)
    for user in (student, mentor, make_user(Role.ADMIN, is_active=False)):
        assert not policy.may_work_support_queue(user)


def test_support_parties(board, student, mentor, admin_user):
    request = board["answered"]
    assert policy.support_parties(student, request) == {policy.SUPPORT_REQUESTER}
    assert policy.support_parties(admin_user, request) == {policy.SUPPORT_STAFF}
    assert policy.support_parties(mentor, request) == frozenset()


def test_may_see_and_visible_requests_agree(board, student, mentor, admin_user, make_user):
    people = [
        student,
        mentor,
        admin_user,
        make_user(Role.STUDENT),
        make_user(Role.ADMIN, is_active=False),
        make_user(Role.MENTOR, is_active=False),
    ]
    for user, request in itertools.product(people, SupportRequest.objects.all()):
        in_query = policy.visible_support_requests(user).filter(pk=request.pk).exists()
        assert policy.may_see_support_request(user, request) == in_query, (user, request)


def test_may_be_assigned_and_assignees_agree(student, mentor, admin_user, make_user):
    people = [student, mentor, admin_user, make_user(Role.ADMIN, is_active=False)]
    for user in people:
        in_query = policy.support_assignees().filter(pk=user.pk).exists()
        assert policy.may_be_assigned_support(user) == in_query


def test_may_rate_only_the_requester_once_after_resolution(board, student, mentor, admin_user):
    answered = board["answered"]
    assert not policy.may_rate_support(student, answered)
    services.change_status(actor=admin_user, request_id=answered.pk, status="resolved")
    answered.refresh_from_db()
    assert policy.may_rate_support(student, answered)
    assert not policy.may_rate_support(mentor, answered)
    assert not policy.may_rate_support(admin_user, answered)
    services.rate(actor=student, request_id=answered.pk, satisfied=True)
    answered.refresh_from_db()
    assert not policy.may_rate_support(student, answered)
