from axes.models import AccessFailureLog
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.forms import (
    AdminPasswordChangeForm,
    MentorAssignmentForm,
    UserChangeForm,
    UserCreationForm,
)
from accounts.models import MentorAssignment, User

# Parley keeps no log of each failed login (AXES_ENABLE_ACCESS_FAILURE_LOG
# is off): Access attempts counts them and Access logs lists sign-ins, so
# axes' third page would always be empty.
if admin.site.is_registered(AccessFailureLog):
    admin.site.unregister(AccessFailureLog)


class AssignmentsAreAddedOrRemoved:
    """An assignment is added or removed, never re-pointed at someone else:
    both go through ``accounts.services``, whose role checks hold here as
    everywhere else."""

    def has_change_permission(self, request, obj=None):
        return False


class MentorAssignmentFormSet(BaseInlineFormSet):
    """The mentors inline stores and removes rows through the services."""

    def save_new(self, form, commit=True):
        if not commit:
            raise NotImplementedError("Mentor assignments are stored by accounts.services.")
        return services.assign_mentor(mentor=form.cleaned_data["mentor"], student=self.instance)

    def delete_existing(self, obj, commit=True):
        if commit:
            services.unassign_mentor(mentor=obj.mentor, student=obj.student)


class MentorAssignmentInline(AssignmentsAreAddedOrRemoved, admin.TabularInline):
    model = MentorAssignment
    form = MentorAssignmentForm
    formset = MentorAssignmentFormSet
    fk_name = "student"
    extra = 0
    autocomplete_fields = ["mentor"]
    verbose_name = _("mentor")
    verbose_name_plural = _("mentors")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    ordering = ["display_name"]
    list_display = ["display_name", "email", "role", "is_active", "is_staff", "date_joined"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["display_name", "email"]
    readonly_fields = ["date_joined", "last_login"]
    inlines = [MentorAssignmentInline]
    actions = ["deactivate", "activate"]

    def save_model(self, request, obj, form, change):
        # Through the service, so a deactivated person's sockets close.
        services.save_account(user=obj, changed=form.changed_data if change else ())

    @admin.action(description=_("Deactivate the selected people (closes their sockets)"))
    def deactivate(self, request, queryset):
        for user in queryset:
            services.set_active(user=user, active=False)

    @admin.action(description=_("Activate the selected people"))
    def activate(self, request, queryset):
        for user in queryset:
            services.set_active(user=user, active=True)

    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Profile"), {"fields": ["display_name", "role", "time_zone"]}),
        (
            _("Permissions"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "display_name", "role", "password1", "password2"],
            },
        )
    ]


@admin.register(MentorAssignment)
class MentorAssignmentAdmin(AssignmentsAreAddedOrRemoved, admin.ModelAdmin):
    form = MentorAssignmentForm
    list_display = ["mentor", "student", "created_at"]
    search_fields = [
        "mentor__display_name",
        "mentor__email",
        "student__display_name",
        "student__email",
    ]
    autocomplete_fields = ["mentor", "student"]
    list_select_related = ["mentor", "student"]

    def save_model(self, request, obj, form, change):
        stored = services.assign_mentor(mentor=obj.mentor, student=obj.student)
        # The admin logs and links to ``obj`` next: make it the stored row.
        obj.pk, obj.created_at = stored.pk, stored.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.unassign_mentor(mentor=obj.mentor, student=obj.student)

    def delete_queryset(self, request, queryset):
        for assignment in queryset.select_related("mentor", "student"):
            services.unassign_mentor(mentor=assignment.mentor, student=assignment.student)
