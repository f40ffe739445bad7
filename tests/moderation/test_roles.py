"""The staff groups: made by migration 0009 with their permissions, and
back after ``flush`` (which empties ``auth_group``), so a moderator's
powers never depend on which test or command ran before."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.models import Role
from messaging import policy
from messaging.moderation.services.staff_groups import MODERATORS, SUPPORT_AGENTS


def _grants(name: str) -> set[str]:
    return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))


@pytest.mark.django_db
def test_the_migration_made_both_groups_with_their_powers():
    assert {"moderate", "view_auditlog", "view_moderationcase"} <= _grants(MODERATORS)
    assert "work_support_queue" not in _grants(MODERATORS)
    # Moderators read messages on the queue's audited pages only.
    assert not {"view_message", "view_conversation"} & _grants(MODERATORS)
    assert {"work_support_queue", "view_supportrequest"} <= _grants(SUPPORT_AGENTS)
    assert "moderate" not in _grants(SUPPORT_AGENTS)


@pytest.mark.django_db(transaction=True)
def test_flush_brings_the_groups_back(make_user):
    Group.objects.all().delete()
    call_command("flush", interactive=False, verbosity=0)
    assert "moderate" in _grants(MODERATORS)
    assert not {"view_message", "view_conversation"} & _grants(MODERATORS)
    assert "work_support_queue" in _grants(SUPPORT_AGENTS)
    mentor = make_user(Role.MENTOR, is_staff=True)
    mentor.groups.add(Group.objects.get(name=MODERATORS))
    assert policy.may_moderate(mentor)
    assert not policy.may_work_support_queue(mentor)


@pytest.mark.django_db
def test_a_group_an_administrator_changed_is_left_as_changed():
    from messaging.moderation.services.staff_groups import ensure_staff_groups

    Group.objects.get(name=MODERATORS).permissions.clear()
    ensure_staff_groups()
    assert _grants(MODERATORS) == set()
