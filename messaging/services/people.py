"""Telling others about a person: their name as others show it changed
(their profile, or an admin's edit), so every open page that shows them
draws it again without a reload (``user.updated``, docs/protocol.md)."""

from accounts.models import User
from messaging import events
from messaging.realtime.selectors import contact_ids


def tell_name_changed(user: User) -> None:
    """``user.updated`` to everyone who shares an active conversation with
    ``user``, and to ``user``'s own sockets, once this commits: one layer
    message however many they are."""
    events.publish_to_users_on_commit(contact_ids(user.pk), events.user_updated(user))
