import uuid

import pytest

from accounts.models import Role
from messaging.support import services
from messaging.support.models import SupportCategory
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401 (socket fixtures)


@pytest.fixture
def complaint(db):
    """The default "complaint" category (migration 0007; made again if an
    earlier transactional test flushed it)."""
    services.ensure_default_categories()
    return SupportCategory.objects.get(slug="complaint")


@pytest.fixture
def second_admin(make_user):
    return make_user(Role.ADMIN, is_staff=True)


@pytest.fixture
def open_request(complaint):
    """``open_request(requester, **fields)``: a request opened through the service."""

    def open_(requester, **fields):
        fields.setdefault("category_id", complaint.pk)
        fields.setdefault("subject", "The projector in room 4 is broken")
        fields.setdefault("body", "It has not worked since Monday.")
        fields.setdefault("client_id", uuid.uuid4())
        return services.open_request(requester=requester, **fields)

    return open_


@pytest.fixture
def request_of(student, admin_user, open_request):
    """A request opened by ``student``; ``admin_user`` exists before, so is in it."""
    return open_request(student)
