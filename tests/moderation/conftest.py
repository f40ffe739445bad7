import pytest

from messaging.models import FilterAction, FilterKind, FilterRule


@pytest.fixture
def make_rule(db):
    """``make_rule(kind, action, **fields)``: an active filter rule, saved
    as the admin would (the save makes every process read the rules again)."""

    def make(kind=FilterKind.TERM, action=FilterAction.BLOCK, **fields) -> FilterRule:
        fields.setdefault("name", f"{kind} {action} {FilterRule.objects.count() + 1}")
        return FilterRule.objects.create(kind=kind, action=action, **fields)

    return make
