import pytest

from messaging.models import Conversation


@pytest.mark.services
@pytest.mark.django_db
def test_tables_exist():
    assert Conversation.objects.count() == 0
