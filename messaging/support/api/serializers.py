"""The support API's shapes: inputs parsed as the rest of the API parses
them, outputs rendered by ``messaging.events.support_payload`` (the shape
the ``support.updated`` frame carries), declared for the schema."""

import re

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging import events, validation
from messaging.api.serializers import (
    ContentField,
    DateTimeOut,
    InputSerializer,
    ListLimitField,
    ListOffsetField,
    QueryBooleanField,
    QuerySerializer,
    TextField,
    UserOut,
    UUIDField,
    _parsed,
)
from messaging.support import transitions
from messaging.support.models import SupportPriority, SupportStatus

# The longest ``older_than_hours`` (a century): beyond it a date before the
# calendar's first year would be asked for.
MAX_AGE_HOURS = 24 * 365 * 100  # a century: 876,000 (docs/api.md)
MAX_BULK_IDS = 500
# A page of GET requests/.
QUEUE_LIST_DEFAULT = 50
QUEUE_LIST_MAX = 200
_DIGITS = re.compile(r"[0-9]{1,7}")
_ASSIGNEE = re.compile(
    r"me|none|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)

# --- Input --------------------------------------------------------------------------------


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": MAX_AGE_HOURS})
class AgeHoursField(serializers.IntegerField):
    """Whole hours, ASCII digits in the query string."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not _DIGITS.fullmatch(data):
            raise serializers.ValidationError(
                _("older_than_hours must be a whole number of hours.")
            )
        value = int(data)
        if value > MAX_AGE_HOURS:
            raise serializers.ValidationError(
                _("older_than_hours is at most %(max)s.") % {"max": MAX_AGE_HOURS}
            )
        return value


@extend_schema_field({"type": "string", "pattern": f"^(?:{_ASSIGNEE.pattern})$"})
class AssigneeFilterField(serializers.CharField):
    """``me``, ``none`` or an admin's id."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not _ASSIGNEE.fullmatch(data):
            raise serializers.ValidationError(_("assignee is me, none or a user id."))
        return data


class SupportQueueQuery(QuerySerializer):
    status = serializers.ChoiceField(choices=SupportStatus.choices, required=False)
    category = TextField(required=False, help_text="A category's slug.")
    assignee = AssigneeFilterField(required=False)
    priority = serializers.ChoiceField(choices=SupportPriority.choices, required=False)
    overdue = QueryBooleanField(
        required=False,
        default=None,
        allow_null=True,
        help_text="true: only overdue requests; false: only those in time.",
    )
    older_than_hours = AgeHoursField(
        required=False, help_text="Only requests opened more than this many hours ago."
    )
    limit = ListLimitField(
        required=False,
        help_text=f"Page size, default {QUEUE_LIST_DEFAULT}; more than {QUEUE_LIST_MAX} is read "
        f"as {QUEUE_LIST_MAX}.",
    )
    offset = ListOffsetField(required=False, help_text="Requests to skip, default 0.")

    def validate(self, attrs):
        limit, offset = _parsed(
            validation.clean_list_window,
            attrs.pop("limit", None),
            attrs.pop("offset", None),
            default=QUEUE_LIST_DEFAULT,
            most=QUEUE_LIST_MAX,
        )
        return {**attrs, "limit": limit, "offset": offset}


class SupportRequestCreateIn(InputSerializer):
    category = TextField(help_text="The category's slug.")
    subject = TextField(
        trim_whitespace=False, help_text="One line, at most SUPPORT_SUBJECT_MAX_CHARS characters."
    )
    body = ContentField(help_text="The first message.")
    client_id = UUIDField(
        help_text="The first message's key: sending the same again answers the same request."
    )


class SupportStatusIn(InputSerializer):
    status = serializers.ChoiceField(choices=SupportStatus.choices)


class SupportAssignIn(InputSerializer):
    assignee_id = UUIDField(allow_null=True, help_text="An active admin, or null: nobody.")


class SupportPriorityIn(InputSerializer):
    priority = serializers.ChoiceField(choices=SupportPriority.choices)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false, nothing that looks like one."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class SupportRatingIn(InputSerializer):
    satisfied = StrictBooleanField()
    comment = TextField(
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=False,
        help_text="At most SUPPORT_RATING_COMMENT_MAX_CHARS characters.",
    )


class SupportBulkIn(InputSerializer):
    ids = serializers.ListField(child=UUIDField(), min_length=1, max_length=MAX_BULK_IDS)
    action = serializers.ChoiceField(choices=[("assign", "assign"), ("close", "close")])
    assignee_id = UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="For assign: an active admin, or null (or absent): nobody.",
    )


# --- Output -------------------------------------------------------------------------------


class SupportCategoryOut(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()

    def to_representation(self, category):
        return {
            "id": str(category.id),
            "slug": category.slug,
            "name": category.name,
            "description": category.description,
        }


class SupportCategoryListOut(serializers.Serializer):
    categories = SupportCategoryOut(many=True)


class SupportCategoryRefOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class SupportRatingOut(serializers.Serializer):
    satisfied = serializers.BooleanField()
    comment = serializers.CharField()
    rated_at = DateTimeOut()


class SupportRequestOut(serializers.Serializer):
    """A support request as ``support.updated`` carries it, plus the statuses
    the asking user may move it to now (``allowed_statuses``)."""

    id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    subject = serializers.CharField()
    status = serializers.ChoiceField(choices=SupportStatus.choices)
    priority = serializers.ChoiceField(choices=SupportPriority.choices)
    category = SupportCategoryRefOut()
    requester = UserOut()
    assignee = UserOut(allow_null=True)
    created_at = DateTimeOut()
    first_response_at = DateTimeOut(allow_null=True)
    resolved_at = DateTimeOut(allow_null=True)
    closed_at = DateTimeOut(allow_null=True)
    overdue = serializers.BooleanField()
    rating = SupportRatingOut(allow_null=True)
    allowed_statuses = serializers.ListField(
        child=serializers.ChoiceField(choices=SupportStatus.choices)
    )

    def to_representation(self, request):
        return {
            **events.support_payload(request),
            "allowed_statuses": transitions.allowed_targets(request, self.context["user"]),
        }


class SupportRequestListOut(serializers.Serializer):
    requests = SupportRequestOut(many=True)
    has_more = serializers.BooleanField(help_text="More requests follow this page.")
    next_offset = serializers.IntegerField(
        allow_null=True, help_text="The offset of the next page, or null on the last."
    )


class SupportBulkOut(serializers.Serializer):
    changed = serializers.IntegerField(help_text="How many requests changed.")
