"""The notification centre's REST API: thin views over
``notifications.selectors.feed`` (reads) and ``notifications.services.feed``
(writes), in the conventions of ``messaging.api`` (authentication, JSON
only, the error shape, the schema). Entries look as in the socket's
``notification.new`` frame (``messaging.events.notification_payload``).
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from messaging import events
from messaging.api import serializers as s
from messaging.api.views import ParleyAPIView, _errors, _valid
from notifications.models import Kind
from notifications.selectors import feed as selectors
from notifications.services import feed as services

# --- Shapes -------------------------------------------------------------------


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": selectors.MAX_PAGE_SIZE})
class FeedPageSizeField(serializers.IntegerField):
    """A page size of the feed: 1 to ``MAX_PAGE_SIZE``."""

    def to_internal_value(self, data):
        value = s._whole_number(self, data)
        if not isinstance(value, int) or isinstance(value, bool):
            raise serializers.ValidationError(_("limit must be a whole number."))
        if not 1 <= value <= selectors.MAX_PAGE_SIZE:
            raise serializers.ValidationError(
                _("limit is between 1 and %(max)s.") % {"max": selectors.MAX_PAGE_SIZE}
            )
        return value


class NotificationListQuery(s.QuerySerializer):
    unread = s.QueryBooleanField(default=False, help_text="true lists only unread ones.")
    before = s.UUIDField(
        required=False,
        help_text="Page back: the notifications older than this one (next_before of the "
        "previous page).",
    )
    limit = FeedPageSizeField(
        required=False,
        help_text=f"Page size, default {selectors.DEFAULT_PAGE_SIZE}, "
        f"at most {selectors.MAX_PAGE_SIZE}.",
    )


class NotificationOut(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=Kind.choices)
    conversation_id = serializers.UUIDField(allow_null=True)
    message_id = serializers.UUIDField(allow_null=True)
    actor = s.UserOut(allow_null=True)
    # DRF's metaclass takes declared fields out of the class: this names the
    # output key without shadowing Serializer.data at run time.
    data = serializers.DictField(  # type: ignore[assignment]
        help_text="What the entry shows: excerpt, seq, conversation_title, "
        "conversation_type (messages); status and others (support changes)."
    )
    url = serializers.CharField(
        allow_null=True, help_text="The page of the thing notified, the message in context."
    )
    created_at = s.DateTimeOut()
    read_at = s.DateTimeOut(allow_null=True)

    def to_representation(self, notification):
        return events.notification_payload(notification)


class NotificationListOut(serializers.Serializer):
    notifications = NotificationOut(many=True)
    has_more = serializers.BooleanField(help_text="Older notifications lie beyond this page.")
    next_before = serializers.UUIDField(
        allow_null=True, help_text="Pass as before for the next (older) page."
    )
    unread_count = serializers.IntegerField()


class UnreadCountOut(serializers.Serializer):
    unread_count = serializers.IntegerField()


class ReadAllOut(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread.")
    unread_count = serializers.IntegerField()


# --- Views --------------------------------------------------------------------


class NotificationListView(ParleyAPIView):
    @extend_schema(
        operation_id="notifications_list",
        parameters=[NotificationListQuery],
        responses={200: NotificationListOut, **_errors(400, 401, 404)},
        description="Your in-app notifications, newest first, a page at a time. A before "
        "that is not one of yours is 404.",
    )
    def get(self, request):
        query = _valid(NotificationListQuery, request.query_params)
        page = selectors.feed_page(
            user=request.user,
            unread_only=query["unread"],
            before=query.get("before"),
            limit=query.get("limit", selectors.DEFAULT_PAGE_SIZE),
        )
        items = page.notifications
        return Response(
            {
                "notifications": NotificationOut(items, many=True).data,
                "has_more": page.has_more,
                "next_before": str(items[-1].pk) if items and page.has_more else None,
                "unread_count": selectors.unread_count(request.user),
            }
        )


class NotificationReadView(ParleyAPIView):
    @extend_schema(
        operation_id="notifications_read",
        request=None,
        responses={200: NotificationOut, **_errors(401, 404)},
        description="Mark one of your notifications read (again: no change). Every tab of "
        "yours hears notification.read.",
    )
    def post(self, request, notification_id):
        notification = services.mark_read(user=request.user, notification_id=notification_id)
        return Response(NotificationOut(notification).data)


class NotificationReadAllView(ParleyAPIView):
    @extend_schema(
        operation_id="notifications_read_all",
        request=None,
        responses={200: ReadAllOut, **_errors(401)},
        description="Mark all your notifications read.",
    )
    def post(self, request):
        marked = services.mark_all_read(user=request.user)
        return Response({"marked": marked, "unread_count": selectors.unread_count(request.user)})


class UnreadCountView(ParleyAPIView):
    @extend_schema(
        operation_id="notifications_unread_count",
        responses={200: UnreadCountOut, **_errors(401)},
        description="How many of your in-app notifications are unread (the bell's number).",
    )
    def get(self, request):
        return Response({"unread_count": selectors.unread_count(request.user)})
