import re

import pytest
from django.contrib.staticfiles import finders
from drf_spectacular.validation import validate_schema

from messaging import events
from messaging.api import serializers as s

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_schema_is_valid_openapi_with_every_endpoint(api, student):
    # Signed in: the schema is not public by default (tests/security).
    response = api(student).get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/auth/token/",
        "/api/conversations/",
        "/api/conversations/{conversation_id}/",
        "/api/conversations/{conversation_id}/archive/",
        "/api/conversations/{conversation_id}/unarchive/",
        "/api/conversations/{conversation_id}/participants/",
        "/api/conversations/{conversation_id}/participants/{user_id}/",
        "/api/conversations/{conversation_id}/messages/",
        "/api/conversations/{conversation_id}/read/",
        "/api/messages/{message_id}/",
        "/api/presence/",
        "/api/me/",
        "/api/users/messageable/",
    }
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_docs_page_loads_only_local_files_and_no_inline_code(api, student):
    response = api(student).get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<style" not in html
    assert re.search(r"<script>", html) is None  # every script has a src
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls
    for url in urls:
        assert url.startswith("/"), url
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
    script_url = next(u for u in urls if "script" in u and "/api/docs/" in u)
    script = api(student).get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


def test_output_serializers_describe_the_socket_payloads(group, mentor, send):
    """The schema's fields are the keys the payload builders emit."""
    message = send(mentor, group, "hi")
    participant = group.participants.select_related("user").first()
    assert set(s.MessageOut().fields) == set(events.message_payload(message))
    assert set(s.ParticipantOut().fields) == set(events.participant_payload(participant))
    assert set(s.ConversationOut().fields) == set(events.conversation_payload(group))
    assert set(s.UserOut().fields) == set(events.user_payload(mentor))
