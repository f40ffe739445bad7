"""The calendar's REST API (docs/api.md, "Reminders and the calendar
feed"): one's feed URL, rotating it, and single events as .ics files."""

from django.conf import settings
from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from messaging import selectors as messaging_selectors
from messaging.api.serializers import DateTimeOut
from messaging.api.views import ParleyAPIView, _errors
from messaging.integrations.calendar import ics, selectors, services
from messaging.integrations.calendar.views import calendar_response
from messaging.integrations.models import CalendarFeed
from messaging.integrations.reminders import selectors as reminder_selectors
from messaging.realtime import ratelimit


class FeedOut(serializers.Serializer):
    url = serializers.URLField(help_text="Secret: whoever has it reads your calendar.")
    rotated_at = DateTimeOut(allow_null=True)


def _feed_payload(feed: CalendarFeed) -> dict:
    path = reverse("calendar-feed", args=[feed.token])
    return {
        "url": f"{settings.PARLEY_SITE_URL}{path}",
        "rotated_at": feed.rotated_at.isoformat() if feed.rotated_at else None,
    }


_ICS = {
    (200, "text/calendar"): OpenApiResponse(OpenApiTypes.BINARY, description="RFC 5545"),
}


class FeedView(ParleyAPIView):
    @extend_schema(
        operation_id="calendar_feed",
        responses={200: FeedOut, **_errors(401)},
        description="Your calendar feed's secret URL (made the first time you ask).",
    )
    def get(self, request):
        return Response(_feed_payload(services.feed_for(user=request.user)))


class FeedRotateView(ParleyAPIView):
    @extend_schema(
        operation_id="calendar_feed_rotate",
        request=None,
        responses={200: FeedOut, **_errors(401, 429)},
        description="A new secret URL; the old one answers 404 from now on. Audited.",
    )
    def post(self, request):
        ratelimit.spend_send(request.user)
        return Response(_feed_payload(services.rotate_feed(user=request.user)))


class ReminderIcsView(ParleyAPIView):
    @extend_schema(
        operation_id="reminder_ics",
        responses={**_ICS, **_errors(401, 404)},
        description="One of your reminders as an .ics file.",
    )
    def get(self, request, reminder_id):
        reminder = reminder_selectors.reminder_of(request.user, reminder_id)
        names = messaging_selectors.conversation_names(
            request.user, [reminder.message.conversation]
        )
        event = ics.reminder_event(
            reminder, conversation_name=names[reminder.message.conversation_id]
        )
        return calendar_response(ics.single(event), filename=f"reminder-{reminder.pk}.ics")


class MeetingIcsView(ParleyAPIView):
    @extend_schema(
        operation_id="meeting_ics",
        responses={**_ICS, **_errors(401, 404)},
        description="A meeting of a conversation you are in, as an .ics file; 404 for "
        "anyone else, as for a missing one.",
    )
    def get(self, request, meeting_id):
        meeting = selectors.meeting_for(request.user, meeting_id)
        names = messaging_selectors.conversation_names(request.user, [meeting.conversation])
        event = ics.meeting_event(meeting, conversation_name=names[meeting.conversation_id])
        return calendar_response(ics.single(event), filename=f"meeting-{meeting.pk}.ics")


urlpatterns = [
    path("calendar/feed/", FeedView.as_view(), name="api-calendar-feed"),
    path("calendar/feed/rotate/", FeedRotateView.as_view(), name="api-calendar-feed-rotate"),
    path("reminders/<uuid:reminder_id>/ics", ReminderIcsView.as_view(), name="api-reminder-ics"),
    path("meetings/<uuid:meeting_id>/ics", MeetingIcsView.as_view(), name="api-meeting-ics"),
]
