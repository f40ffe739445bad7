"""The default categories survive an emptied database: ``flush`` (and
``migrate``) send ``post_migrate``, which puts them back."""

import pytest
from django.core.management import call_command

from messaging.support.models import SupportCategory
from messaging.support.services import ensure_default_categories


@pytest.mark.django_db(transaction=True)
def test_flush_brings_the_default_categories_back():
    SupportCategory.objects.all().delete()
    call_command("flush", interactive=False, verbosity=0)
    assert set(SupportCategory.objects.values_list("slug", flat=True)) == {
        "technical",
        "feedback",
        "complaint",
    }


@pytest.mark.django_db
def test_an_edited_default_is_left_as_edited():
    SupportCategory.objects.filter(slug="feedback").update(name="Ideas", is_active=False)
    SupportCategory.objects.filter(slug="technical").delete()
    ensure_default_categories()
    feedback = SupportCategory.objects.get(slug="feedback")
    assert (feedback.name, feedback.is_active) == ("Ideas", False)
    assert SupportCategory.objects.get(slug="technical").name == "Technical support"
