"""Moderation in the Django admin: the queue, and the lists beside it.

The queue is the ModerationCase list: open cases first (the list opens on
them), oldest first, each with its message as written (moderators see what
was hidden), its sender, conversation and counts. A case's page shows the
message as reported (the case's snapshot) beside what it is now, the five
messages before and after it, its reports, filter hits, and what
moderators did before about this message or its sender; every opening is
audited (``moderation.review``). Its actions
(hide, restore, delete, warn, mute here or everywhere, deactivate, dismiss)
act on every selected case through ``messaging.moderation.services.actions``
after a page that asks for the moderator's note; one refused case is
reported and does not stop the others.

Everything here is for moderators (``policy.may_moderate``): a staff member
without the permission sees none of it, and a moderator reads a
conversation they are not in, or a reported file, only through the
audited case page and the review and download views below (the Moderators
group has no view on the Messages or Conversations lists).

Limits per role are edited here too (RoleLimits), saved through
``messaging.moderation.services.limits``.
"""

from collections.abc import Callable, Iterable
from typing import TypeVar
from urllib.parse import urlencode
from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from messaging import policy
from messaging.admin_mixins import ReadOnlyAdmin
from messaging.errors import AccessDenied, MessagingError, NotFound
from messaging.files import serving
from messaging.models import (
    AuditAction,
    AuditLog,
    CaseStatus,
    Message,
    ModerationCase,
    Mute,
    Report,
    ReportReason,
    RoleLimits,
    UserBlock,
    Warning,
)
from messaging.moderation import queue
from messaging.moderation.services import actions, cases, review
from messaging.moderation.services import limits as limits_service

EXCERPT_CHARS = 80
MAX_ROWS_PER_ACTION = 500
ACTION_TEMPLATE = "admin/moderation/action_note.html"
# Posted with an action from a case's own page: once done, back to that page.
FROM_CASE = "from_case"
REVIEW_TEMPLATE = "admin/moderation/review.html"
# The reported message's row: bold on yellow (static/css/admin.css; the page's
# CSP refuses style attributes), and named current for a screen reader.
HIGHLIGHT_ATTRIBUTES = mark_safe(' class="moderation-highlight" aria-current="true"')  # a constant


class ModeratorsOnly:
    """Shown to and usable by moderators only, whatever else the staff
    member may do in the admin."""

    def has_module_permission(self, request):
        return policy.may_moderate(request.user)

    def has_view_permission(self, request, obj=None):
        return policy.may_moderate(request.user)

    def has_moderate_permission(self, request):
        return policy.may_moderate(request.user)


def excerpt(message: Message | None) -> str:
    """What the message says, shortened, as stored: moderators read hidden
    messages too (marked), deleted ones have nothing left to read."""
    if message is None:
        return "—"
    if message.deleted_at is not None:
        return _("(deleted)")
    text = Truncator(message.content or message.file_url or _("(no text)")).chars(EXCERPT_CHARS)
    return _("[hidden] %(text)s") % {"text": text} if message.hidden_at is not None else text


def review_url(message: Message) -> str:
    """The audited review page of ``message``'s conversation, at its page,
    with it highlighted."""
    url = reverse("admin:messaging_moderationcase_review", args=[message.conversation_id])
    page = (message.seq - 1) // review.REVIEW_PAGE_SIZE + 1
    return f"{url}?page={page}&message={message.pk}"


def message_label(message: Message | None) -> str:
    """Which message, not what it says: its place and sender. For the lists
    of reactions, pins and link previews, which name any message of any
    conversation: a moderator reads one through the audited review page."""
    if message is None:
        return "—"
    return _("#%(seq)s by %(sender)s") % {"seq": message.seq, "sender": message.sender}


def message_reference(message: Message | None):
    """``message_label`` linked to the audited review page."""
    if message is None:
        return "—"
    return format_html(
        '<a href="{}">{}</a> ({})',
        review_url(message),
        message_label(message),
        _("review, recorded in the audit log"),
    )


# --- The note form --------------------------------------------------------------


class NoteForm(forms.Form):
    """Every moderation action asks why: the note goes to the audit log."""

    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=gettext_lazy("Why: kept in the audit log, seen by moderators only."),
    )

    def clean_note(self):
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError(_("A moderator note is required."))
        return note


class WarnForm(NoteForm):
    text = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=gettext_lazy("What the sender reads (blank: the standard wording)."),
    )


MUTE_PRESETS = [
    (60, gettext_lazy("1 hour")),
    (24 * 60, gettext_lazy("24 hours")),
    (7 * 24 * 60, gettext_lazy("7 days")),
]


class MuteForm(NoteForm):
    minutes = forms.TypedChoiceField(
        choices=MUTE_PRESETS, coerce=int, initial=60, label=gettext_lazy("For")
    )


# What acting on the selected rows came to: how many were done, and what
# was refused, one line each.
Outcome = tuple[int, list[str]]
R = TypeVar("R")


def each_row(rows: Iterable[R], act: Callable[[R], object], label: Callable[[R], str]) -> Outcome:
    """``act`` on every row; how many were done, and what each refusal said
    (``label(row): message``): one refused row does not stop the others."""
    done, failures = 0, []
    for row in rows:
        try:
            act(row)
        except MessagingError as error:
            failures.append(f"{label(row)}: {error.message}")
            continue
        done += 1
    return done, failures


def note_page(
    model_admin: admin.ModelAdmin,
    request,
    *,
    action: str,
    title: str,
    form_class: type[NoteForm],
    selected: list[tuple[object, object, str]],
    perform: Callable[[dict], Outcome],
    back_url: str | None = None,
) -> TemplateResponse | None:
    """The page between a moderation action and its effect: the selected
    rows (``(pk, row, what it says)``) and the form (the note, and minutes
    or text when the action needs them). Once the form comes back valid
    (``apply``), ``perform(cleaned_data)`` acts and the list says what came
    of it; until then nothing is done. More than ``MAX_ROWS_PER_ACTION``
    rows (the admin's "select all" across pages) are refused: a moderator
    acts on what they have looked at, and one request stays short.
    ``back_url``: where Cancel goes (the list by default); the page carries
    the request's ``from_case`` on, so its answer can lead back there."""
    if len(selected) > MAX_ROWS_PER_ACTION:
        model_admin.message_user(
            request,
            _("Select at most %(count)s rows for one action.") % {"count": MAX_ROWS_PER_ACTION},
            messages.ERROR,
        )
        return None
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            done, failures = perform(form.cleaned_data)
            if done:
                model_admin.message_user(
                    request,
                    _("%(action)s: %(count)s done.") % {"action": title, "count": done},
                    messages.SUCCESS,
                )
            for failure in failures:
                model_admin.message_user(request, failure, messages.ERROR)
            return None
    else:
        form = form_class()
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "action": action,
        "form": form,
        "cases": [(row, text) for _, row, text in selected],
        "selected_ids": [str(pk) for pk, _, _ in selected],
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "from_case": request.POST.get(FROM_CASE) == "1",
        "from_case_field": FROM_CASE,
        "back_url": back_url or reverse(_admin_url_name(model_admin.opts, "changelist")),
    }
    return TemplateResponse(request, ACTION_TEMPLATE, context)


# --- The queue ------------------------------------------------------------------


class CaseStatusFilter(admin.SimpleListFilter):
    """Open cases unless another status (or all) is chosen: the queue is
    what is waiting."""

    title = gettext_lazy("status")
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [*CaseStatus.choices, (self.ALL, _("All"))]

    def chosen(self) -> str:
        return self.value() or CaseStatus.OPEN

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": self.chosen() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        chosen = self.chosen()
        if chosen == self.ALL:
            return queryset
        if chosen not in CaseStatus.values:
            return queryset.none()
        return queryset.filter(status=chosen)


class ReasonFilter(admin.SimpleListFilter):
    """Cases with at least one report for this reason."""

    title = gettext_lazy("report reason")
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return ReportReason.choices

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(
            Exists(Report.objects.filter(case_id=OuterRef("pk"), reason=self.value()))
        )


# What a case's page shows (all read-only, built by the methods below).
CASE_FIELDS = [
    "case_summary",
    "message_view",
    "context_view",
    "reports_view",
    "hits_view",
    "moderation_history",
]


@admin.register(ModerationCase)
class ModerationCaseAdmin(ModeratorsOnly, ReadOnlyAdmin, admin.ModelAdmin):
    list_display = [
        "message_excerpt",
        "sender",
        "conversation",
        "report_count",
        "flag_count",
        "opened_at",
        "status",
    ]
    list_display_links = ["message_excerpt"]
    list_filter = [CaseStatusFilter, "conversation__type", ReasonFilter]
    list_select_related = ["message", "sender", "conversation"]
    # The case's page offers the list's actions for itself.
    change_form_template = "admin/moderation/case_change_form.html"
    search_fields = ["sender__email", "sender__display_name", "message__content"]
    readonly_fields = CASE_FIELDS

    def get_fields(self, request, obj=None):
        return CASE_FIELDS

    actions = [
        "hide",
        "restore",
        "delete",
        "warn_sender",
        "mute_here",
        "mute_everywhere",
        "deactivate_sender",
        "dismiss",
    ]

    def get_ordering(self, request):
        # Open cases first, the longest waiting first among them.
        waiting = Case(
            When(status=CaseStatus.OPEN, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
        return [waiting.asc(), "opened_at"]

    def get_actions(self, request):
        # Django's bulk delete would remove cases without a trace.
        actions_ = super().get_actions(request)
        actions_.pop("delete_selected", None)
        return actions_

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The case's page shows people's messages: every opening is
        written to the audit log (``cases.record_case_opened``)."""
        case = self.get_object(request, object_id)
        if case is not None:
            try:
                cases.record_case_opened(moderator=request.user, case=case)
            except AccessDenied as error:
                raise PermissionDenied(error.message) from None
        # The list's actions, posted to the list with every status shown: a
        # case already acted on (closed) may need a second measure.
        extra_context = {
            **(extra_context or {}),
            "case_actions": [
                (name, label) for name, label in self.get_action_choices(request) if name
            ],
            "case_actions_url": reverse(_admin_url_name(self.opts, "changelist"))
            + "?"
            + urlencode({CaseStatusFilter.parameter_name: CaseStatusFilter.ALL}),
            "from_case_field": FROM_CASE,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- Columns ---------------------------------------------------------------

    @admin.display(description=gettext_lazy("message"))
    def message_excerpt(self, obj):
        return excerpt(obj.message)

    # --- The case's page ---------------------------------------------------------

    @admin.display(description=gettext_lazy("case"))
    def case_summary(self, obj):
        parts = [
            obj.get_status_display(),
            ngettext("%(count)s report", "%(count)s reports", obj.report_count)
            % {"count": obj.report_count},
            ngettext("%(count)s flag", "%(count)s flags", obj.flag_count)
            % {"count": obj.flag_count},
            _("opened %(time)s") % {"time": _minute(obj.opened_at)},
        ]
        if obj.closed_at:
            parts.append(
                _("closed by %(who)s at %(time)s")
                % {"who": obj.closed_by, "time": _minute(obj.closed_at)}
            )
        return format_html(
            '{} · <a href="{}">{}</a> {}',
            " · ".join(str(part) for part in parts),
            review_url(obj.message),
            _("Review the whole conversation"),
            _("(recorded in the audit log)"),
        )

    @admin.display(description=gettext_lazy("message"))
    def message_view(self, obj):
        """What was reported (the case's snapshot, taken when it last
        opened) beside what the message is now: its author may have edited
        or deleted it since, and the evidence stays readable."""
        message = obj.message
        state = []
        if message.hidden_at:
            state.append(_("hidden %(time)s") % {"time": _minute(message.hidden_at)})
        if message.deleted_at:
            state.append(_("deleted %(time)s") % {"time": _minute(message.deleted_at)})
        if message.edited_at:
            state.append(_("edited"))
        reported_files = format_html_join(
            "", "<li>{}</li>", ((name,) for name in obj.reported_files)
        )
        reported = format_html(
            "<p><strong>{}</strong> · {} · #{} {}</p>"
            "<p>{}</p>"
            '<blockquote class="pre-wrap">{}</blockquote><ul>{}</ul>',
            message.sender or "—",
            _minute(message.sent_at),
            message.seq,
            f"({', '.join(state)})" if state else "",
            _("As reported (when the case last opened, %(time)s):")
            % {"time": _minute(obj.opened_at)},
            obj.reported_content,
            reported_files,
        )
        return format_html("{}<p>{} {}</p>", reported, _("Now:"), self._current_state(obj))

    def _current_state(self, obj) -> str:
        message = obj.message
        if message.deleted_at:
            deleted = (
                _("deleted by its author at %(time)s")
                if _deleted_by_author(message)
                else _("deleted by a moderator at %(time)s")
            )
            return format_html(
                "<strong>{}</strong>; {}",
                deleted % {"time": _minute(message.deleted_at)},
                _("the text above is what was reported."),
            )
        files = format_html_join(
            "",
            '<li><a href="{}">{}</a> ({})</li>',
            (
                (
                    self._download_url(a.pk),
                    a.name,
                    ngettext("%(size)s byte", "%(size)s bytes", a.size) % {"size": a.size},
                )
                for a in message.attachments.order_by("position")
            ),
        )
        if message.content == obj.reported_content:
            return format_html("{}<ul>{}</ul>", _("unchanged since it was reported."), files)
        return format_html(
            '<strong>{}</strong>; {}<blockquote class="pre-wrap">{}</blockquote><ul>{}</ul>',
            _("edited since (last at %(time)s)") % {"time": _minute(message.edited_at)}
            if message.edited_at
            else _("edited since"),
            _("it now reads:"),
            message.content,
            files,
        )

    @admin.display(description=gettext_lazy("in context (5 before, 5 after)"))
    def context_view(self, obj):
        return _messages_table(queue.surrounding_messages(obj.message), highlight=obj.message_id)

    @admin.display(description=gettext_lazy("reports"))
    def reports_view(self, obj):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    _minute(r.created_at),
                    r.reporter,
                    r.get_reason_display(),
                    _details_with_verified_text(r),
                )
                for r in queue.reports_of(obj)
            ),
        )
        return _table((_("at"), _("reporter"), _("reason"), _("details")), rows)

    @admin.display(description=gettext_lazy("filter hits"))
    def hits_view(self, obj):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (_minute(h.at), h.rule_name, h.action, h.field, h.excerpt)
                for h in queue.filter_hits_of(obj)
            ),
        )
        return _table((_("at"), _("rule"), _("action"), _("field"), _("excerpt")), rows)

    @admin.display(description=gettext_lazy("history (this message and its sender)"))
    def moderation_history(self, obj):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    _minute(row.at),
                    row.action,
                    row.actor or _("system"),
                    row.details.get("note", ""),
                )
                for row in queue.history_of(obj)
            ),
        )
        return _table((_("at"), _("action"), _("by"), _("note")), rows)

    # --- Review and download views --------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "conversation/<uuid:conversation_id>/review/",
                view(self.review_view),
                name="messaging_moderationcase_review",
            ),
            path(
                "attachment/<uuid:attachment_id>/download/",
                view(self.download_view),
                name="messaging_moderationcase_download",
            ),
            *super().get_urls(),
        ]

    def _download_url(self, attachment_id: UUID) -> str:
        return reverse("admin:messaging_moderationcase_download", args=[attachment_id])

    def review_view(self, request, conversation_id):
        """A conversation's messages, paged, for a moderator who is not in
        it; every opening is audited (``moderation.review``)."""
        try:
            result = review.review_conversation(
                moderator=request.user,
                conversation_id=conversation_id,
                page_number=request.GET.get("page", 1),
            )
        except AccessDenied as error:
            raise PermissionDenied(error.message) from None
        except NotFound as error:
            raise Http404(error.message) from None
        highlight = _as_uuid(request.GET.get("message"))
        messages_ = list(result.page.object_list)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Review: %(conversation)s") % {"conversation": result.conversation},
            "conversation": result.conversation,
            "page": result.page,
            "table": _messages_table(
                messages_, highlight=highlight, download_url=self._download_url
            ),
        }
        return TemplateResponse(request, REVIEW_TEMPLATE, context)

    def download_view(self, request, attachment_id):
        """A reported message's file, for a moderator; the fetch is audited
        as ``file.download`` with ``moderation: true``."""
        try:
            attachment = review.attachment_for_moderator(
                moderator=request.user, attachment_id=attachment_id
            )
            return serving.serve_content(request.user, attachment, download=True, moderation=True)
        except NotFound as error:
            raise Http404(error.message) from None

    # --- Actions ----------------------------------------------------------------------

    @admin.action(description=gettext_lazy("Hide the message"), permissions=["moderate"])
    def hide(self, request, queryset):
        return self._with_note(
            request,
            queryset,
            "hide",
            _("Hide the messages"),
            NoteForm,
            self._each_message(
                lambda case, data: actions.hide_message(
                    moderator=request.user, message_id=case.message_id, note=data["note"]
                )
            ),
        )

    @admin.action(description=gettext_lazy("Restore the message"), permissions=["moderate"])
    def restore(self, request, queryset):
        return self._with_note(
            request,
            queryset,
            "restore",
            _("Restore the messages"),
            NoteForm,
            self._each_message(
                lambda case, data: actions.restore_message(
                    moderator=request.user, message_id=case.message_id, note=data["note"]
                )
            ),
        )

    @admin.action(description=gettext_lazy("Delete the message"), permissions=["moderate"])
    def delete(self, request, queryset):
        return self._with_note(
            request,
            queryset,
            "delete",
            _("Delete the messages"),
            NoteForm,
            self._each_message(
                lambda case, data: actions.delete_message(
                    moderator=request.user, message_id=case.message_id, note=data["note"]
                )
            ),
        )

    @admin.action(description=gettext_lazy("Warn the sender"), permissions=["moderate"])
    def warn_sender(self, request, queryset):
        return self._with_note(
            request,
            queryset,
            "warn_sender",
            _("Warn the senders"),
            WarnForm,
            self._each_message(
                lambda case, data: actions.warn_sender(
                    moderator=request.user,
                    message_id=case.message_id,
                    note=data["note"],
                    text=data["text"],
                )
            ),
        )

    @admin.action(
        description=gettext_lazy("Mute the sender in this conversation"), permissions=["moderate"]
    )
    def mute_here(self, request, queryset):
        def mute(sender_id, conversation_id, data):
            actions.mute_user(
                moderator=request.user,
                user_id=sender_id,
                conversation_id=conversation_id,
                minutes=data["minutes"],
                note=data["note"],
            )

        return self._with_note(
            request,
            queryset,
            "mute_here",
            _("Mute the senders in these conversations"),
            MuteForm,
            self._each_sender(request, mute, per_conversation=True),
        )

    @admin.action(description=gettext_lazy("Mute the sender everywhere"), permissions=["moderate"])
    def mute_everywhere(self, request, queryset):
        def mute(sender_id, conversation_id, data):
            actions.mute_user(
                moderator=request.user,
                user_id=sender_id,
                conversation_id=None,
                minutes=data["minutes"],
                note=data["note"],
            )

        return self._with_note(
            request,
            queryset,
            "mute_everywhere",
            _("Mute the senders everywhere"),
            MuteForm,
            self._each_sender(request, mute, per_conversation=False),
        )

    @admin.action(
        description=gettext_lazy("Deactivate the sender's account"), permissions=["moderate"]
    )
    def deactivate_sender(self, request, queryset):
        def deactivate(sender_id, conversation_id, data):
            actions.deactivate_user(moderator=request.user, user_id=sender_id, note=data["note"])

        return self._with_note(
            request,
            queryset,
            "deactivate_sender",
            _("Deactivate the senders' accounts"),
            NoteForm,
            self._each_sender(request, deactivate, per_conversation=False),
        )

    @admin.action(description=gettext_lazy("Dismiss (nothing to do)"), permissions=["moderate"])
    def dismiss(self, request, queryset):
        return self._with_note(
            request,
            queryset,
            "dismiss",
            _("Dismiss the cases"),
            NoteForm,
            self._each_message(
                lambda case, data: actions.dismiss_case(
                    moderator=request.user, case_id=case.pk, note=data["note"]
                )
            ),
        )

    def _with_note(
        self,
        request,
        queryset,
        action: str,
        title: str,
        form_class: type[NoteForm],
        perform: Callable[[list[ModerationCase], dict], Outcome],
    ):
        selected = list(queryset.select_related("message", "sender", "conversation"))
        # From a case's own page (one case): Cancel and the result lead back there.
        case_url = (
            reverse(_admin_url_name(self.opts, "change"), args=[selected[0].pk])
            if request.POST.get(FROM_CASE) == "1" and len(selected) == 1
            else None
        )
        response = note_page(
            self,
            request,
            action=action,
            title=title,
            form_class=form_class,
            selected=[(case.pk, case, excerpt(case.message)) for case in selected],
            perform=lambda data: perform(selected, data),
            back_url=case_url,
        )
        if response is None and case_url:
            return HttpResponseRedirect(case_url)
        return response

    @staticmethod
    def _each_message(
        act: Callable[[ModerationCase, dict], object],
    ) -> Callable[[list[ModerationCase], dict], Outcome]:
        def perform(selected: list[ModerationCase], data: dict) -> Outcome:
            return each_row(selected, lambda case: act(case, data), lambda c: excerpt(c.message))

        return perform

    @staticmethod
    def _each_sender(
        request, act: Callable[[UUID, UUID | None, dict], object], *, per_conversation: bool
    ) -> Callable[[list[ModerationCase], dict], Outcome]:
        """Act once per sender (and conversation, for a mute there) however
        many of their cases were selected, then close those cases: the
        measure answered them."""

        def perform(selected: list[ModerationCase], data: dict) -> Outcome:
            done, failures = 0, []
            groups: dict[tuple[UUID, UUID | None], list[ModerationCase]] = {}
            for case in selected:
                if case.sender_id is None:
                    failures.append(
                        _("%(message)s: its sender's account is gone.")
                        % {"message": excerpt(case.message)}
                    )
                    continue
                where = case.conversation_id if per_conversation else None
                groups.setdefault((case.sender_id, where), []).append(case)
            for (sender_id, where), its_cases in groups.items():
                try:
                    act(sender_id, where, data)
                except MessagingError as error:
                    failures.append(f"{its_cases[0].sender}: {error.message}")
                    continue
                done += 1
                for case in its_cases:
                    cases.close_case(case.message_id, moderator=request.user)
            return done, failures

        return perform


def _admin_url_name(opts, view: str) -> str:
    """The admin's URL name of a model's ``view`` (changelist, change…)."""
    return f"admin:{opts.app_label}_{opts.model_name}_{view}"


def _minute(moment) -> str:
    """A time on the moderation pages, to the minute."""
    return moment.strftime("%Y-%m-%d %H:%M")


def _deleted_by_author(message: Message) -> bool:
    """Whether the message's deletion was its sender's own (its
    ``message.delete`` audit row's actor)."""
    return AuditLog.objects.filter(
        action=AuditAction.MESSAGE_DELETE,
        message_id=message.pk,
        actor_id=message.sender_id,
    ).exists()


def _as_uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


def _details_with_verified_text(report) -> str:
    """A report's details, and for an end-to-end encrypted message the text
    its reporter disclosed, which the server checked against the tag stored
    when it was sent (messaging.e2e.franking): the only way its words reach
    a moderator."""
    if not report.franking_verified:
        return format_html("{}", report.details)
    return format_html(
        '{}<div class="e2e-verified"><p><strong>{}</strong></p>'
        '<blockquote dir="auto" class="e2e-verified-text">{}</blockquote></div>',
        report.details,
        _("Verified by message franking"),
        report.verified_text,
    )


def _table(headings: Iterable[str], rows) -> str:
    if not rows:
        return format_html("<p>{}</p>", _("None."))
    head = format_html_join("", '<th scope="col">{}</th>', ((h,) for h in headings))
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, rows)


def _messages_table(
    messages_: Iterable[Message],
    *,
    highlight: UUID | None,
    download_url: Callable[[UUID], str] | None = None,
) -> str:
    """Messages as a moderator reads them: seq, time, sender, the stored
    text (hidden ones too, marked), the highlighted one in bold on yellow."""
    rows = []
    for message in messages_:
        highlighted = HIGHLIGHT_ATTRIBUTES if message.pk == highlight else ""
        files = ""
        if download_url is not None:
            files = format_html_join(
                " ",
                '<a href="{}">{}</a>',
                ((download_url(a.pk), a.name) for a in message.attachments.all()),
            )
        rows.append(
            format_html(
                '<tr{}><td>#{}</td><td>{}</td><td>{}</td><td class="pre-wrap">{}'
                "</td><td>{}</td></tr>",
                highlighted,
                message.seq,
                _minute(message.sent_at),
                message.sender or _("system"),
                excerpt_full(message),
                files,
            )
        )
    body = format_html_join("", "{}", ((row,) for row in rows))
    return _table(("#", _("at"), _("sender"), _("message"), _("files")), body)


def excerpt_full(message: Message) -> str:
    if message.deleted_at is not None:
        return _("(deleted)")
    if message.hidden_at is not None:
        return _("[hidden] %(text)s") % {"text": message.content}
    return message.content


# --- Beside the queue ---------------------------------------------------------------


@admin.register(Report)
class ReportAdmin(ModeratorsOnly, ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["created_at", "reporter", "reason", "message_excerpt", "case"]
    list_filter = ["reason", "created_at"]
    search_fields = ["reporter__email", "details"]
    list_select_related = ["reporter", "message", "case__sender"]
    date_hierarchy = "created_at"

    @admin.display(description=gettext_lazy("message"))
    def message_excerpt(self, obj):
        return excerpt(obj.message)


class MuteActiveFilter(admin.SimpleListFilter):
    title = gettext_lazy("in force")
    parameter_name = "in_force"

    def lookups(self, request, model_admin):
        return [("yes", _("In force")), ("no", _("Ended or lifted"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        in_force = Q(lifted_at__isnull=True, starts_at__lte=now, ends_at__gt=now)
        if self.value() == "yes":
            return queryset.filter(in_force)
        if self.value() == "no":
            return queryset.exclude(in_force)
        return queryset


@admin.register(Mute)
class MuteAdmin(ModeratorsOnly, ReadOnlyAdmin, admin.ModelAdmin):
    list_display = [
        "user",
        "where",
        "starts_at",
        "ends_at",
        "lifted_at",
        "created_by",
        "note",
    ]
    list_filter = [MuteActiveFilter, ("conversation", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "user__display_name", "note"]
    list_select_related = ["user", "conversation", "created_by"]
    actions = ["lift"]

    @admin.display(description=gettext_lazy("where"))
    def where(self, obj):
        return obj.conversation or _("everywhere")

    @admin.action(description=gettext_lazy("Lift the mute"), permissions=["moderate"])
    def lift(self, request, queryset):
        selected = list(queryset.select_related("user"))

        def perform(data: dict) -> Outcome:
            return each_row(
                selected,
                lambda mute: actions.lift_mute(
                    moderator=request.user, mute_id=mute.pk, note=data["note"]
                ),
                str,
            )

        return note_page(
            self,
            request,
            action="lift",
            title=_("Lift the mutes"),
            form_class=NoteForm,
            selected=[(mute.pk, mute, mute.note) for mute in selected],
            perform=perform,
        )


@admin.register(Warning)
class WarningAdmin(ModeratorsOnly, ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["created_at", "user", "conversation", "created_by", "text"]
    search_fields = ["user__email", "user__display_name", "text"]
    list_select_related = ["user", "conversation", "created_by"]
    date_hierarchy = "created_at"


@admin.register(UserBlock)
class UserBlockAdmin(ModeratorsOnly, ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["created_at", "blocker", "blocked"]
    search_fields = ["blocker__email", "blocked__email"]
    list_select_related = ["blocker", "blocked"]


# --- Limits per role --------------------------------------------------------------


class RoleLimitsForm(forms.ModelForm):
    """Refuses what the limits service would: a figure below its minimum or
    not a finite number, shown beside the field rather than as an error page."""

    class Meta:
        model = RoleLimits
        fields = list(limits_service.LIMIT_FIELDS)

    def clean(self):
        cleaned = super().clean() or {}
        for name, problem in limits_service.limit_problems(cleaned).items():
            if name not in self.errors:
                self.add_error(name, problem)
        return cleaned


@admin.register(RoleLimits)
class RoleLimitsAdmin(admin.ModelAdmin):
    """One row per role; a blank field uses the deployment's setting. Saved
    through the limits service: audited, and every process sees it at once."""

    form = RoleLimitsForm
    list_display = [
        "role",
        "send_rate_per_second",
        "send_burst",
        "max_sockets_per_user",
        "max_group_members",
        "updated_at",
    ]
    fields = [
        "role",
        "send_rate_per_second",
        "send_burst",
        "max_sockets_per_user",
        "max_group_members",
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["role"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False  # blank the fields instead: the change is audited

    def save_model(self, request, obj, form, change):
        limits_service.set_role_limits(
            actor=request.user,
            role=obj.role,
            values={name: form.cleaned_data.get(name) for name in limits_service.LIMIT_FIELDS},
        )
