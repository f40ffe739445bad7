"""The support pages: a requester's own requests or, for platform admins,
the queue (``/support/``); a new request (``/support/new/``); and the small
form posts of the conversation page's support banner and the queue's bulk
actions, each answering with a redirect back (post/redirect/get), so every
form works without JavaScript. static/js/support.js makes the banner's
forms call the REST API instead, without a reload.

Thin: reads come from ``support.selectors``, writes go through
``support.services``; a refusal becomes a message on the page, and a
request the person may not see is a 404.
"""

import uuid
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.models import User
from config.redirects import safe_next
from messaging import policy, validation
from messaging.errors import InvalidInput, MessagingError, NotFound
from messaging.events import support_payload
from messaging.models import Conversation, ConversationType
from messaging.realtime import ratelimit
from messaging.support import selectors, services, transitions
from messaging.support.forms import BULK_ACTIONS, NewRequestForm, QueueFilterForm, RatingForm
from messaging.support.models import SupportPriority, SupportRequest, SupportStatus

QUEUE_PAGE_SIZE = 50


class SignedInRequest(HttpRequest):
    """A request past ``login_required``: its user is a ``User``."""

    user: User


# --- The banner on a support conversation's page --------------------------------


def status_action_label(target: str, current: str) -> str:
    """What the button that moves a request from ``current`` to ``target``
    says (static/js/support.js words it the same way)."""
    if target == SupportStatus.OPEN:
        return _("Mark open") if current == SupportStatus.PENDING else _("Reopen")
    if target == SupportStatus.PENDING:
        return _("Mark pending")
    if target == SupportStatus.RESOLVED:
        return _("Mark resolved")
    return _("Close")


def banner_context(user: User, conversation: Conversation) -> dict | None:
    """What the conversation page needs to show a support conversation's
    request (its banner, the controls this person may use, and ``data``:
    the request's payload with ``allowed_statuses`` for static/js/support.js),
    or None when the conversation is not a support request this person may
    see (another kind, or a support conversation from before requests)."""
    if conversation.type != ConversationType.SUPPORT:
        return None
    support_request = selectors.request_for_conversation(user, conversation.pk)
    if support_request is None:
        return None
    allowed = transitions.allowed_targets(support_request, user)
    is_staff = policy.may_work_support_queue(user)
    return {
        "request": support_request,
        "data": {**support_payload(support_request), "allowed_statuses": allowed},
        "is_staff": is_staff,
        "is_requester": support_request.requester_id == user.pk,
        "overdue": selectors.is_overdue(support_request),
        "status_buttons": [
            {
                "value": status,
                "label": status_action_label(status, support_request.status),
                "allowed": status in allowed,
            }
            for status in SupportStatus.values
        ],
        "priorities": SupportPriority.choices,
        "assignees": list(policy.support_assignees().order_by("display_name")) if is_staff else [],
        "may_rate": policy.may_rate_support(user, support_request),
        "rating_form": RatingForm(),
    }


# --- Pages ---------------------------------------------------------------------


@login_required
def support_home(request: SignedInRequest) -> HttpResponse:
    """Platform admins get the queue; everyone else their own requests."""
    if policy.may_work_support_queue(request.user):
        return _queue(request)
    return render(
        request,
        "support/mine.html",
        {
            "requests": selectors.requests_of(request.user),
            "may_open": policy.may_open_support(request.user, request.user),
        },
    )


def _queue(request: SignedInRequest) -> HttpResponse:
    form = QueueFilterForm(
        request.GET or None, categories=selectors.categories(include_inactive=True)
    )
    # An invalid filter is shown beside its field; the others still apply.
    valid = form.is_valid() if form.is_bound else True
    requests = selectors.queue(user=request.user, **form.queue_filters())
    page = Paginator(requests, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [
        {"request": support_request, "overdue": selectors.is_overdue(support_request, now=now)}
        for support_request in page
    ]
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(
        request,
        "support/queue.html",
        {
            "form": form,
            "rows": rows,
            "page": page,
            "filters_query": filters.urlencode(),
            "filtered": any(value is not None for value in form.queue_filters().values()),
            "bulk_actions": BULK_ACTIONS,
            "here": request.get_full_path(),
        },
        status=200 if valid else 400,
    )


@login_required
def new_request(request: SignedInRequest) -> HttpResponse:
    """The form; a valid post opens the request and goes to its conversation.
    A refused one shows the form again with what was typed and why."""
    user = request.user
    if not policy.may_open_support(user, user):
        messages.error(request, _("Admins answer support requests; they do not open them."))
        return redirect("support")
    categories = selectors.categories()
    if request.method == "POST":
        form = NewRequestForm(request.POST, categories=categories)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                if selectors.opened_with(opener=user, client_id=data["client_id"]) is None:
                    # Opening sends a message: the same bucket as every send.
                    ratelimit.spend_send(user)
                support_request = services.open_request(
                    requester=user,
                    category_id=data["category"].pk,
                    subject=data["subject"],
                    body=data["body"],
                    client_id=data["client_id"],
                )
            except MessagingError as error:
                form.add_error(None, error.message)
                status = error.http_status
            else:
                return redirect("conversation", conversation_id=support_request.conversation_id)
        return render(request, "support/new.html", {"form": form}, status=status)
    subject = request.GET.get("subject", "")
    form = NewRequestForm(
        initial={"client_id": uuid.uuid4(), "subject": subject}, categories=categories
    )
    return render(request, "support/new.html", {"form": form})


def legacy_new_support_target(request: SignedInRequest) -> str:
    """Where the old "Contact support" form now leads: the new request page,
    with the subject typed there carried over."""
    form = request.POST if request.method == "POST" else request.GET
    subject = form.get("title", "").strip()
    target = reverse("support_new")
    return f"{target}?{urlencode({'subject': subject})}" if subject else target


# --- Form posts (post/redirect/get) ------------------------------------------------


def _request_action(
    action: Callable[[SignedInRequest, SupportRequest], str],
) -> Callable[..., HttpResponse]:
    """A banner form's view: find the request (404 unless the person may see
    it), do ``action`` (which returns what to tell the person), and go back
    to the request's conversation with that message, or the refusal's."""

    @wraps(action)
    @login_required
    @require_POST
    def view(request: SignedInRequest, request_id: uuid.UUID) -> HttpResponse:
        try:
            support_request = selectors.request_for(request.user, request_id)
        except NotFound:
            raise Http404("No such support request.") from None
        try:
            messages.success(request, action(request, support_request))
        except NotFound:
            raise Http404("No such support request.") from None
        except MessagingError as error:
            messages.error(request, error.message)
        return redirect(
            safe_next(request) or reverse("conversation", args=[support_request.conversation_id])
        )

    return view


def _choice(request: SignedInRequest, field: str, choices: list[str]) -> str:
    value = request.POST.get(field, "")
    if value not in choices:
        raise InvalidInput(
            _("%(field)s must be one of: %(choices)s.")
            % {"field": field, "choices": ", ".join(choices)}
        )
    return value


@_request_action
def change_status(request: SignedInRequest, support_request: SupportRequest) -> str:
    status = _choice(request, "status", SupportStatus.values)
    changed = services.change_status(
        actor=request.user, request_id=support_request.pk, status=status
    )
    return _("Status changed to %(status)s.") % {"status": changed.get_status_display()}


@_request_action
def assign(request: SignedInRequest, support_request: SupportRequest) -> str:
    raw = request.POST.get("assignee_id", "")
    assignee_id = validation.parse_uuid(raw, what="assignee_id") if raw else None
    changed = services.assign(
        actor=request.user, request_id=support_request.pk, assignee_id=assignee_id
    )
    if changed.assignee is None:
        return _("The request is unassigned.")
    return _("Assigned to %(name)s.") % {"name": changed.assignee.display_name}


@_request_action
def set_priority(request: SignedInRequest, support_request: SupportRequest) -> str:
    priority = _choice(request, "priority", SupportPriority.values)
    changed = services.set_priority(
        actor=request.user, request_id=support_request.pk, priority=priority
    )
    return _("Priority set to %(priority)s.") % {"priority": changed.get_priority_display()}


@_request_action
def rate(request: SignedInRequest, support_request: SupportRequest) -> str:
    form = RatingForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(" ".join(str(e) for errors in form.errors.values() for e in errors))
    services.rate(
        actor=request.user,
        request_id=support_request.pk,
        satisfied=form.cleaned_data["satisfied"],
        comment=form.cleaned_data["comment"],
    )
    return _("Thank you for your rating.")


@login_required
@require_POST
def bulk(request: SignedInRequest) -> HttpResponse:
    """The queue's "Assign to me" and "Close" on the checked requests; back
    to the queue as it was filtered."""
    back = safe_next(request) or reverse("support")
    try:
        action = _choice(request, "action", [value for value, _label in BULK_ACTIONS])
        ids = validation.parse_uuids(request.POST.getlist("ids"), what="ids")
        if not ids:
            raise InvalidInput(_("Choose at least one request."))
        if action == "assign":
            changed = services.bulk_assign(
                actor=request.user, request_ids=ids, assignee_id=request.user.pk
            )
            done = ngettext(
                "%(count)s request assigned to you.", "%(count)s requests assigned to you.", changed
            )
        else:
            changed = services.bulk_close(actor=request.user, request_ids=ids)
            done = ngettext("%(count)s request closed.", "%(count)s requests closed.", changed)
    except MessagingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done % {"count": changed})
    return redirect(back)
