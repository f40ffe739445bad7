"""Every status move, by every kind of person, against the one table
(``messaging.support.transitions``): the service makes exactly the moves the
table gives, ``allowed_targets`` offers exactly those, and anyone else is
refused (409 for someone who sees the request, 404 for anyone who does not)."""

import itertools

import pytest

from accounts.models import Role
from messaging.errors import AccessDenied, InvalidTransition, NotFound
from messaging.support import services, transitions
from messaging.support.models import SupportRequest, SupportStatus

pytestmark = pytest.mark.django_db

STATUSES = SupportStatus.values

# Who acts, and which parties of the table they are.
ACTORS = {
    "requester": {transitions.REQUESTER},
    "admin": {transitions.STAFF},
    "other_student": None,  # may not see the request: 404
    "mentor": None,
    "inactive_admin": set(),  # a deactivated account: refused as such
}

EXPECTED_TABLE = {
    ("open", "pending"): {"staff"},
    ("pending", "open"): {"staff"},
    ("open", "resolved"): {"staff"},
    ("pending", "resolved"): {"staff"},
    ("resolved", "open"): {"staff", "requester"},
    ("open", "closed"): {"staff", "requester"},
    ("pending", "closed"): {"staff", "requester"},
    ("resolved", "closed"): {"staff"},
}


def test_the_table_is_the_documented_one():
    assert {k: set(v) for k, v in transitions.TRANSITIONS.items()} == EXPECTED_TABLE
    assert transitions.AUTOMATIC == {"pending": "open", "resolved": "open"}


@pytest.fixture
def people(make_user, student, admin_user):
    return {
        "requester": student,
        "admin": admin_user,
        "other_student": make_user(Role.STUDENT),
        "mentor": make_user(Role.MENTOR),
        "inactive_admin": make_user(Role.ADMIN, is_active=False),
    }


@pytest.mark.parametrize(
    ("actor", "from_status", "to_status"),
    list(itertools.product(ACTORS, STATUSES, STATUSES)),
)
def test_who_may_make_each_move(people, open_request, actor, from_status, to_status):
    request = open_request(people["requester"])
    SupportRequest.objects.filter(pk=request.pk).update(status=from_status)
    request.refresh_from_db()
    user = people[actor]
    parties = ACTORS[actor]
    allowed = bool(parties and parties & EXPECTED_TABLE.get((from_status, to_status), set()))

    offered = transitions.allowed_targets(request, user)
    assert (to_status in offered) == allowed

    if parties is None:
        with pytest.raises(NotFound):
            services.change_status(actor=user, request_id=request.pk, status=to_status)
    elif actor == "inactive_admin":
        with pytest.raises(AccessDenied):
            services.change_status(actor=user, request_id=request.pk, status=to_status)
    elif not allowed:
        with pytest.raises(InvalidTransition):
            services.change_status(actor=user, request_id=request.pk, status=to_status)
    else:
        changed = services.change_status(actor=user, request_id=request.pk, status=to_status)
        assert changed.status == to_status
    request.refresh_from_db()
    assert request.status == (to_status if allowed else from_status)
