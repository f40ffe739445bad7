import re
import sys
import uuid

import jsonschema_rs
import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from drf_spectacular.validation import validate_schema
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from messaging import events, validation
from messaging.api import serializers as s
from messaging.errors import InvalidInput

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
        "/api/conversations/{conversation_id}/personal-archive/",
        "/api/conversations/{conversation_id}/participants/",
        "/api/conversations/{conversation_id}/participants/{user_id}/",
        "/api/conversations/{conversation_id}/messages/",
        "/api/conversations/{conversation_id}/read/",
        "/api/conversations/{conversation_id}/mute/",
        "/api/messages/{message_id}/",
        # Reactions, pins, saved messages (messaging.threads.api.reactions).
        "/api/emoji/",
        "/api/messages/{message_id}/reactions/{emoji}/",
        "/api/messages/{message_id}/pin/",
        "/api/messages/{message_id}/saved/",
        "/api/conversations/{conversation_id}/pins/",
        "/api/saved/",
        "/api/notifications/preferences/",
        "/api/presence/",
        "/api/me/",
        "/api/users/messageable/",
        "/api/conversations/{conversation_id}/attachments/",
        "/api/attachments/{attachment_id}/",
        "/api/push/subscriptions/",
        "/api/push/subscriptions/{subscription_id}/",
        "/api/push/vapid-public-key/",
        "/api/notifications/",
        "/api/notifications/{notification_id}/read/",
        "/api/notifications/read-all/",
        "/api/notifications/unread-count/",
        "/api/attachments/{attachment_id}/content/",
        "/api/attachments/{attachment_id}/thumbnail/",
        "/api/attachments/{attachment_id}/preview/{page}/",
        "/api/search/",
        # Threads (messaging.threads.api.threads).
        "/api/threads/",
        "/api/threads/{root_id}/",
        "/api/threads/{root_id}/messages/",
        "/api/threads/{root_id}/read/",
        "/api/threads/{root_id}/follow/",
        "/api/support/categories/",
        "/api/support/requests/",
        "/api/support/requests/bulk/",
        "/api/support/requests/{request_id}/",
        "/api/support/requests/{request_id}/status/",
        "/api/support/requests/{request_id}/assign/",
        "/api/support/requests/{request_id}/priority/",
        "/api/support/requests/{request_id}/rating/",
        "/api/conversations/{conversation_id}/warnings/",
        "/api/messages/{message_id}/report/",
        "/api/blocks/",
        "/api/blocks/{user_id}/",
        "/api/messages/{message_id}/preview/",
        "/api/messages/{message_id}/preview/image/",
        # Video calls (messaging.integrations.meetings.api).
        "/api/conversations/{conversation_id}/meetings/",
        "/api/meetings/{meeting_id}/",
        "/api/meetings/{meeting_id}/join/",
        "/api/conversations/{conversation_id}/assistant/summary/",
        # Reminders and the calendar feed (messaging.integrations.reminders, .calendar).
        "/api/reminders/",
        "/api/reminders/{reminder_id}/",
        "/api/reminders/{reminder_id}/ics",
        "/api/calendar/feed/",
        "/api/calendar/feed/rotate/",
        "/api/meetings/{meeting_id}/ics",
        # Scheduled messages (messaging.integrations.scheduling.api).
        "/api/scheduled-messages/",
        "/api/scheduled-messages/{scheduled_id}/",
        # Bots and incoming webhooks (messaging.integrations.bots, .webhooks).
        "/api/bots/",
        "/api/bots/{bot_id}/",
        "/api/bots/{bot_id}/token/",
        "/api/conversations/{conversation_id}/webhooks/",
        "/api/webhooks/{webhook_id}/",
        # End-to-end encryption (messaging.e2e.api).
        "/api/e2e/devices/",
        "/api/e2e/devices/{device_id}/",
        "/api/e2e/devices/{device_id}/approve/",
        "/api/e2e/users/{user_id}/devices/",
        "/api/e2e/conversations/{conversation_id}/",
        "/api/e2e/conversations/{conversation_id}/keys/",
        "/api/e2e/envelopes/",
        "/api/e2e/recovery/",
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
    # ``e2e`` is on encrypted messages only (tests/e2e/server: payload with it).
    assert set(s.MessageOut().fields) - {"e2e"} == set(events.message_payload(message))
    assert set(s.ParticipantOut().fields) == set(events.participant_payload(participant))
    assert set(s.ConversationOut().fields) == set(events.conversation_payload(group))
    assert set(s.UserOut().fields) == set(events.user_payload(mentor))


# --- The schema states what the server enforces ---------------------------------
# Schemathesis (tests/api/test_schemathesis.py) tries the server against the
# schema with generated data; these pin the text rules exactly, with the
# validator Schemathesis itself uses (ECMAScript regular expressions).

WHITESPACE = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(WHITESPACE + ["\x00", "a", "é", "\u200b", "\ufeff", "\x7f"]),
        st.characters(exclude_categories=["Cs"]),
    ),
    max_size=12,
)


def _field_schema(api, user, component: str, field: str) -> dict:
    schema = api(user).get("/api/schema/?format=json").json()
    return schema["components"]["schemas"][component]["properties"][field]


def _accepts(clean, value) -> bool:
    try:
        clean(value)
    except InvalidInput:
        return False
    return True


def test_content_schema_is_clean_content(api, student, settings):
    settings.PARLEY = {**settings.PARLEY, "MAX_CONTENT_CHARS": 6}
    field = _field_schema(api, student, "MessageSendIn", "content")
    assert field["minLength"] == 1
    assert field["maxLength"] == 6  # read from the limits when the schema is built
    validator = jsonschema_rs.validator_for(field)

    @given(_TEXT)
    @hypothesis_settings(max_examples=500, deadline=None)
    def agree(text):
        assert validator.is_valid(text) == _accepts(validation.clean_content, text), repr(text)

    agree()


def test_title_schema_is_clean_title(api, student, settings):
    settings.PARLEY = {**settings.PARLEY, "MAX_TITLE_CHARS": 5}
    validator = jsonschema_rs.validator_for(
        _field_schema(api, student, "ConversationCreateIn", "title")
    )

    @given(_TEXT)
    @hypothesis_settings(max_examples=500, deadline=None)
    def agree(text):
        assert validator.is_valid(text) == _accepts(validation.clean_title, text), repr(text)

    agree()
    for text in ["", "   ", " abcde ", "a   e", "abcdef", " a\x00 ", "\u3000abcde\u2029"]:
        assert validator.is_valid(text) == _accepts(validation.clean_title, text), repr(text)


def test_password_schema_is_what_the_token_endpoint_reads(api, student):
    # The token endpoint's throttle counts per address in the shared cache:
    # start from none, whatever ran before.
    cache.clear()
    field = _field_schema(api, student, "TokenIn", "password")
    validator = jsonschema_rs.validator_for(field)
    assert not validator.is_valid("")
    assert not validator.is_valid("pass\x00word")
    assert validator.is_valid(" ")
    for password in ("", "pass\x00word"):
        response = api().post(
            "/api/auth/token/", {"email": student.email, "password": password}, format="json"
        )
        assert response.status_code == 400
        assert "password" in response.json()["error"]["fields"]


def test_patch_bodies_are_whole(api, group, mentor):
    schema = api(mentor).get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    assert not [name for name in components if name.startswith("Patched")]
    assert components["ConversationUpdateIn"]["required"] == ["title"]
    # An edit is whole: its content, or an encrypted message's e2e (one of them).
    edit = components["MessageEditIn"]
    assert edit["anyOf"] == [{"required": ["content"]}, {"required": ["e2e"]}]
    assert edit["not"] == {"required": ["content", "e2e"]}
    response = api(mentor).patch(f"/api/conversations/{group.pk}/", {}, format="json")
    assert response.status_code == 400
    assert "title" in response.json()["error"]["fields"]


def test_schema_states_id_formats_and_cursor_exclusivity(api, mentor):
    schema = api(mentor).get("/api/schema/?format=json").json()
    history = schema["paths"]["/api/conversations/{conversation_id}/messages/"]["get"]
    (path_id,) = [p for p in history["parameters"] if p["in"] == "path"]
    assert jsonschema_rs.validator_for(path_id["schema"]).is_valid(str(mentor.pk))
    assert not jsonschema_rs.validator_for(path_id["schema"]).is_valid(str(mentor.pk).upper())
    (cursor,) = [p for p in history["parameters"] if p["in"] == "query"]
    assert (cursor["style"], cursor["explode"]) == ("form", True)
    page = jsonschema_rs.validator_for(cursor["schema"])
    assert page.is_valid({"after_seq": 1, "limit": 5})
    assert page.is_valid({"before_seq": 1})
    assert not page.is_valid({"after_seq": 1, "before_seq": 5})

    presence = schema["paths"]["/api/presence/"]["get"]["parameters"][0]["schema"]
    ids = jsonschema_rs.validator_for(presence)
    assert ids.is_valid(",".join(str(uuid.uuid4()) for _ in range(200)))
    assert not ids.is_valid(",".join(str(uuid.uuid4()) for _ in range(201)))
    assert not ids.is_valid(f"{uuid.uuid4()}, {uuid.uuid4()}")


# The one body that is not JSON: a file upload (docs/api.md, Uploading).
MULTIPART_OPERATIONS = {"POST /api/conversations/{conversation_id}/attachments/"}


def test_every_operation_states_its_generic_errors(api, mentor):
    schema = api(mentor).get("/api/schema/?format=json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            where = f"{method.upper()} {path}"
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= codes, where
                media_type = (
                    "multipart/form-data" if where in MULTIPART_OPERATIONS else "application/json"
                )
                assert set(operation["requestBody"]["content"]) == {media_type}, where
            if "{" in path:
                assert "404" in codes, where
            if path != "/api/auth/token/":
                assert "401" in codes, where


# --- Queries are read as the schema writes them ---------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "type=",
        "archived=",
        "archived=1",
        "archived=yes",
        "archived=True",
        "archived=FALSE",
    ],
)
def test_empty_or_loose_list_filters_are_invalid(api, mentor, query):
    response = api(mentor).get(f"/api/conversations/?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize(
    "query",
    [
        "after_seq=",
        "before_seq=",
        "limit=",
        "after_seq=1&limit=",
        "after_seq=5.0",
        "limit=%205",
        "after_seq=-1",
        "after_seq=%D9%A5",  # an Arabic-Indic 5: a digit to Python, not to the schema
        "after_seq=1&before_seq=2",
    ],
)
def test_history_query_is_ascii_digits_and_one_cursor(api, group, mentor, query):
    response = api(mentor).get(f"/api/conversations/{group.pk}/messages/?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_history_query_digits_are_read(api, group, mentor):
    response = api(mentor).get(f"/api/conversations/{group.pk}/messages/?after_seq=0000&limit=7")
    assert response.status_code == 200
    assert response.json()["next_after_seq"] == 0


@pytest.mark.parametrize("seq", ["5", 5.0, True, None, -1])
def test_body_numbers_are_json_integers(api, group, mentor, seq):
    """As over the socket: a seq is a JSON integer, not text or a float."""
    response = api(mentor).post(f"/api/conversations/{group.pk}/read/", {"seq": seq}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize(
    "ids",
    [
        "{a}, {b}",
        "{a},,{b}",
        "{a},",
        "{{{a}}}",
        "urn:uuid:{a}",
        "{hex}",
    ],
)
def test_presence_ids_are_exactly_comma_separated_uuids(api, student, ids):
    a, b = uuid.uuid4(), uuid.uuid4()
    response = api(student).get(f"/api/presence/?user_ids={ids.format(a=a, b=b, hex=a.hex)}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_presence_ids_in_capitals_are_accepted(api, student):
    response = api(student).get(f"/api/presence/?user_ids={str(student.pk).upper()}")
    assert response.status_code == 200
