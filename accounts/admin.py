from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts import services
from accounts.forms import UserChangeForm, UserCreationForm
from accounts.models import MentorAssignment, User


class MentorAssignmentInline(admin.TabularInline):
    model = MentorAssignment
    fk_name = "student"
    extra = 0
    autocomplete_fields = ["mentor"]
    verbose_name = "mentor"
    verbose_name_plural = "mentors"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ["display_name"]
    list_display = ["display_name", "email", "role", "is_active", "is_staff", "date_joined"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["display_name", "email"]
    readonly_fields = ["date_joined", "last_login"]
    inlines = [MentorAssignmentInline]
    actions = ["deactivate", "activate"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data:
            # Through the service, so a deactivated person's sockets close.
            services.set_active(user=obj, active=obj.is_active)

    @admin.action(description="Deactivate the selected people (closes their sockets)")
    def deactivate(self, request, queryset):
        for user in queryset:
            services.set_active(user=user, active=False)

    @admin.action(description="Activate the selected people")
    def activate(self, request, queryset):
        for user in queryset:
            services.set_active(user=user, active=True)

    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["display_name", "role"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
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
class MentorAssignmentAdmin(admin.ModelAdmin):
    list_display = ["mentor", "student", "created_at"]
    search_fields = [
        "mentor__display_name",
        "mentor__email",
        "student__display_name",
        "student__email",
    ]
    autocomplete_fields = ["mentor", "student"]
    list_select_related = ["mentor", "student"]
