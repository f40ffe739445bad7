"""The search page (``/search/?q=…``) and the header's search box: what the
page shows for hits, for no hits and for a query the parser refuses, that
hits are grouped by conversation and link to the message in context, that
snippets are escaped, and that the page pages."""

import re
from html import unescape

import pytest
from django.urls import reverse

from accounts.models import MentorAssignment, Role
from messaging import services
from messaging.models import ConversationType
from messaging.search.views import safe_snippet
from tests.messaging.helpers import send

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(assigned, make_user):
    mentor, student = assigned
    classmate = make_user(Role.STUDENT)
    MentorAssignment.objects.create(mentor=mentor, student=classmate)
    return services.create_conversation(
        creator=mentor,
        kind=ConversationType.GROUP,
        participants=[student, classmate],
        title="Physics lab",
    )


@pytest.fixture
def student_client(client, assigned):
    client.force_login(assigned[1])
    return client


def search(client, query: str, **params):
    return client.get(reverse("search"), {"q": query, **params})


def hits_of(body: str) -> list[str]:
    """The hrefs of the hit links, in page order."""
    return [unescape(h) for h in re.findall(r'class="search-hit-link" href="([^"]+)"', body)]


def test_the_page_needs_a_login(client):
    response = client.get(reverse("search"), {"q": "budget"})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_without_a_query_the_page_shows_the_form_and_the_operators(student_client):
    response = student_client.get(reverse("search"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'role="search"' in body and 'name="q"' in body
    assert "has:file" in body and "from:" in body and "before:" in body
    assert 'id="search-results"' not in body and "No messages match" not in body


def test_hits_are_grouped_by_conversation_and_link_to_the_message_in_context(
    student_client, direct, group, assigned
):
    mentor, student = assigned
    in_direct = send(mentor, direct, "The budget draft is attached")
    in_group = send(student, group, "Who has the budget numbers?")
    send(mentor, direct, "Unrelated words")
    response = search(student_client, "budget")
    assert response.status_code == 200
    body = response.content.decode()

    # One heading per conversation: the group's title, the direct one's
    # other person; each group's hits are a list under its heading.
    headings = re.findall(
        r'<h2 class="search-group-title"[^>]*>\s*<a href="([^"]+)">([^<]+)</a>', body
    )
    assert sorted(headings) == sorted(
        [
            (reverse("conversation", args=[direct.pk]), mentor.display_name),
            (reverse("conversation", args=[group.pk]), "Physics lab"),
        ]
    )
    assert body.count('class="search-hits" aria-labelledby=') == 2
    assert sorted(hits_of(body)) == sorted(
        [
            f"/c/{direct.pk}/?around={in_direct.seq}#m-{in_direct.seq}",
            f"/c/{group.pk}/?around={in_group.seq}#m-{in_group.seq}",
        ]
    )
    assert "<mark>budget</mark>" in body
    assert student.display_name in body and mentor.display_name in body
    assert "Unrelated words" not in body
    assert "Results 1–2" in re.sub(r"<[^>]+>", "", body) and 'id="search-more"' not in body


def test_a_conversation_the_user_is_not_in_is_not_searched(student_client, assigned, make_user):
    mentor, _ = assigned
    outsider = make_user(Role.STUDENT)
    MentorAssignment.objects.create(mentor=mentor, student=outsider)
    theirs = services.create_conversation(
        creator=mentor, kind=ConversationType.DIRECT, participants=[outsider]
    )
    send(mentor, theirs, "The secret budget")
    body = search(student_client, "budget").content.decode()
    assert "secret" not in body and str(theirs.pk) not in body
    assert "No messages match" in body


def test_snippets_are_escaped(student_client, direct, assigned):
    mentor, _ = assigned
    send(mentor, direct, '<script>alert("budget")</script> <b>bold</b> budget')
    body = search(student_client, "budget").content.decode()
    assert "<script>alert" not in body and "<b>bold</b>" not in body
    assert "&lt;script&gt;" in body and "<mark>budget</mark>" in body


def test_safe_snippet_keeps_only_the_marks_and_escapes_the_rest_once():
    assert safe_snippet("a &lt;b&gt; <mark>x</mark>") == "a &lt;b&gt; <mark>x</mark>"
    assert safe_snippet("a <b> <mark>x</mark> <script>") == (
        "a &lt;b&gt; <mark>x</mark> &lt;script&gt;"
    )
    assert safe_snippet("Tom &amp; Jerry") == "Tom &amp; Jerry"


def test_no_results_says_so(student_client, direct):
    response = search(student_client, "nonexistentword")
    assert response.status_code == 200
    body = response.content.decode()
    assert "No messages match “nonexistentword”" in body
    assert 'id="search-results"' not in body


@pytest.mark.parametrize(
    "query",
    ["before:2026-13-45", "has:pizza budget", "from:", "-from:me budget", "x" * 501, "a\x00b"],
)
def test_an_invalid_query_shows_the_parsers_message(student_client, direct, query):
    response = search(student_client, query)
    assert response.status_code == 400
    body = response.content.decode()
    error = re.search(r'<p class="search-error" id="search-error" role="alert">([^<]+)</p>', body)
    assert error and error.group(1).strip()
    # The form is still there, with what was typed, and marked invalid.
    assert 'aria-invalid="true"' in body and 'id="search-results"' not in body


@pytest.mark.parametrize("offset", ["abc", "-1", "5000", "²", "1e3", "9" * 30])
def test_a_bad_offset_is_a_clear_error(student_client, direct, assigned, offset):
    send(assigned[0], direct, "budget")
    response = search(student_client, "budget", offset=offset)
    assert response.status_code == 400
    assert "offset" in response.content.decode()


def test_more_results_pages_on(student_client, direct, assigned, settings):
    mentor, _ = assigned
    settings.PARLEY = {**settings.PARLEY, "SEARCH_PAGE_SIZE": 3}
    sent = [send(mentor, direct, f"budget line {n}") for n in range(5)]
    first = search(student_client, "budget").content.decode()
    assert len(hits_of(first)) == 3
    more = re.search(r'id="search-more" rel="next" href="([^"]+)"', first)
    assert more
    second = student_client.get(unescape(more.group(1)))
    assert second.status_code == 200
    body = second.content.decode()
    assert len(hits_of(body)) == 2 and 'id="search-more"' not in body
    assert "Results 4–5" in re.sub(r"<[^>]+>", "", body) and "Back to the first results" in body
    seen = {h.split("around=")[1].split("#")[0] for h in hits_of(first) + hits_of(body)}
    assert seen == {str(m.seq) for m in sent}


def test_every_signed_in_page_has_the_header_search_box(student_client, client, direct):
    inbox = student_client.get(reverse("inbox")).content.decode()
    box = re.search(r'<form class="topbar-search" role="search"[^>]*>', inbox)
    assert box and f'action="{reverse("search")}"' in box.group(0)
    assert 'method="get"' in box.group(0)
    chat = student_client.get(reverse("conversation", args=[direct.pk])).content.decode()
    assert 'class="topbar-search"' in chat
    # The search page has its own box instead.
    page = student_client.get(reverse("search")).content.decode()
    assert 'class="topbar-search"' not in page and 'id="search-q"' in page
    student_client.logout()
    assert 'class="topbar-search"' not in client.get(reverse("login")).content.decode()
