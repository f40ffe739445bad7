"""seed_demo's encrypted conversation of Maria and Sam."""

from io import StringIO

import pytest
from django.core.management import call_command

from messaging.models import Conversation, ConversationType

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def encrypted_directs():
    return list(
        Conversation.objects.filter(type=ConversationType.DIRECT, e2e_state__isnull=False)
        .select_related("e2e_state")
        .prefetch_related("participants__user")
    )


def test_maria_and_sam_have_one_encrypted_conversation_waiting_for_its_key():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    [conversation] = encrypted_directs()
    emails = {p.user.email for p in conversation.participants.all()}
    assert emails == {"maria@parley.test", "sam@parley.test"}
    state = conversation.e2e_state
    assert (state.key_version, state.rotation_required) == (0, True)
    # Beside their plain conversation, not instead of it.
    plain = Conversation.objects.filter(
        type=ConversationType.DIRECT,
        e2e_state__isnull=True,
        participants__user__email="maria@parley.test",
    ).filter(participants__user__email="sam@parley.test")
    assert plain.count() == 1
