"""The audit log in the Django admin: read-only (the table is append-only in
the database too), filtered by actor, target, action, conversation and
date, and exported as CSV: the selected rows (an action) or everything the
current filters select (the "Export CSV" button, streamed).

Viewing needs ``messaging.view_auditlog`` (platform admins; the Moderators
group holds it)."""

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from uuid import UUID

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import User
from messaging import audit
from messaging.admin_mixins import ReadOnlyAdmin
from messaging.models import AuditLog

CSV_COLUMNS = [
    "at",
    "action",
    "actor_id",
    "actor_email",
    "target_user_id",
    "target_email",
    "conversation_id",
    "message_id",
    "details",
    "times",
]
# Rows read (and target emails looked up) per round trip while streaming.
CSV_CHUNK = 1000
VIEW_PERMISSION = "messaging.view_auditlog"


class TextInputFilter(admin.SimpleListFilter):
    """A filter typed into a box (an email, an id, a date), not picked from
    a list: there are too many people and conversations to list."""

    template = "admin/moderation/input_filter.html"
    placeholder = ""

    def lookups(self, request, model_admin):
        # One dummy choice so the admin shows the filter; the box replaces it.
        return [("", "")]

    def choices(self, changelist):
        # The list's other parameters (filters, search, order; not the
        # page), kept as hidden fields of the box's form.
        kept = [
            (key, value)
            for key, value in changelist.params.items()
            if key not in (self.parameter_name, "p")
        ]
        yield {
            "parameter_name": self.parameter_name,
            "value": self.value() or "",
            "placeholder": self.placeholder,
            "kept": kept,
            "clear": changelist.get_query_string(remove=[self.parameter_name]),
            # The list with this filter's value as it is (what a link to
            # the choice would be).
            "query_string": changelist.get_query_string(),
        }


def _person_id(value: str) -> UUID | None:
    """An id as typed, or the id of the account with that email (None: nobody)."""
    value = value.strip()
    try:
        return UUID(value)
    except ValueError:
        return User.objects.filter(email__iexact=value).values_list("pk", flat=True).first()


class _PersonFilter(TextInputFilter):
    """Rows whose ``column`` names the person typed (an email or an id)."""

    column = ""
    placeholder = "email or id"

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        person = _person_id(value)
        return queryset.filter(**{self.column: person}) if person else queryset.none()


class ActorFilter(_PersonFilter):
    title = gettext_lazy("actor (email or id)")
    parameter_name = "actor"
    column = "actor_id"


class TargetFilter(_PersonFilter):
    title = gettext_lazy("target (email or id)")
    parameter_name = "target"
    column = "target_user_id"


class ConversationFilter(TextInputFilter):
    title = gettext_lazy("conversation id")
    parameter_name = "conversation"
    placeholder = "conversation id"

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        try:
            return queryset.filter(conversation_id=UUID(value.strip()))
        except ValueError:
            return queryset.none()


class _DateBound(TextInputFilter):
    placeholder = "YYYY-MM-DD"

    def day(self) -> date | None:
        value = self.value()
        try:
            return date.fromisoformat(value.strip()) if value else None
        except ValueError:
            return None

    def start_of(self, day: date) -> datetime:
        return timezone.make_aware(datetime.combine(day, time.min))


class FromDateFilter(_DateBound):
    """From the start of this day (the server's time zone), included."""

    title = gettext_lazy("from date")
    parameter_name = "from_date"

    def queryset(self, request, queryset):
        day = self.day()
        return queryset.filter(at__gte=self.start_of(day)) if day else queryset


class ToDateFilter(_DateBound):
    """Up to the end of this day (the server's time zone), included."""

    title = gettext_lazy("to date")
    parameter_name = "to_date"

    def queryset(self, request, queryset):
        day = self.day()
        if day is None:
            return queryset
        return queryset.filter(at__lt=self.start_of(day) + timedelta(days=1))


class _Echo:
    """The file ``csv.writer`` writes to: each row comes back as a string
    for the streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_rows(rows: Iterable[AuditLog]) -> Iterator[str]:
    """The header, then one CSV line per row (``CSV_COLUMNS``), reading the
    targets' emails a chunk at a time."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    chunk: list[AuditLog] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CSV_CHUNK:
            yield from _csv_chunk(writer, chunk)
            chunk = []
    yield from _csv_chunk(writer, chunk)


def _csv_chunk(writer, chunk: list[AuditLog]) -> Iterator[str]:
    targets = {row.target_user_id for row in chunk if row.target_user_id}
    emails = dict(User.objects.filter(pk__in=targets).values_list("pk", "email"))
    for row in chunk:
        yield writer.writerow(
            [
                row.at.isoformat(),
                row.action,
                row.actor_id or "",
                row.actor.email if row.actor else "",
                row.target_user_id or "",
                emails.get(row.target_user_id, "") if row.target_user_id else "",
                row.conversation_id or "",
                row.message_id or "",
                json.dumps(row.details, cls=DjangoJSONEncoder, sort_keys=True),
                audit.repeats(row),
            ]
        )


def csv_response(queryset, *, filename: str) -> StreamingHttpResponse:
    rows = queryset.select_related("actor", "repeat").order_by("at", "id").iterator(CSV_CHUNK)
    response = StreamingHttpResponse(csv_rows(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: the audit trail is append-only."""

    list_display = [
        "at",
        "action",
        "times",
        "actor",
        "target_user_id",
        "conversation_id",
        "message_id",
        "note",
    ]
    list_filter = [
        "action",
        ActorFilter,
        TargetFilter,
        ConversationFilter,
        FromDateFilter,
        ToDateFilter,
    ]
    search_fields = ["actor__email", "=conversation_id", "=message_id", "=target_user_id"]
    list_select_related = ["actor", "repeat"]
    readonly_fields = ["times"]
    date_hierarchy = "at"
    actions = ["export_selected_csv"]
    change_list_template = "admin/moderation/auditlog_change_list.html"

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(VIEW_PERMISSION)

    def has_module_permission(self, request):
        return request.user.has_perm(VIEW_PERMISSION)

    def has_export_permission(self, request):
        return request.user.has_perm(VIEW_PERMISSION)

    @admin.display(description=gettext_lazy("times"))
    def times(self, obj):
        """A refusal repeated within its window is one row with a count."""
        return audit.repeats(obj)

    @admin.display(description=gettext_lazy("note"))
    def note(self, obj):
        return obj.details.get("note", "") if isinstance(obj.details, dict) else ""

    @admin.action(description=gettext_lazy("Export selected as CSV"), permissions=["export"])
    def export_selected_csv(self, request, queryset):
        return csv_response(queryset, filename="audit-log-selected.csv")

    def get_urls(self):
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="messaging_auditlog_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request):
        """Every row the list's current filters, search and date select, as
        CSV (the list's own query string, passed on by its button)."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        return csv_response(changelist.get_queryset(request), filename="audit-log.csv")
