"""Support in the Django admin.

Categories are edited here. Requests are listed with the queue's filters
(status, category, assignee, priority, age, overdue) and worked with
actions that call ``messaging.support.services``: "Assign to me", "Close",
and a status or priority chosen in the action bar. A request's fields are
read-only: its status, assignee and priority change only through the
services (system message, audit row, frame, notification), never by a save
here; requests are opened by their requesters, not added here."""

from datetime import timedelta
from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from messaging import policy
from messaging.admin_mixins import ReadOnlyAdmin
from messaging.errors import MessagingError
from messaging.support import services, timers
from messaging.support.models import (
    SupportCategory,
    SupportPriority,
    SupportRequest,
    SupportStatus,
)


@admin.register(SupportCategory)
class SupportCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "is_active"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def has_delete_permission(self, request, obj=None):
        # Requests keep their category (PROTECT): retire one with is_active.
        return False


class AssigneeFilter(admin.SimpleListFilter):
    title = gettext_lazy("assignee")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        choices = [("me", _("Me")), ("none", _("Nobody"))]
        choices += [(str(u.pk), u.display_name) for u in policy.support_assignees()]
        return choices

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assignee=request.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value:
            try:
                return queryset.filter(assignee_id=UUID(value))
            except ValueError:
                return queryset.none()
        return queryset


class AgeFilter(admin.SimpleListFilter):
    """Opened more than so long ago."""

    title = gettext_lazy("age")
    parameter_name = "older_than_hours"
    AGES = [
        ("24", gettext_lazy("Older than a day")),
        ("72", gettext_lazy("Older than 3 days")),
        ("168", gettext_lazy("Older than a week")),
    ]

    def lookups(self, request, model_admin):
        return self.AGES

    def queryset(self, request, queryset):
        hours = self.value()
        if hours in dict(self.AGES):
            return queryset.filter(created_at__lt=timezone.now() - timedelta(hours=int(hours)))
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    """Past its first-response or resolution time (``support.timers``)."""

    title = gettext_lazy("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue")), ("no", _("In time"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(timers.overdue_condition())
        if self.value() == "no":
            return queryset.exclude(timers.overdue_condition())
        return queryset


class SupportActionForm(ActionForm):
    status = forms.ChoiceField(choices=[("", "---------"), *SupportStatus.choices], required=False)
    priority = forms.ChoiceField(
        choices=[("", "---------"), *SupportPriority.choices], required=False
    )


@admin.register(SupportRequest)
class SupportRequestAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = [
        "subject",
        "requester",
        "category",
        "status",
        "priority",
        "assignee",
        "created_at",
        "first_response_at",
        "overdue",
    ]
    list_filter = ["status", "category", AssigneeFilter, "priority", AgeFilter, OverdueFilter]
    search_fields = ["subject", "requester__email"]
    list_select_related = ["requester", "category", "assignee"]
    date_hierarchy = "created_at"
    action_form = SupportActionForm
    actions = ["assign_to_me", "close", "set_status", "set_priority"]

    @admin.display(boolean=True, description=gettext_lazy("overdue"))
    def overdue(self, obj):
        return timers.is_overdue(obj)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in SupportRequest._meta.fields]

    def _report(self, request, changed: int, failures: list[str]) -> None:
        if changed:
            self.message_user(
                request,
                ngettext(
                    "%(count)s support request changed.",
                    "%(count)s support requests changed.",
                    changed,
                )
                % {"count": changed},
                messages.SUCCESS,
            )
        for failure in failures:
            self.message_user(request, failure, messages.ERROR)
        if not changed and not failures:
            self.message_user(request, _("Nothing to change."), messages.INFO)

    def _each(self, request, queryset, change) -> None:
        """``change(request_id)`` for each selected request; a refusal of one
        is reported and does not stop the others."""
        changed, failures = 0, []
        for support_request in queryset:
            try:
                change(support_request.pk)
                changed += 1
            except MessagingError as error:
                failures.append(f"{support_request.subject}: {error.message}")
        self._report(request, changed, failures)

    @admin.action(description=gettext_lazy("Assign to me"))
    def assign_to_me(self, request, queryset):
        try:
            changed = services.bulk_assign(
                actor=request.user,
                request_ids=list(queryset.values_list("pk", flat=True)),
                assignee_id=request.user.pk,
            )
        except MessagingError as error:
            self._report(request, 0, [error.message])
            return
        self._report(request, changed, [])

    @admin.action(description=gettext_lazy("Close"))
    def close(self, request, queryset):
        try:
            changed = services.bulk_close(
                actor=request.user, request_ids=list(queryset.values_list("pk", flat=True))
            )
        except MessagingError as error:
            self._report(request, 0, [error.message])
            return
        self._report(request, changed, [])

    @admin.action(description=gettext_lazy("Set the status chosen above"))
    def set_status(self, request, queryset):
        status = request.POST.get("status", "")
        if status not in SupportStatus.values:
            self._report(request, 0, [_("Choose a status.")])
            return
        self._each(
            request,
            queryset.exclude(status=status),
            lambda pk: services.change_status(actor=request.user, request_id=pk, status=status),
        )

    @admin.action(description=gettext_lazy("Set the priority chosen above"))
    def set_priority(self, request, queryset):
        priority = request.POST.get("priority", "")
        if priority not in SupportPriority.values:
            self._report(request, 0, [_("Choose a priority.")])
            return
        self._each(
            request,
            queryset.exclude(priority=priority),
            lambda pk: services.set_priority(actor=request.user, request_id=pk, priority=priority),
        )
