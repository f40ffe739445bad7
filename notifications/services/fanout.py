"""Who hears of what: the fan-out of a new message (and of being added to a
conversation, and of support changes) into in-app notifications, live
``notification.new`` frames, and the hand-off to push and email.

One bulk step whatever the audience: the members, their preferences and
mutes are read in a constant number of queries, the rows are written by one
``bulk_create``, and the frames are sent from one event loop round trip.
Idempotent: UNIQUE(user, kind, message) makes a rerun (a redelivered task)
write nothing twice; it hands the stored rows to push and email again, whose
delivery records make that harmless, and publishes only what it created.
"""

from collections.abc import Callable, Iterable
from uuid import UUID

from django.db import transaction
from django.utils import timezone, translation

from accounts.locale import language_chosen
from accounts.models import User
from messaging import events
from messaging.files.payloads import message_text, worded_by_the_server
from messaging.models import ConversationType, Message, MessageType
from messaging.realtime import presence
from messaging.support import services as support_services
from notifications import rules
from notifications.models import Channel, Kind, Notification
from notifications.selectors import fanout as selectors
from notifications.selectors import feed as feed_selectors
from notifications.selectors.fanout import Audience
from notifications.services import feed, missed_email, notification_email, push

EXCERPT_LENGTH = 200


def message_data(message: Message) -> dict:
    """What a notification about ``message`` shows without another query."""
    conversation = message.conversation
    encrypted = message.message_type == MessageType.ENCRYPTED
    data = {
        # An encrypted message has no text here: whoever shows the
        # notification says "New encrypted message" in the reader's language.
        "excerpt": "" if encrypted else message_text(message)[:EXCERPT_LENGTH],
        "seq": message.seq,
        "conversation_title": conversation.title,
        "conversation_type": conversation.type,
    }
    if encrypted:
        data["encrypted"] = True
    if message.parent_id:
        # A thread reply: the link opens its thread (events.notification_payload).
        data["thread_id"] = str(message.parent_id)
    return data


DataFor = Callable[[UUID], dict]


def _in_each_language(user_ids: list[UUID], build: Callable[[], dict]) -> DataFor:
    """``build()``'s data for each of ``user_ids`` in their own language
    (their profile's, else the site's), built once per language: what a
    notification stores is shown to one person, in app and by push."""
    languages = selectors.languages_of(user_ids)
    built: dict[str, dict] = {}

    def data_for(user_id: UUID) -> dict:
        language = language_chosen(languages.get(user_id, ""))
        if language not in built:
            with translation.override(language):
                built[language] = build()
        return built[language]

    return data_for


def _online(user_ids: list[UUID]) -> set[str]:
    """Of ``user_ids``, those ``@here`` reaches: online, or of unknown status
    while the presence store cannot be reached (better told twice than not
    at all). One round trip to the presence store."""
    states = presence.statuses_sync(user_ids)
    return {uid for uid, state in states.items() if state["status"] in ("online", "unknown")}


def notify_message(*, message_id: UUID | str, mentions_only: bool = False) -> int:
    """Notify the members of a message's conversation, but its sender.

    Kind: ``mention`` for the people it mentions (``@all``: every member;
    ``@here``: those online), else ``direct`` or ``group`` (group and
    support conversations). A thread reply (``parent_id``) tells the
    thread's followers ``thread_reply`` (a mention wins: one notification
    per person and message), and the other members only when it was also
    sent to the conversation. A muted conversation reaches nobody; otherwise
    ``rules.channels_for`` decides, and a person with no channel gets no row.
    ``mentions_only`` (after an edit) tells only the people mentioned.
    Returns how many notifications this call created.
    """
    message = selectors.message_for_fanout(message_id)
    if message is None:
        return 0
    if message.conversation.type == ConversationType.SUPPORT and not mentions_only:
        # Timers and automatic status moves of a support request, off the
        # send's hot path (``messaging.support.services.message_posted``).
        support_services.message_posted(message)
        if support_services.is_imported(message):
            return 0  # imported history, not news
    audience = selectors.message_audience(message)
    metadata = message.metadata or {}
    mentioned = set(metadata.get("mentions", []))
    everyone = metadata.get("mention_everyone")
    here = _online(audience.user_ids) if everyone == "here" and audience.user_ids else set()
    plain_kind = Kind.DIRECT if message.conversation.type == ConversationType.DIRECT else Kind.GROUP
    if worded_by_the_server(message):
        data_for = _in_each_language(audience.user_ids, lambda: message_data(message))
    else:
        data = message_data(message)
        data_for = lambda _: data  # noqa: E731 - the same for everyone
    root_id = message.parent_id
    in_thread = root_id is not None
    followers = selectors.thread_followers(root_id) if root_id is not None else set()

    def kind_for(user_id: UUID) -> str | None:
        uid = str(user_id)
        if uid in mentioned or everyone == "all" or (everyone == "here" and uid in here):
            return Kind.MENTION
        if mentions_only:
            return None
        if in_thread:
            if user_id in followers:
                return Kind.THREAD_REPLY
            return plain_kind if message.also_to_conversation else None
        return plain_kind

    return _deliver(
        audience,
        kind_for,
        actor=message.sender,
        message=message,
        data_for=data_for,
    )


def notify_added(
    *,
    conversation_id: UUID | str,
    user_ids: Iterable[UUID | str],
    actor_id: UUID | str | None = None,
    message_id: UUID | str | None = None,
) -> int:
    """Tell ``user_ids`` they were added to the conversation (``message_id``:
    the "added" notice, which makes the notification once per notice and
    links to it). People told already are not told again. Returns how many
    notifications this call created."""
    user_ids = [u for u in user_ids if str(u) != str(actor_id)]
    audience = selectors.added_audience(conversation_id, user_ids)
    if audience is None or not audience.user_ids:
        return 0
    told = selectors.already_told_added(conversation_id, audience.user_ids, message_id=message_id)
    audience.user_ids = [u for u in audience.user_ids if u not in told]
    conversation = audience.conversation
    assert conversation is not None  # added_audience always names it
    actor, message = selectors.actor_and_notice(actor_id, message_id, conversation.pk)
    data = {
        "conversation_title": conversation.title,
        "conversation_type": conversation.type,
        "seq": message.seq if message else None,
    }
    return _deliver(
        audience, lambda _: Kind.ADDED, actor=actor, message=message, data_for=lambda _: data
    )


def notify(
    *,
    user: User,
    kind: str,
    conversation_id: UUID | str | None = None,
    message: Message | None = None,
    actor: User | None = None,
    data: dict | None = None,
    ignore_mutes: bool = False,
) -> Notification | None:
    """Notify one person of one thing (support status changes and other
    single events): their preferences and mutes decide the channels, as in
    the fan-out. ``ignore_mutes``: something the person asked for
    themselves (a reminder) reaches them in a muted conversation too.
    Returns the notification, or None when no channel is on."""
    if kind not in Kind.values:
        raise ValueError(f"Unknown notification kind {kind!r}.")
    conversation_id = conversation_id or (message.conversation_id if message else None)
    if conversation_id is not None:
        audience = selectors.added_audience(conversation_id, [user.pk])
        if audience is None:
            return None
        if not audience.user_ids:
            # Not (or no longer) a member: preferences still apply.
            audience.user_ids = [user.pk]
        if ignore_mutes:
            audience.mutes = {}
    else:
        from notifications.selectors.preferences import preferences_for

        audience = Audience(
            conversation=None,
            user_ids=[user.pk],
            preferences={user.pk: preferences_for(user)},
        )
    created: list[Notification] = []
    _deliver(
        audience,
        lambda _: kind,
        actor=actor,
        message=message,
        data_for=lambda _: data or {},
        conversation_id=conversation_id,
        collect=created,
    )
    return created[0] if created else None


def _deliver(
    audience: Audience,
    kind_for: Callable[[UUID], str | None],
    *,
    actor: User | None,
    message: Message | None,
    data_for: DataFor,
    conversation_id: UUID | str | None = None,
    collect: list[Notification] | None = None,
) -> int:
    """Write the notifications of ``audience`` (one bulk insert), then after
    commit publish ``notification.new`` to the in-app recipients and hand
    the rest to push and email."""
    now = timezone.now()
    if conversation_id is None and audience.conversation is not None:
        conversation_id = audience.conversation.pk
    rows: list[Notification] = []
    channels: dict[tuple[UUID, str], set[str]] = {}
    for user_id in audience.user_ids:
        kind = kind_for(user_id)
        if kind is None or rules.is_muted(audience.mutes.get(user_id), now):
            continue
        reach = rules.channels_for(audience.preference(user_id), kind)
        if not reach:
            continue
        channels[(user_id, kind)] = reach
        rows.append(
            Notification(
                user_id=user_id,
                kind=kind,
                conversation_id=conversation_id,
                message=message,
                actor=actor,
                in_app=Channel.IN_APP.value in reach,
                data=data_for(user_id),
            )
        )
    if not rows:
        return 0
    with transaction.atomic():
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        if message is not None:
            feed.mark_read_on_arrival(notifications=rows, message=message)
            # Ours, and those an earlier run of this fan-out stored.
            stored = selectors.stored_for_message(
                message.pk,
                user_ids=[u for u, _ in channels],
                kinds={k for _, k in channels},
            )
            stored = [n for n in stored if (n.user_id, n.kind) in channels]
        else:
            stored = rows
        for notification in stored:
            notification.actor = actor  # the frames need no query for it
        ours = {n.pk for n in rows}
        created = [n for n in stored if n.pk in ours]
        transaction.on_commit(lambda: _hand_off(created, stored, channels, conversation_id))
    if collect is not None:
        collect.extend(created)
    return len(created)


def _hand_off(
    created: list[Notification],
    stored: list[Notification],
    channels: dict[tuple[UUID, str], set[str]],
    conversation_id: UUID | str | None,
) -> None:
    # Read already (marked on arrival, or since an earlier run): the bell
    # lists it as read (its frame says so), and no push or email follows.
    stored = [n for n in stored if n.read_at is None]
    in_app = [n for n in created if n.in_app]
    if in_app:
        counts = feed_selectors.unread_counts({n.user_id for n in in_app})
        events.publish_each(
            (
                events.user_group(n.user_id),
                events.notification_new(n, unread_count=counts.get(n.user_id, 0)),
            )
            for n in in_app
        )
    pushed = [n for n in stored if Channel.PUSH.value in channels[(n.user_id, n.kind)]]
    if pushed:
        push.enqueue_for(pushed)
    mailed = [n for n in stored if Channel.EMAIL.value in channels[(n.user_id, n.kind)]]
    # Kinds with an email of their own (a reminder); the others are told by
    # the conversation's missed-message email.
    own = [n for n in mailed if n.kind in notification_email.KINDS]
    if own:
        notification_email.schedule_for(own)
    emailed = sorted({str(n.user_id) for n in mailed if n.kind not in notification_email.KINDS})
    if emailed and conversation_id is not None:
        missed_email.schedule_for(conversation_id=conversation_id, user_ids=emailed)
