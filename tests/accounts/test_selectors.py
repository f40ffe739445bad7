"""accounts.selectors, and the profile page that shows them."""

import pytest
from django.urls import reverse

from accounts import selectors, services
from accounts.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(make_user):
    """Two mentors; Ada is looked after by both, Bo by one, Cy by none."""
    zoe, yan = make_user(Role.MENTOR, name="Zoe Mentor"), make_user(Role.MENTOR, name="Yan Mentor")
    ada, bo, cy = (make_user(name=n) for n in ("Ada Student", "Bo Student", "Cy Student"))
    for mentor, student in [(zoe, ada), (yan, ada), (zoe, bo)]:
        services.assign_mentor(mentor=mentor, student=student)
    return {"zoe": zoe, "yan": yan, "ada": ada, "bo": bo, "cy": cy}


def test_mentors_of_and_students_of(team):
    assert list(selectors.mentors_of(team["ada"])) == [team["yan"], team["zoe"]]
    assert list(selectors.mentors_of(team["bo"])) == [team["zoe"]]
    assert list(selectors.mentors_of(team["cy"])) == []
    assert list(selectors.students_of(team["zoe"])) == [team["ada"], team["bo"]]
    assert list(selectors.students_of(team["yan"])) == [team["ada"]]
    assert list(selectors.students_of(team["ada"])) == []
    services.unassign_mentor(mentor=team["zoe"], student=team["ada"])
    assert list(selectors.students_of(team["zoe"])) == [team["bo"]]


def test_the_profile_page_lists_mentors_and_students(client, team):
    client.force_login(team["ada"])
    page = client.get(reverse("profile"))
    assert page.status_code == 200
    assert list(page.context["mentors"]) == [team["yan"], team["zoe"]]
    assert page.context["students"] == []
    assert "Your mentors" in page.content.decode() and "Zoe Mentor" in page.content.decode()

    client.force_login(team["zoe"])
    page = client.get(reverse("profile"))
    assert page.context["mentors"] == []
    assert list(page.context["students"]) == [team["ada"], team["bo"]]
    assert "Your students" in page.content.decode() and "Bo Student" in page.content.decode()
