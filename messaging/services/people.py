"""A person's name as others show it changed (their profile, or an
admin's edit): the copies stored with their name follow, and every open
page that shows them draws it again without a reload (``user.updated``,
docs/protocol.md)."""

from accounts.models import User
from messaging import events
from messaging.realtime.selectors import contact_ids
from messaging.threads.services import replies


def name_changed(user: User) -> None:
    """Run in the transaction that saved the new name: the thread summaries
    that name ``user`` take it (an inactive account's too, for when it comes
    back), and, for an active one, ``user.updated`` goes once this commits
    to everyone who shares an active conversation with them and to their
    own sockets, one layer message however many they are."""
    replies.rename_replier(user)
    if user.is_active:
        people = {str(user.pk), *contact_ids(user.pk)}
        events.publish_to_users_on_commit(people, events.user_updated(user))
