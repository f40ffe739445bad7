"""Content filter rules in the Django admin.

Rules are edited here: the form asks for the fields each kind needs and
compiles a pattern before it is saved; every save and delete writes a
``moderation.rule_change`` audit row (``services.save_rule`` /
``delete_rule``) and every process reads the rules again. Hits are
read-only: the filter writes them."""

from typing import Any

import regex
from django import forms
from django.contrib import admin
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from messaging.admin_mixins import ReadOnlyAdmin
from messaging.models import FilterHit, FilterKind, FilterRule
from messaging.moderation.filtering import rules, services


class FilterRuleForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "The roles whose messages the rule checks; none ticked: everyone's."
        ),
    )

    class Meta:
        model = FilterRule
        fields = [
            "name",
            "kind",
            "action",
            "is_active",
            "roles",
            "pattern",
            "max_links",
            "new_account_days",
            "repeat_count",
            "repeat_window_seconds",
            "message",
        ]
        help_texts = {
            "pattern": gettext_lazy(
                "Blocked terms: one word or phrase per line, matched on whole words "
                "whatever the case, accents, look-alike letters, digits for letters "
                "or spacing. Pattern: one regular expression, matched against the "
                "text in lower case without accents."
            ),
            "message": gettext_lazy(
                "What the sender is told when the rule blocks (blank: a general refusal)."
            ),
        }

    # What each kind needs beyond the name, kind and action.
    REQUIRED: dict[str, tuple[str, ...]] = {
        FilterKind.TERM: ("pattern",),
        FilterKind.PATTERN: ("pattern",),
        FilterKind.LINK_LIMIT: ("max_links", "new_account_days"),
        FilterKind.REPEAT: ("repeat_count", "repeat_window_seconds"),
    }

    def clean(self):
        cleaned: dict[str, Any] = super().clean() or {}
        kind = cleaned.get("kind")
        for name in self.REQUIRED.get(kind or "", ()):
            value = cleaned.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                self.add_error(name, _("This kind of rule needs this field."))
        pattern = cleaned.get("pattern") or ""
        terms = rules.terms_of(pattern)
        if kind == FilterKind.TERM and terms and rules.compile_terms(terms) is None:
            self.add_error("pattern", _("No term has a letter or digit to match."))
        if kind == FilterKind.PATTERN and pattern.strip():
            try:
                compiled = rules.compile_pattern(pattern)
            except (regex.error, ValueError) as error:
                self.add_error(
                    "pattern",
                    _("This is not a usable regular expression: %(error)s") % {"error": error},
                )
            else:
                if compiled.search("", timeout=rules.PATTERN_TIMEOUT_SECONDS) is not None:
                    self.add_error("pattern", _("This expression matches every message."))
        if kind == FilterKind.REPEAT and (cleaned.get("repeat_count") or 0) == 1:
            self.add_error("repeat_count", _("A repeat needs at least 2 identical messages."))
        if kind == FilterKind.REPEAT and cleaned.get("repeat_window_seconds") == 0:
            self.add_error("repeat_window_seconds", _("The window needs at least one second."))
        return cleaned


@admin.register(FilterRule)
class FilterRuleAdmin(admin.ModelAdmin):
    form = FilterRuleForm
    list_display = ["name", "kind", "action", "roles_display", "is_active", "updated_at"]
    list_filter = ["is_active", "kind", "action"]
    search_fields = ["name", "pattern"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "action", "is_active", "roles"]}),
        (gettext_lazy("Blocked terms or pattern"), {"fields": ["pattern"]}),
        (
            gettext_lazy("Link limit for new accounts"),
            {"fields": ["max_links", "new_account_days"]},
        ),
        (gettext_lazy("Repeated message"), {"fields": ["repeat_count", "repeat_window_seconds"]}),
        (gettext_lazy("Refusal"), {"fields": ["message"]}),
    ]

    @admin.display(description=gettext_lazy("roles"))
    def roles_display(self, obj):
        labels = dict(Role.choices)
        return ", ".join(str(labels.get(role, role)) for role in obj.roles) or _("Everyone")

    def save_model(self, request, obj, form, change):
        services.save_rule(
            actor=request.user, rule=obj, created=not change, changed=list(form.changed_data)
        )

    def delete_model(self, request, obj):
        services.delete_rule(actor=request.user, rule=obj)

    def delete_queryset(self, request, queryset):
        # The bulk delete action: each rule audited like a single delete.
        for rule in queryset:
            services.delete_rule(actor=request.user, rule=rule)


@admin.register(FilterHit)
class FilterHitAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Written by the filter: a blocked send (no message) or a flagged one."""

    list_display = ["at", "rule_name", "action", "field", "user", "conversation", "message"]
    list_filter = ["action", "field", "at"]
    search_fields = ["rule_name", "user__email", "user__display_name", "excerpt"]
    list_select_related = ["user", "conversation", "message"]
    date_hierarchy = "at"
