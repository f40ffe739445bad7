"""The Saved page's server side (messaging/threads/views.py): signed-in
only, the titles of the person's conversations for static/js/saved.js, the
Saved link in the top navigation. The list itself comes from
GET /api/saved/ (tests/browser/test_reactions.py drives it in Chromium)."""

import json
import re

import pytest
from django.urls import reverse

from accounts.models import Role, User
from messaging import services
from messaging.models import ConversationType

pytestmark = pytest.mark.django_db


def page_data(response) -> dict:
    match = re.search(
        r'<script id="page-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the page carries its data"
    return json.loads(match.group(1))


def test_signed_out_goes_to_login(client):
    response = client.get(reverse("saved"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_titles_of_my_conversations_only(client, pair):
    mentor, student, direct = pair
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Lab"
    )
    outsider = User.objects.create_user(
        email="ola@example.test", password="x" * 16, display_name="Ola Other", role=Role.MENTOR
    )
    services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[outsider], title="Not yours"
    )
    # A conversation put away (archived for oneself) keeps its title too.
    services.set_archived_for_me(user=student, conversation_id=group.pk, archived=True)
    client.force_login(student)
    response = client.get(reverse("saved"))
    assert response.status_code == 200
    assert page_data(response)["titles"] == {
        str(direct.pk): "Maria Mentor",
        str(group.pk): "Lab",
    }
    html = response.content.decode()
    assert 'data-page="saved"' in html
    assert "js/saved.js" in html
    assert "css/extras.css" in html
    assert re.search(r'<a href="/saved/" aria-current="page">Saved</a>', html)


def test_saved_link_on_every_signed_in_page(client, pair):
    _, student, _ = pair
    client.force_login(student)
    html = client.get(reverse("inbox")).content.decode()
    assert re.search(r'<a href="/saved/">Saved</a>', html)
