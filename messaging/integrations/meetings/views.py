"""The join page: ``/meetings/<id>/join/`` sends a member on to their own
join URL (a 302), so the call's card can be a plain link that opens in a
new tab. Anyone else, and an unknown id, gets the 404 page; a provider
that cannot be reached sends the person back to the conversation, told
why."""

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import User
from messaging.errors import MessagingError, NotFound
from messaging.integrations.meetings import selectors, services
from messaging.models import AuditAction
from messaging.realtime import ratelimit


@require_GET
@never_cache
@login_required
def join(request: HttpRequest, meeting_id) -> HttpResponse:
    user = cast(User, request.user)  # login_required let only a person in
    try:
        meeting = selectors.visible_meeting(
            user=user, meeting_id=meeting_id, attempted=AuditAction.MEETING_JOIN
        )
        ratelimit.spend_send(user)
        url = services.join_url(user=user, meeting_id=meeting.pk)
    except NotFound as missing:
        raise Http404(missing.message) from None
    except MessagingError as refused:
        messages.error(request, refused.message)
        return redirect("conversation", meeting.conversation_id)
    response = redirect(url)
    # The URL may carry a token made for this person.
    response["Referrer-Policy"] = "no-referrer"
    return response
