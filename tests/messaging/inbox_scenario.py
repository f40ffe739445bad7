"""The inbox, the hello and the unread total after a few sends, thread
replies, an edit, a delete and a hide, dumped without ids so that
PostgreSQL and the embedded default (SQLite) can be compared. ``run`` works
on any database; tests/messaging/test_unread_equivalence.py runs it on both."""

import uuid
from datetime import datetime

from django.contrib.auth.models import Group

from accounts.models import Role, User
from messaging import selectors, services
from messaging.models import ConversationType
from messaging.moderation.services import actions as moderation


def run(tag: str) -> dict:
    """``tag`` keeps emails apart when it runs twice on one database."""

    def person(role: str, name: str) -> User:
        return User.objects.create_user(
            email=f"{name.lower()}.{tag}@inbox.test", password=None, display_name=name, role=role
        )

    admin, ann, bob = (
        person(Role.ADMIN, "Ada"),
        person(Role.STUDENT, "Ann"),
        person(Role.STUDENT, "Bob"),
    )
    moderator = person(Role.MENTOR, "Mo")
    moderator.groups.add(Group.objects.get(name="Moderators"))
    study, quiet = (
        services.create_conversation(
            creator=admin, kind=ConversationType.GROUP, participants=[ann, bob], title=title
        )
        for title in ("Study", "Quiet")
    )

    def send(sender, conversation, content, **extra):
        return services.send_message(
            sender=sender,
            conversation_id=conversation.pk,
            content=content,
            client_id=uuid.uuid4(),
            **extra,
        ).message

    root = send(admin, study, "**root**")
    send(ann, study, "in the thread", parent_id=root.pk)
    send(bob, study, "also here", parent_id=root.pk, also_to_conversation=True)
    services.edit_message(editor=bob, message_id=send(bob, study, "typo").pk, content="fixed")
    services.mark_read(user=ann, conversation_id=study.pk, up_to_seq=root.seq)
    hidden = send(ann, quiet, "to hide")
    gone = send(bob, quiet, "to delete")
    moderation.hide_message(moderator=moderator, message_id=hidden.pk, note="hidden")
    services.delete_message(actor=bob, message_id=gone.pk)

    names = {u.pk: u.display_name for u in (admin, ann, bob)}
    titles = {str(c.pk): c.title for c in (study, quiet)}

    def when(value) -> str | None:
        assert value is None or isinstance(value, datetime), value
        return None if value is None else str(value.utcoffset())

    def inbox_of(user: User) -> list:
        return [
            [
                row.conversation.title,
                row.unread_count,
                row.last_message_seq,
                row.last_message_content,
                row.last_message_html,
                row.last_message_type,
                when(row.last_message_deleted_at),
                when(row.last_message_hidden_at),
                names.get(row.last_message_sender_id),
                sorted(m.user.display_name for m in row.conversation.active_participants),
            ]
            for row in selectors.inbox(user)
        ]

    return {
        user.display_name: {
            "inbox": inbox_of(user),
            "hello": sorted(
                (titles[c["id"]], c["last_seq"], c["last_read_seq"], c["unread"])
                for c in selectors.socket_conversations(user)
            ),
            "total": selectors.unread_total(user),
        }
        for user in (admin, ann, bob)
    }
