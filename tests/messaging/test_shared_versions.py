"""The versions a send asks of the shared cache (role limits, filter rules)
are read in one round trip within ``read_together``, and are the cache's
own values; outside it each is read as before."""

import threading

import pytest
from django.core.cache import cache

from messaging import limits, shared_versions
from messaging.moderation.filtering import rules

pytestmark = [pytest.mark.services]

KEYS = (limits.ROLE_LIMITS_VERSION_KEY, rules.VERSION_KEY)


@pytest.fixture
def trips(monkeypatch):
    """The cache calls made: (name, first argument)."""
    made: list[tuple] = []
    for name in ("get", "get_many", "add"):
        real = getattr(cache, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            made.append((_name, args[0] if args else None))
            return _real(*args, **kwargs)

        monkeypatch.setattr(cache, name, counted)
    return made


@pytest.fixture(autouse=True)
def _versions_set():
    cache.set(limits.ROLE_LIMITS_VERSION_KEY, "limits-1", None)
    cache.set(rules.VERSION_KEY, "rules-1", None)
    yield
    cache.delete_many(KEYS)


def test_one_trip_for_both_within_the_block(trips):
    with shared_versions.read_together(*KEYS):
        assert shared_versions.current(limits.ROLE_LIMITS_VERSION_KEY) == "limits-1"
        assert shared_versions.current(rules.VERSION_KEY) == "rules-1"
    assert trips == [("get_many", KEYS)]


def test_each_block_reads_afresh_and_outside_reads_the_cache(trips):
    with shared_versions.read_together(*KEYS):
        assert shared_versions.current(rules.VERSION_KEY) == "rules-1"
    cache.set(rules.VERSION_KEY, "rules-2", None)  # a rule changed meanwhile
    with shared_versions.read_together(*KEYS):
        assert shared_versions.current(rules.VERSION_KEY) == "rules-2"
    trips.clear()
    assert shared_versions.current(rules.VERSION_KEY) == "rules-2"
    assert trips == [("get", rules.VERSION_KEY)]


def test_a_missing_version_is_made_once():
    cache.delete(rules.VERSION_KEY)
    with shared_versions.read_together(*KEYS):
        made = shared_versions.current(rules.VERSION_KEY)
    assert made and cache.get(rules.VERSION_KEY) == made
    assert shared_versions.current(rules.VERSION_KEY) == made


def test_what_was_read_stays_in_its_thread():
    seen: list[str] = []
    with shared_versions.read_together(*KEYS):
        cache.set(rules.VERSION_KEY, "rules-3", None)
        worker = threading.Thread(
            target=lambda: seen.append(shared_versions.current(rules.VERSION_KEY))
        )
        worker.start()
        worker.join(10)
        assert shared_versions.current(rules.VERSION_KEY) == "rules-1"
    assert seen == ["rules-3"]


@pytest.mark.django_db
def test_the_filter_and_the_limits_read_through_it(trips):
    rules.forget()
    with shared_versions.read_together(*KEYS):
        limits.send_allowance("student")
        rules.active_rules()
    # Neither version was asked again (the role rows may be).
    asked = [trip for trip in trips if trip[1] == KEYS or trip[1] in KEYS]
    assert asked == [("get_many", KEYS)]
