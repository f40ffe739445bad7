"""The session engine (``SESSION_ENGINE``): Django's database sessions,
each row also saying whose it is (``AccountSession.user``), read from the
session's own ``_auth_user_id`` whenever the session is saved. Logging in,
out and cycling the key all save, so the column follows the session."""

import uuid
from typing import TYPE_CHECKING, cast

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

if TYPE_CHECKING:
    from accounts.models import AccountSession


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls):
        from accounts.models import AccountSession

        return AccountSession

    def create_model_instance(self, data):
        session = cast("AccountSession", super().create_model_instance(data))
        session.user_id = account_id(data.get(SESSION_KEY))
        return session


def account_id(value) -> uuid.UUID | None:
    """The account a session's ``_auth_user_id`` names (``None`` for an
    anonymous session or a value that is not an account's id)."""
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None
