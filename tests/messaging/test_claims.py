"""The send's claim compiled once (``messaging.services.claims``) is the
claim Django compiles for each send, and a claim that could not be bound
safely is refused when the template is built."""

import itertools
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role, User
from messaging import policy, services
from messaging.e2e import messages as e2e_messages
from messaging.models import Conversation, ConversationType
from messaging.services import claims, store

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def fresh_templates():
    claims._template.cache_clear()
    yield
    claims._template.cache_clear()


def test_the_bound_claim_is_the_compiled_claim(make_user, assigned, direct, fresh_templates):
    mentor, student = assigned
    admin = make_user(Role.ADMIN)
    gone = make_user(Role.STUDENT, is_active=False)
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Lab"
    )
    now = timezone.now()
    for person in (mentor, student, admin, gone):
        for conversation in (direct, group):
            for main_stream, encrypted in itertools.product((True, False), repeat=2):
                bound = claims.postable(
                    person, conversation.pk, now, main_stream=main_stream, encrypted=encrypted
                )
                postable = policy.postable_conversations(person, now=now)
                compiled = store.compile_claim(
                    # A plain send's claim leaves out encrypted conversations.
                    postable if encrypted else e2e_messages.plain_only(postable),
                    conversation.pk,
                    now,
                    main_stream=main_stream,
                )
                assert bound == compiled
                assert str(person.pk) in map(str, bound.params)
                assert conversation.pk in bound.params


def _refused_template(monkeypatch, claim) -> str:
    monkeypatch.setattr(policy, "postable_conversations", claim)
    with pytest.raises(ValueError) as refused:
        claims.postable(User(), uuid.uuid4(), timezone.now(), main_stream=True)
    return str(refused.value)


def test_a_claim_with_a_value_that_is_not_bound_is_refused(monkeypatch, fresh_templates):
    def computed_from_the_time(user, *, now):
        return Conversation.objects.filter(
            created_by=user.pk, created_at__lt=now - timedelta(days=1)
        )

    assert "not constant" in _refused_template(monkeypatch, computed_from_the_time)


def test_a_claim_that_ignores_the_sender_is_refused(monkeypatch, fresh_templates):
    def anyone(user, *, now):
        return Conversation.objects.filter(archived_at__isnull=True, updated_at__lte=now)

    assert "does not depend on user" in _refused_template(monkeypatch, anyone)
