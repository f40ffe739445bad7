"""GET /api/search/: its answer and its errors (docs/api.md, "Search")."""

import uuid

import pytest
from rest_framework.test import APIClient

from tests.search.conftest import say

pytestmark = [pytest.mark.services, pytest.mark.django_db]

URL = "/api/search/"


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]


def test_the_answer(people, study):
    maria, sam, _, _ = people
    message = say(maria, study, "budget <b>report</b>")
    response = client_for(sam).get(URL, {"q": "budget"})
    assert response.status_code == 200
    body = response.json()
    assert body["has_more"] is False
    assert body["next_offset"] is None
    [result] = body["results"]
    assert set(result) == {"message", "conversation", "snippet", "rank"}
    assert result["message"]["id"] == str(message.pk)
    assert result["message"]["seq"] == message.seq
    assert result["message"]["sender"]["display_name"] == "Maria Mentor"
    assert result["conversation"] == {"id": str(study.pk), "type": "group", "title": "Study group"}
    assert result["snippet"] == "<mark>budget</mark> &lt;b&gt;report&lt;/b&gt;"
    assert result["rank"] > 0


def test_pages_and_one_conversation(people, study, group):
    maria, sam, _, _ = people
    alpha = group("Project Alpha", sam)
    for n in range(3):
        say(maria, study, f"budget {n}")
    say(maria, alpha, "budget alpha")
    client = client_for(sam)
    first = client.get(URL, {"q": "budget", "limit": "2"}).json()
    assert (len(first["results"]), first["has_more"], first["next_offset"]) == (2, True, 2)
    rest = client.get(URL, {"q": "budget", "limit": "2", "offset": "2"}).json()
    assert (len(rest["results"]), rest["has_more"], rest["next_offset"]) == (2, False, None)
    seen = {r["message"]["content"] for r in first["results"] + rest["results"]}
    assert seen == {"budget 0", "budget 1", "budget 2", "budget alpha"}
    only = client.get(URL, {"q": "budget", "conversation_id": str(alpha.pk)}).json()
    assert [r["message"]["content"] for r in only["results"]] == ["budget alpha"]


def test_anonymous_is_401():
    assert error_of(client_for().get(URL, {"q": "budget"}), 401)["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "nothing to search for"),
        ({"q": "x" * 501}, "longer than 500"),
        ({"q": "has:video"}, "has:file"),
        ({"q": "before:soon"}, "YYYY-MM-DD"),
        ({"q": "from:a\x00@b.test"}, "Null characters"),
        ({"q": "in:\x1b[2J"}, "a control character"),
        ({"q": "budget", "limit": "0"}, "limit"),
        ({"q": "budget", "limit": "51"}, "limit"),
        ({"q": "budget", "limit": "ten"}, "limit"),
        ({"q": "budget", "offset": "-1"}, "offset"),
        ({"q": "budget", "offset": "1001"}, "offset"),
        ({"q": "budget", "conversation_id": "nope"}, "conversation_id"),
    ],
)
def test_bad_input_is_400_invalid_and_the_next_request_works(people, study, params, says):
    maria, sam, _, _ = people
    say(maria, study, "budget")
    client = client_for(sam)
    error = error_of(client.get(URL, params), 400)
    assert error["code"] == "invalid"
    assert says in str(error)
    assert client.get(URL, {"q": "budget"}).status_code == 200


def test_a_conversation_one_may_not_read_is_404_like_one_that_does_not_exist(people, study, group):
    maria, sam, _, olga = people
    secret = group("Secret room", olga)
    client = client_for(sam)
    for conversation_id in (secret.pk, uuid.uuid4()):
        response = client.get(URL, {"q": "budget", "conversation_id": str(conversation_id)})
        assert error_of(response, 404) == {"code": "not_found", "message": "No such conversation."}


def test_token_authentication(people, study):
    from rest_framework.authtoken.models import Token

    maria, sam, _, _ = people
    say(maria, study, "budget")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=sam).key}")
    assert len(client.get(URL, {"q": "budget"}).json()["results"]) == 1
