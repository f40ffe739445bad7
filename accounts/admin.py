from typing import cast

from axes.models import AccessFailureLog
from django.contrib import admin, messages
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
from accounts.models import MentorAssignment, Role, User

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

    # The admin's request, set by the inline (``get_formset``): the actor
    # of the audited assignment.
    request = None

    def save_new(self, form, commit=True):
        if not commit:
            raise NotImplementedError("Mentor assignments are stored by accounts.services.")
        return services.assign_mentor(
            mentor=form.cleaned_data["mentor"], student=self.instance, actor=self._actor()
        )

    def delete_existing(self, obj, commit=True):
        if commit:
            services.unassign_mentor(mentor=obj.mentor, student=obj.student, actor=self._actor())

    def _actor(self):
        return self.request.user if self.request is not None else None


class MentorAssignmentInline(AssignmentsAreAddedOrRemoved, admin.TabularInline):
    model = MentorAssignment
    form = MentorAssignmentForm
    formset = MentorAssignmentFormSet
    fk_name = "student"
    extra = 0
    autocomplete_fields = ["mentor"]
    verbose_name = _("mentor")
    verbose_name_plural = _("mentors")

    def get_formset(self, request, obj=None, **kwargs):
        formset = cast(type[MentorAssignmentFormSet], super().get_formset(request, obj, **kwargs))
        formset.request = request
        return formset


# Only a superuser hands out these, and only a superuser changes the account
# of someone who holds any of them (or the admin role): a staff member who
# may edit accounts could otherwise make themselves a superuser.
PRIVILEGE_FIELDS = ["is_staff", "is_superuser", "groups", "user_permissions"]


def is_privileged(user: User) -> bool:
    return user.is_superuser or user.is_staff or user.role == Role.ADMIN


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
        # Through the service, so a deactivated person's sockets close and
        # the change is audited with what it was before.
        changed = form.changed_data if change else ()
        services.save_account(
            user=obj,
            changed=changed,
            actor=request.user,
            previous={field: form.initial.get(field) for field in changed},
        )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += PRIVILEGE_FIELDS
        return fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and is_privileged(obj) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and is_privileged(obj) and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not request.user.is_superuser:
            kwargs["choices"] = [(v, label) for v, label in Role.choices if v != Role.ADMIN]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    @admin.action(description=_("Deactivate the selected people (closes their sockets)"))
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, active=False)

    @admin.action(description=_("Activate the selected people"))
    def activate(self, request, queryset):
        self._set_active(request, queryset, active=True)

    def _set_active(self, request, queryset, *, active: bool) -> None:
        skipped = 0
        for user in queryset:
            if is_privileged(user) and not request.user.is_superuser:
                skipped += 1
                continue
            services.set_active(user=user, active=active, actor=request.user)
        if skipped:
            self.message_user(
                request,
                _("Only a superuser changes staff and admin accounts: %(count)s left as they were.")
                % {"count": skipped},
                messages.WARNING,
            )

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
        stored = services.assign_mentor(mentor=obj.mentor, student=obj.student, actor=request.user)
        # The admin logs and links to ``obj`` next: make it the stored row.
        obj.pk, obj.created_at = stored.pk, stored.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.unassign_mentor(mentor=obj.mentor, student=obj.student, actor=request.user)

    def delete_queryset(self, request, queryset):
        for assignment in queryset.select_related("mentor", "student"):
            services.unassign_mentor(
                mentor=assignment.mentor, student=assignment.student, actor=request.user
            )
