"""The server-rendered pages. Thin: reads come from ``selectors``, writes go
through ``services``, and a ``MessagingError`` becomes a message on the page.

The browser client (static/js) takes over once a page is loaded: live
messages, typing, presence and receipts travel over the socket.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import User
from config.redirects import safe_next
from messaging import notices, policy, selectors, services, validation
from messaging.e2e import pages as e2e_pages
from messaging.errors import InvalidInput, MessagingError, NotFound
from messaging.events import message_payload, mute_payload
from messaging.models import (
    ConversationType,
    MessageType,
    ReportReason,
)
from messaging.moderation import selectors as moderation_selectors
from messaging.realtime import ratelimit
from messaging.support import views as support_views
from messaging.threads import markdown

FILTERS = [
    ("all", gettext_lazy("All")),
    ("direct", pgettext_lazy("inbox filter", "Direct")),
    ("group", gettext_lazy("Groups")),
    ("support", pgettext_lazy("inbox filter", "Support")),
    ("archived", gettext_lazy("Archived")),
]


# --- Helpers -----------------------------------------------------------------


def title_for(conversation, members, user) -> str:
    """What pages call a conversation (``selectors.name_from_title_or_people``).
    ``members`` are its active memberships, or None to look them up only
    when the names are needed."""
    if not conversation.title and conversation.type != ConversationType.SUPPORT:
        if members is None:
            members = selectors.participants(conversation)
        others = [m.user.display_name for m in members if m.user_id != user.pk]
    else:
        others = []
    return selectors.name_from_title_or_people(conversation, others)


def _can_toggle_archive(user, conversation, membership) -> bool:
    """Whether the page offers Archive (``policy.may_archive``) or, for an
    archived conversation, Unarchive (``policy.may_manage``)."""
    if conversation.is_archived:
        return policy.may_manage(user, conversation, membership=membership)
    return policy.may_archive(user, conversation, membership=membership)


def _other_person(conversation, members, user):
    """The other person of a direct conversation, else None."""
    if conversation.type != ConversationType.DIRECT:
        return None
    return next((m.user for m in members if m.user_id != user.pk), None)


def _block_state(user, other) -> dict:
    """A direct conversation's block, for its header control and the notice
    shown instead of the composer: whether I blocked the other person,
    whether they blocked me, and whether I may block them."""
    if other is None:
        return {}
    i_blocked = moderation_selectors.has_blocked(user, other.pk)
    return {
        "i_blocked": i_blocked,
        "blocked_me": moderation_selectors.has_blocked(other, user.pk),
        "may_block": i_blocked or policy.may_block(user, other),
    }


def _presence_of(user_ids) -> dict:
    """The last stored presence; the socket corrects it once connected."""
    return selectors.stored_presence(user_ids)


def _inbox_rows(user, *, kind=None, archived=False) -> list[dict]:
    memberships = selectors.inbox(user, kind=kind, archived=archived)
    people = {}
    for membership in memberships:
        for member in membership.members:
            people[member.user_id] = member.user
    presence = _presence_of(people)
    encrypted = e2e_pages.encrypted_ids(m.conversation.pk for m in memberships)
    rows = []
    for membership in memberships:
        conversation = membership.conversation
        members = membership.members
        other = _other_person(conversation, members, user)
        sender_id = membership.last_message_sender_id
        # The words as the conversation shows them, without Markdown marks.
        text = (
            markdown.plain_text(membership.last_message_html)
            if membership.last_message_html
            else membership.last_message_content
        )
        if membership.last_message_deleted_at:
            preview = _("Message deleted")
        elif membership.last_message_hidden_at:
            preview = _("Message hidden by a moderator")
        elif membership.last_message_type == MessageType.ENCRYPTED:
            # The server has no text: the browser shows it once decrypted.
            preview = _("Encrypted message")
        elif membership.last_message_type in (MessageType.FILE, MessageType.IMAGE):
            # The caption when there is one; else what kind of file came.
            caption = text
            if caption:
                preview = caption
            elif membership.last_message_type == MessageType.IMAGE:
                preview = _("Sent an image")
            else:
                preview = _("Sent a file")
        elif membership.last_message_type == MessageType.SYSTEM:
            # "Maria added Sam" in the reader's language (messaging.notices).
            notice = {"notice": membership.last_message_notice}
            preview = notices.worded(notice) or text or ""
        else:
            preview = text or ""
        if sender_id and membership.last_message_type != MessageType.SYSTEM and preview:
            if sender_id == user.pk:
                preview = _("You: %(preview)s") % {"preview": preview}
            elif conversation.type != ConversationType.DIRECT and sender_id in people:
                # Translators: a sender's first name, then their message.
                preview = _("%(name)s: %(preview)s") % {
                    "name": people[sender_id].display_name.split()[0],
                    "preview": preview,
                }
        rows.append(
            {
                "conversation": conversation,
                "title": title_for(conversation, members, user),
                "other": other,
                "presence": presence.get(other.pk, "offline") if other else "",
                "initials": other.initials if other else _group_initials(conversation, user),
                "preview": preview,
                "unread": max(membership.unread_count, 0),
                # The preview's seq: the page updates the row from newer
                # main-stream messages only (thread-only replies skip it).
                "last_seq": membership.last_message_seq or 0,
                "encrypted": conversation.pk in encrypted,
            }
        )
    return rows


def _group_initials(conversation, user) -> str:
    if conversation.title:
        words = conversation.title.split()
        return "".join(w[0] for w in words[:2]).upper() or "#"
    return "#" if conversation.type == ConversationType.GROUP else "?"


def _messaging_errors_shown(view):
    """Show a refused action's reason and go back where the user came from."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except MessagingError as error:
            messages.error(request, error.message)
            fallback = (
                reverse("conversation", args=[kwargs["conversation_id"]])
                if "conversation_id" in kwargs
                else reverse("inbox")
            )
            return redirect(safe_next(request) or fallback)

    return wrapper


def _user_from_post(request, field: str = "user_id") -> User:
    try:
        return selectors.user_by_id(validation.parse_uuid(request.POST.get(field), what=field))
    except (NotFound, InvalidInput):
        raise Http404("No such person.") from None


# --- Inbox -------------------------------------------------------------------


@login_required
def inbox(request):
    current = request.GET.get("filter", "all")
    if current not in dict(FILTERS):
        current = "all"
    kind = current if current in ConversationType.values else None
    rows = _inbox_rows(request.user, kind=kind, archived=current == "archived")
    return render(
        request,
        "messaging/inbox.html",
        {
            "rows": rows,
            "filters": FILTERS,
            "current_filter": current,
            "may_create_group": policy.may_create_group(request.user),
        },
    )


# --- One conversation ----------------------------------------------------------


def _membership_or_refusal(request, conversation_id):
    """``(membership, None)``, or ``(None, response)`` refusing the page: back
    to the inbox with the reason. An unknown conversation, and one the user
    is not in (``NotVisible``, recorded in the audit log), is the same 404."""
    try:
        membership = selectors.membership_for(
            request.user, conversation_id, attempted="conversation.view"
        )
    except NotFound:
        raise Http404("No such conversation.") from None
    except MessagingError as error:
        messages.error(request, error.message)
        return None, redirect("inbox")
    return membership, None


def _mute_of(user: User, conversation) -> dict | None:
    mute = moderation_selectors.active_mute(user, conversation.pk)
    if mute is None:
        return None
    return mute_payload(mute)


@login_required
def conversation(request, conversation_id):
    """The chat page. Its messages travel as JSON (``page_data``, the latest
    page in the protocol's message shape) and the browser renders them with
    the code that renders live ones."""
    membership, refusal = _membership_or_refusal(request, conversation_id)
    if refusal:
        return refusal
    page = selectors.history(user=request.user, conversation_id=conversation_id)
    convo = membership.conversation
    members = selectors.participants(convo)
    user = request.user
    other = _other_person(convo, members, user)
    presence = _presence_of(m.user_id for m in members)
    page_data = {
        "conversation_id": str(convo.pk),
        "type": convo.type,
        "archived": convo.is_archived,
        "last_seq": convo.last_seq,
        "me": str(user.pk),
        "has_more_before": bool(page) and page[0].seq > 1,
        # Offers @all and @here in the composer's autocomplete.
        "may_mention_everyone": policy.may_mention_everyone(user, convo),
        "participants": [
            {
                "id": str(m.user_id),
                "display_name": m.user.display_name,
                "role": m.user.role,
                "last_read_seq": m.last_read_seq,
                "last_delivered_seq": m.last_delivered_seq,
            }
            for m in members
        ],
        "messages": [message_payload(m) for m in page],
        # A moderator's mute in force here: the page says so above the
        # composer (sends are refused with ``muted`` either way).
        "muted": _mute_of(user, convo),
        # End-to-end encrypted: its key state (static/js/e2e/chat.js).
        "e2e": e2e_pages.conversation_state(convo.pk),
    }
    # A support conversation's request: its banner, and its payload for
    # static/js/support.js.
    support = support_views.banner_context(user, convo)
    if support:
        page_data["support"] = support["data"]
    return render(
        request,
        "messaging/conversation.html",
        {
            "conversation": convo,
            "membership": membership,
            "title": title_for(convo, members, user),
            "other": other,
            "other_presence": presence.get(other.pk, "offline") if other else "",
            "header_initials": other.initials if other else _group_initials(convo, user),
            "members": members,
            "page_data": page_data,
            "can_manage": policy.may_manage(user, convo, membership=membership),
            "can_toggle_archive": _can_toggle_archive(user, convo, membership),
            "put_away": selectors.is_put_away(membership),
            "rows": _inbox_rows(user),
            "support": support,
            "blocking": _block_state(user, other),
            "report_reasons": ReportReason.choices,
            "e2e": page_data["e2e"],
        },
    )


@login_required
def members(request, conversation_id):
    membership, refusal = _membership_or_refusal(request, conversation_id)
    if refusal:
        return refusal
    convo = membership.conversation
    people = selectors.participants(convo)
    can_manage = policy.may_manage(request.user, convo, membership=membership)
    candidates = []
    if can_manage and not convo.is_archived:
        member_ids = {p.user_id for p in people}
        pool = policy.addable_users(request.user, convo).order_by("display_name")
        candidates = [u for u in pool if u.pk not in member_ids]
    presence = _presence_of(p.user_id for p in people)
    for person in people:
        person.presence_status = presence.get(person.user_id, "offline")
    return render(
        request,
        "messaging/members.html",
        {
            "conversation": convo,
            "title": title_for(convo, people, request.user),
            "members": people,
            "membership": membership,
            "can_manage": can_manage,
            "can_toggle_archive": _can_toggle_archive(request.user, convo, membership),
            "candidates": candidates,
        },
    )


@login_required
@require_POST
@_messaging_errors_shown
def archive(request, conversation_id):
    archived = request.POST.get("archived") == "1"
    # From the send bucket, as the API's archive (a refusal is shown).
    ratelimit.spend_send(request.user)
    services.set_archived(actor=request.user, conversation_id=conversation_id, archived=archived)
    messages.success(
        request, _("Conversation archived.") if archived else _("Conversation restored.")
    )
    return redirect(safe_next(request) or reverse("conversation", args=[conversation_id]))


@login_required
@require_POST
@_messaging_errors_shown
def put_away(request, conversation_id):
    """The member's own archive: out of their inbox, or back into it."""
    archived = request.POST.get("archived") == "1"
    ratelimit.spend_send(request.user)
    services.set_archived_for_me(
        user=request.user, conversation_id=conversation_id, archived=archived
    )
    if archived:
        messages.success(
            request, _("Archived for you. A new message brings it back unless you mute it.")
        )
        return redirect("inbox")
    messages.success(request, _("Back in your inbox."))
    return redirect(safe_next(request) or reverse("conversation", args=[conversation_id]))


@login_required
@require_POST
@_messaging_errors_shown
def rename(request, conversation_id):
    # From the send bucket, as the API's (each is an audit row and an event).
    ratelimit.spend_send(request.user)
    services.rename_conversation(
        actor=request.user,
        conversation_id=conversation_id,
        title=validation.clean_title(request.POST.get("title", "")),
    )
    messages.success(request, _("Conversation renamed."))
    return redirect("members", conversation_id=conversation_id)


@login_required
@require_POST
@_messaging_errors_shown
def add_members(request, conversation_id):
    users = selectors.users_by_ids(
        validation.parse_uuids(request.POST.getlist("user_ids"), what="user_ids")
    )
    if not users:
        messages.error(request, _("Choose at least one person to add."))
        return redirect("members", conversation_id=conversation_id)
    ratelimit.spend_send(request.user)
    services.add_participants(actor=request.user, conversation_id=conversation_id, users=users)
    messages.success(
        request, _("Added %(names)s.") % {"names": ", ".join(u.display_name for u in users)}
    )
    return redirect("members", conversation_id=conversation_id)


@login_required
@require_POST
@_messaging_errors_shown
def remove_member(request, conversation_id):
    user = _user_from_post(request)
    if user.pk != request.user.pk:  # leaving is never held back
        ratelimit.spend_send(request.user)
    services.remove_participant(actor=request.user, conversation_id=conversation_id, user=user)
    if user.pk == request.user.pk:
        messages.success(request, _("You left the conversation."))
        return redirect("inbox")
    messages.success(request, _("Removed %(name)s.") % {"name": user.display_name})
    return redirect("members", conversation_id=conversation_id)


# --- Starting conversations ------------------------------------------------------


@login_required
@_messaging_errors_shown
def new_direct(request):
    if request.method == "POST":
        other = _user_from_post(request)
        ratelimit.spend_send(request.user)
        convo = services.create_conversation(
            creator=request.user, kind=ConversationType.DIRECT, participants=[other]
        )
        return redirect("conversation", conversation_id=convo.pk)
    people = policy.messageable_users(request.user).order_by("role", "display_name")
    existing = selectors.direct_partners(request.user)
    presence = _presence_of(p.pk for p in people)
    return render(
        request,
        "messaging/new_direct.html",
        {
            "people": [
                {
                    "user": p,
                    "conversation_id": existing.get(p.pk),
                    "presence": presence.get(p.pk, "offline"),
                }
                for p in people
            ],
            "may_open_support": policy.may_open_support(request.user, request.user),
        },
    )


@login_required
@_messaging_errors_shown
def new_group(request):
    if not policy.may_create_group(request.user):
        messages.error(request, _("Only mentors and admins create groups."))
        return redirect("inbox")
    people = policy.messageable_users(request.user).order_by("role", "display_name")
    if request.method == "POST":
        chosen = [p for p in people if str(p.pk) in set(request.POST.getlist("user_ids"))]
        try:
            ratelimit.spend_send(request.user)
            convo = services.create_conversation(
                creator=request.user,
                kind=ConversationType.GROUP,
                participants=chosen,
                title=validation.clean_title(request.POST.get("title", "")),
            )
        except InvalidInput as error:
            # Shown on the form, which keeps what was typed and chosen.
            messages.error(request, error.message)
        else:
            return redirect("conversation", conversation_id=convo.pk)
    return render(
        request,
        "messaging/new_group.html",
        {
            "people": people,
            "title": request.POST.get("title", ""),
            "chosen": set(request.POST.getlist("user_ids")),
        },
    )


@login_required
def new_support(request):
    """The old "Contact support" form: support requests have their own page
    now (``support_new``), which gets the subject typed here."""
    return redirect(support_views.legacy_new_support_target(request))
