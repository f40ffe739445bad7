"""``revoked_sockets``, the heartbeat's re-check of every socket's session
and account: the same verdicts as a request's ``get_user``, and, with a
database-backed session engine, the sessions read in one statement however
many sockets there are."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AccountSession, User
from messaging.realtime.selectors import revoked_sockets
from tests.realtime.conftest import session_cookie

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user):
    return [make_user(f"person{n}@parley.test") for n in range(6)]


def cases(people):
    """(pair, revoked?) for every way a socket's access can stand or end."""
    standing, expired, deleted, borrowed, password, gone = people
    expired_key = session_cookie(expired)
    AccountSession.objects.filter(session_key=expired_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    deleted_key = session_cookie(deleted)
    AccountSession.objects.filter(session_key=deleted_key).delete()
    password_key = session_cookie(password)
    password.set_password("another-" + "y" * 12)
    User.objects.filter(pk=password.pk).update(password=password.password)
    gone_key = session_cookie(gone)
    User.objects.filter(pk=gone.pk).update(is_active=False)
    return [
        ((session_cookie(standing), str(standing.pk)), False),
        ((None, str(standing.pk)), False),  # no session: the account alone
        ((expired_key, str(expired.pk)), True),
        ((deleted_key, str(deleted.pk)), True),
        ((session_cookie(standing), str(borrowed.pk)), True),  # someone else's session
        ((password_key, str(password.pk)), True),
        ((gone_key, str(gone.pk)), True),
        ((None, str(gone.pk)), True),
    ]


def test_each_way_access_ends_is_found(people):
    expected = cases(people)
    assert revoked_sockets(pair for pair, _ in expected) == {
        pair for pair, revoked in expected if revoked
    }


def test_sessions_are_read_in_one_statement_however_many_sockets(
    make_user, django_assert_max_num_queries
):
    users = [make_user(f"many{n}@parley.test") for n in range(40)]
    pairs = [(session_cookie(user), str(user.pk)) for user in users]
    # Users, bots' tokens, sessions: three statements for forty sockets.
    with django_assert_max_num_queries(3):
        assert revoked_sockets(pairs) == set()


def test_an_engine_without_a_database_row_loads_each_session(people, settings):
    """The cache engine has no table to read at once: each session is
    loaded as a request would load it, and the verdicts are the same."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    from django.contrib.sessions.backends.cache import SessionStore as CacheStore

    standing, other = people[:2]
    key = session_cookie(standing)
    assert CacheStore().exists(key)  # a cache session, no table row
    try:
        assert revoked_sockets([(key, str(standing.pk)), (key, str(other.pk))]) == {
            (key, str(other.pk))
        }
        CacheStore(key).delete()
        assert revoked_sockets([(key, str(standing.pk))]) == {(key, str(standing.pk))}
    finally:
        CacheStore(key).delete()
