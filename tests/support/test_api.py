"""The support API's answers and refusals (docs/api.md, Support requests)."""

import uuid

import pytest

from accounts.models import Role
from messaging.support.models import SupportRequest

pytestmark = pytest.mark.django_db

BASE = "/api/support/requests/"


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    def make(user):
        client = APIClient()
        client.force_login(user)
        return client

    return make


def code_of(response):
    return response.json()["error"]["code"]


def new_body(**fields):
    return {
        "category": "complaint",
        "subject": "Noise in the library",
        "body": "It is loud every afternoon.",
        "client_id": str(uuid.uuid4()),
        **fields,
    }


def test_categories_are_listed_in_order(api, student):
    answer = api(student).get("/api/support/categories/")
    assert answer.status_code == 200
    slugs = [c["slug"] for c in answer.json()["categories"]]
    assert set(slugs) >= {"technical", "feedback", "complaint"}
    assert set(answer.json()["categories"][0]) == {"id", "slug", "name", "description"}


def test_open_answers_201_then_200_for_the_same_client_id(api, student, admin_user):
    client = api(student)
    body = new_body()
    first = client.post(BASE, body, format="json")
    assert first.status_code == 201, first.content
    payload = first.json()
    assert payload["status"] == "open" and payload["subject"] == "Noise in the library"
    assert payload["category"] == {"slug": "complaint", "name": "Complaint"}
    assert payload["requester"]["id"] == str(student.pk)
    assert payload["assignee"] is None and payload["rating"] is None
    assert payload["overdue"] is False
    assert payload["allowed_statuses"] == ["closed"]
    again = client.post(BASE, body, format="json")
    assert again.status_code == 200 and again.json()["id"] == payload["id"]
    assert SupportRequest.objects.count() == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"category": "nonsense"},
        {"subject": ""},
        {"subject": "x" * 201},
        {"body": " "},
        {"client_id": "not-a-uuid"},
        {"category": 5},
    ],
)
def test_open_refuses_bad_input_with_400(api, student, fields):
    answer = api(student).post(BASE, new_body(**fields), format="json")
    assert answer.status_code == 400
    assert code_of(answer) == "invalid"
    assert not SupportRequest.objects.exists()


def test_an_admin_may_not_open_one_for_themselves(api, admin_user):
    answer = api(admin_user).post(BASE, new_body(), format="json")
    assert answer.status_code == 403 and code_of(answer) == "forbidden"


def test_students_see_their_own_admins_the_queue(api, student, mentor, admin_user, open_request):
    mine = open_request(student)
    theirs = open_request(mentor)
    listed = api(student).get(BASE).json()["requests"]
    assert [r["id"] for r in listed] == [str(mine.pk)]
    queue = api(admin_user).get(BASE).json()["requests"]
    assert {r["id"] for r in queue} == {str(mine.pk), str(theirs.pk)}
    assert set(queue[0]["allowed_statuses"]) == {"pending", "resolved", "closed"}
    mine_only = api(admin_user).get(BASE, {"assignee": "none", "status": "open"})
    assert len(mine_only.json()["requests"]) == 2


def test_the_list_comes_in_pages(api, student, mentor, admin_user, open_request):
    """Newest first, limit at a time: each request once over the pages,
    for the staff's queue and for a requester's own list alike."""
    opened = [open_request(person) for person in (student, mentor, student, mentor, student)]
    newest_first = [str(r.pk) for r in reversed(opened)]
    for user, expected in (
        (admin_user, newest_first),
        (student, [i for i in newest_first if i in {str(r.pk) for r in opened[::2]}]),
    ):
        seen, offset = [], 0
        while offset is not None:
            page = api(user).get(BASE, {"limit": 2, "offset": offset}).json()
            assert len(page["requests"]) <= 2
            assert page["has_more"] == (page["next_offset"] is not None)
            seen += [r["id"] for r in page["requests"]]
            offset = page["next_offset"]
        assert seen == expected
    whole = api(admin_user).get(BASE).json()
    assert (len(whole["requests"]), whole["has_more"], whole["next_offset"]) == (5, False, None)


@pytest.mark.parametrize(
    "query",
    [
        "status=nope",
        "priority=",
        "assignee=someone",
        "older_than_hours=-1",
        "older_than_hours=1.5",
        "overdue=yes",
        "category=nope",
        "older_than_hours=99999999",
        "limit=0",
        "limit=ten",
        "offset=-1",
        "offset=1000001",
    ],
)
def test_bad_queue_filters_are_400(api, admin_user, query):
    answer = api(admin_user).get(f"{BASE}?{query}")
    assert answer.status_code == 400 and code_of(answer) == "invalid"


def test_detail_is_404_for_those_who_may_not_see_it(api, student, make_user, open_request):
    request = open_request(student)
    other = make_user(Role.STUDENT)
    assert api(student).get(f"{BASE}{request.pk}/").status_code == 200
    answer = api(other).get(f"{BASE}{request.pk}/")
    assert answer.status_code == 404 and code_of(answer) == "not_found"
    assert api(student).get(f"{BASE}{uuid.uuid4()}/").status_code == 404
    for action, body in [
        ("status", {"status": "closed"}),
        ("rating", {"satisfied": True}),
        ("assign", {"assignee_id": None}),
        ("priority", {"priority": "high"}),
    ]:
        refused = api(other).post(f"{BASE}{request.pk}/{action}/", body, format="json")
        assert refused.status_code == 404, action
    request.refresh_from_db()
    assert request.status == "open" and request.priority == "normal"


def test_staff_actions_are_403_for_the_requester(api, student, admin_user, open_request):
    request = open_request(student)
    client = api(student)
    assign = client.post(
        f"{BASE}{request.pk}/assign/", {"assignee_id": str(admin_user.pk)}, format="json"
    )
    assert assign.status_code == 403 and code_of(assign) == "forbidden"
    priority = client.post(f"{BASE}{request.pk}/priority/", {"priority": "high"}, format="json")
    assert priority.status_code == 403
    bulk = client.post(f"{BASE}bulk/", {"ids": [str(request.pk)], "action": "close"}, format="json")
    assert bulk.status_code == 403


def test_a_move_not_in_the_table_is_409(api, student, admin_user, open_request):
    request = open_request(student)
    answer = api(student).post(f"{BASE}{request.pk}/status/", {"status": "resolved"}, format="json")
    assert answer.status_code == 409 and code_of(answer) == "invalid_transition"
    bad = api(student).post(f"{BASE}{request.pk}/status/", {"status": "done"}, format="json")
    assert bad.status_code == 400


def test_the_whole_flow_over_the_api(api, student, admin_user, open_request):
    request = open_request(student)
    staff, requester = api(admin_user), api(student)
    assigned = staff.post(
        f"{BASE}{request.pk}/assign/", {"assignee_id": str(admin_user.pk)}, format="json"
    )
    assert assigned.status_code == 200
    assert assigned.json()["assignee"]["id"] == str(admin_user.pk)
    assert (
        staff.post(f"{BASE}{request.pk}/priority/", {"priority": "high"}, format="json").json()[
            "priority"
        ]
        == "high"
    )
    early = requester.post(f"{BASE}{request.pk}/rating/", {"satisfied": True}, format="json")
    assert early.status_code == 409
    resolved = staff.post(f"{BASE}{request.pk}/status/", {"status": "resolved"}, format="json")
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolved_at"]
    not_bool = requester.post(f"{BASE}{request.pk}/rating/", {"satisfied": "yes"}, format="json")
    assert not_bool.status_code == 400
    rated = requester.post(
        f"{BASE}{request.pk}/rating/", {"satisfied": True, "comment": "Thanks"}, format="json"
    )
    assert rated.status_code == 200
    assert rated.json()["rating"]["satisfied"] is True
    assert rated.json()["allowed_statuses"] == ["open"]
    staff_rating = staff.post(f"{BASE}{request.pk}/rating/", {"satisfied": True}, format="json")
    assert staff_rating.status_code == 403


def test_bulk_over_the_api(api, student, mentor, admin_user, open_request):
    ids = [str(open_request(student).pk), str(open_request(mentor).pk)]
    staff = api(admin_user)
    assigned = staff.post(
        f"{BASE}bulk/",
        {"ids": ids, "action": "assign", "assignee_id": str(admin_user.pk)},
        format="json",
    )
    assert assigned.json() == {"changed": 2}
    closed = staff.post(f"{BASE}bulk/", {"ids": ids, "action": "close"}, format="json")
    assert closed.json() == {"changed": 2}
    missing = staff.post(
        f"{BASE}bulk/", {"ids": [str(uuid.uuid4())], "action": "close"}, format="json"
    )
    assert missing.status_code == 404
    empty = staff.post(f"{BASE}bulk/", {"ids": [], "action": "close"}, format="json")
    assert empty.status_code == 400
    unknown = staff.post(f"{BASE}bulk/", {"ids": ids, "action": "delete"}, format="json")
    assert unknown.status_code == 400


def test_renaming_a_support_conversation_renames_its_request(api, request_of, admin_user):
    """The subject is the conversation's title: renamed together, and a
    request keeps a subject (a blank title is refused, nothing changes)."""
    conversation_id = request_of.conversation_id
    client = api(admin_user)
    renamed = client.patch(
        f"/api/conversations/{conversation_id}/", {"title": "Projector fixed?"}, format="json"
    )
    assert renamed.status_code == 200
    request_of.refresh_from_db()
    assert request_of.subject == renamed.json()["title"] == "Projector fixed?"
    listed = client.get(f"/api/support/requests/{request_of.pk}/").json()
    assert listed["subject"] == "Projector fixed?"
    blank = client.patch(f"/api/conversations/{conversation_id}/", {"title": "  "}, format="json")
    assert blank.status_code == 400
    assert code_of(blank) == "invalid"
    request_of.refresh_from_db()
    assert request_of.subject == "Projector fixed?"
