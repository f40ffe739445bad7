"""The email digest lists the person's own support requests that changed in
its period."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.support import services
from notifications.selectors import digests

pytestmark = pytest.mark.django_db


def test_the_digest_lists_ones_own_requests_that_changed(
    request_of, student, mentor, admin_user, open_request
):
    before = timezone.now() - timedelta(minutes=1)
    services.change_status(actor=admin_user, request_id=request_of.pk, status="resolved")
    open_request(mentor)  # someone else's
    [entry] = digests.support_updates(student.pk, since=before)
    assert entry["title"] == request_of.subject
    assert entry["status"] == "Resolved"
    assert entry["url"].endswith(f"/c/{request_of.conversation_id}/")
    assert digests.support_updates(student.pk, since=timezone.now() + timedelta(minutes=1)) == []
