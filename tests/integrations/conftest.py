import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api():
    """``api(user)``: a REST client signed in as ``user`` (session, CSRF
    not enforced)."""

    def make(user):
        client = APIClient()
        client.force_login(user)
        return client

    return make
