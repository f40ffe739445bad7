"""Fixtures of the video-call tests: a group of a mentor and two of their
students, someone outside it, API clients, and Jitsi with tokens."""

import pytest
from rest_framework.test import APIClient

from accounts.models import MentorAssignment, Role
from messaging import services

JITSI_SECRET = "meetings-test-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def _jitsi_with_tokens(settings):
    settings.PARLEY_MEETINGS = {
        **settings.PARLEY_MEETINGS,
        "PROVIDER": "jitsi",
        "JITSI_URL": "https://meet.example.org",
        "JITSI_APP_ID": "parley-test",
        "JITSI_SECRET": JITSI_SECRET,
    }


@pytest.fixture
def people(make_user):
    """(mentor, ann, bob): ann and bob are the mentor's students."""
    mentor = make_user(Role.MENTOR, name="Maria Mentor")
    ann = make_user(Role.STUDENT, name="Ann Student")
    bob = make_user(Role.STUDENT, name="Bob Student")
    for student in (ann, bob):
        MentorAssignment.objects.create(mentor=mentor, student=student)
    return mentor, ann, bob


@pytest.fixture
def group(people):
    mentor, ann, bob = people
    return services.create_conversation(
        creator=mentor, kind="group", participants=[ann, bob], title="Study group"
    )


@pytest.fixture
def outsider(make_user):
    return make_user(Role.STUDENT, name="Olive Outsider")


@pytest.fixture
def api():
    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make
