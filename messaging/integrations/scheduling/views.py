"""The Scheduled page: the person's scheduled messages, with their
conversation, their time in the zone it was chosen in, and their state;
static/js/scheduled.js edits and cancels them through the API."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path

from messaging.integrations.scheduling import selectors
from messaging.integrations.scheduling.payloads import scheduled_payload


@login_required
def scheduled(request):
    rows = selectors.scheduled_of(request.user)
    names = selectors.conversation_names(
        request.user, list({s.conversation_id: s.conversation for s in rows}.values())
    )
    items = [
        {"row": s, "data": scheduled_payload(s, name=names.get(s.conversation_id, ""))}
        for s in rows
    ]
    return render(
        request,
        "scheduling/scheduled.html",
        {"items": items, "page_data": {"time_zone": request.user.time_zone}},
    )


urlpatterns = [path("scheduled/", scheduled, name="scheduled")]
