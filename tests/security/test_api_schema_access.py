"""The OpenAPI schema and its docs page are for signed-in people unless
``PARLEY_PUBLIC_API_SCHEMA`` opens them: anonymous requests get the API's
JSON 401 (schema) or the login page (docs)."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_the_schema_refuses_anonymous_requests_in_the_apis_shape():
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"
    assert "paths" not in response.json()


def test_the_docs_page_sends_anonymous_people_to_the_login_page():
    response = APIClient().get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/api/docs/"
    script = APIClient().get("/api/docs/?script=")
    assert script.status_code == 302
    assert script["Location"] == f"{reverse('login')}?next=/api/docs/%3Fscript%3D"


def test_signed_in_people_read_the_schema_and_docs(student):
    client = APIClient()
    client.force_login(student)
    assert client.get("/api/schema/?format=json").json()["openapi"].startswith("3.")
    assert client.get("/api/docs/").status_code == 200


def test_an_api_token_reads_the_schema(student):
    token = Token.objects.create(user=student)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/schema/?format=json").status_code == 200


def test_the_setting_makes_both_public(settings):
    settings.PARLEY_PUBLIC_API_SCHEMA = True
    assert APIClient().get("/api/schema/?format=json").status_code == 200
    assert APIClient().get("/api/docs/").status_code == 200


def test_the_schema_is_private_by_default():
    from django.conf import settings

    assert settings.PARLEY_PUBLIC_API_SCHEMA is False
