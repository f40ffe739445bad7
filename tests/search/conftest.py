import uuid

import pytest

from accounts.models import MentorAssignment, Role
from messaging import services
from messaging.models import ConversationType
from messaging.search import selectors


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Stored files go to the test's own folder, never into var/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def people(make_user):
    """A mentor and two of her students, and a student of nobody's groups."""
    maria = make_user(Role.MENTOR, name="Maria Mentor")
    sam = make_user(Role.STUDENT, name="Sam Student")
    sofia = make_user(Role.STUDENT, name="Sofia Student")
    olga = make_user(Role.STUDENT, name="Olga Outsider")
    for student in (sam, sofia, olga):
        MentorAssignment.objects.create(mentor=maria, student=student)
    return maria, sam, sofia, olga


@pytest.fixture
def group(people):
    """``group(title, *members)``: a group Maria runs."""
    maria = people[0]

    def make(title, *members):
        return services.create_conversation(
            creator=maria, kind=ConversationType.GROUP, participants=members, title=title
        )

    return make


@pytest.fixture
def study(people, group):
    """Maria's study group with Sam and Sofia."""
    _, sam, sofia, _ = people
    return group("Study group", sam, sofia)


def say(sender, conversation, content, **kwargs):
    return services.send_message(
        sender=sender,
        conversation_id=conversation.pk,
        content=content,
        client_id=uuid.uuid4(),
        **kwargs,
    ).message


def found(user, query, **kwargs) -> list[str]:
    """The contents of what ``user`` finds, in the order given."""
    return [hit.message.content for hit in selectors.search(user=user, query=query, **kwargs).hits]
