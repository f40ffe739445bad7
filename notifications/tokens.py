"""Signed links in emails: one-click unsubscribe.

The token is the person's id signed with the project's secret and a salt of
its own (so no other signed value of Parley can stand in for it). It does not
expire: an unsubscribe link in an old email must still work (RFC 8058). It
grants one thing only, switching email off, so it may be that long-lived.
"""

from uuid import UUID

from django.conf import settings
from django.core import signing
from django.urls import reverse

_SALT = "parley.notifications.unsubscribe"


def unsubscribe_token(user_id: UUID | str) -> str:
    return signing.dumps(str(user_id), salt=_SALT, compress=False)


def user_id_from_unsubscribe_token(token: str) -> UUID:
    """The person ``token`` was made for; ``signing.BadSignature`` for a token
    that was altered or not made by ``unsubscribe_token``."""
    value = signing.loads(token, salt=_SALT)
    try:
        return UUID(str(value))
    except ValueError:
        raise signing.BadSignature("Not a person's id.") from None


def unsubscribe_url(user_id: UUID | str) -> str:
    """The absolute one-click unsubscribe link (``PARLEY_SITE_URL``)."""
    path = reverse("notifications_unsubscribe", args=[unsubscribe_token(user_id)])
    return f"{settings.PARLEY_SITE_URL}{path}"


def absolute_url(path: str) -> str:
    return f"{settings.PARLEY_SITE_URL}{path}"
