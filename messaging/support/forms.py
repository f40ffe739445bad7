"""The support pages' forms. They check what a browser can get wrong (a
missing field, a choice that is not offered, text the text rule refuses);
who may do what is the services' and the policy's to say, and their
refusals come back as messages on the page."""

from django import forms
from django.utils.translation import gettext_lazy as _

from messaging import limits, validation
from messaging.errors import InvalidInput
from messaging.support import services
from messaging.support.models import SupportCategory, SupportPriority, SupportStatus

ANYONE = ""
ASSIGNEE_CHOICES = [(ANYONE, _("Anyone")), ("me", _("Me")), ("none", _("Unassigned"))]
# "Older than": the queue's age filter, in hours.
AGE_CHOICES = [("", _("Any age")), ("24", _("1 day")), ("72", _("3 days")), ("168", _("1 week"))]
BULK_ACTIONS = [("assign", _("Assign to me")), ("close", _("Close"))]


def _checked(clean, value):
    """``clean(value)``, its InvalidInput as the field's error."""
    try:
        return clean(value)
    except InvalidInput as error:
        raise forms.ValidationError(error.message) from None


class CategoryChoiceField(forms.ModelChoiceField):
    """Each category under its name in the reader's language."""

    def label_from_instance(self, obj) -> str:
        return obj.display_name


class NewRequestForm(forms.Form):
    """``/support/new/``: the category (the active ones), a subject and the
    first message. ``client_id`` is made when the form is shown, so a second
    click on Send opens nothing twice."""

    category = CategoryChoiceField(
        queryset=SupportCategory.objects.none(),
        empty_label=_("Choose a category"),
        to_field_name="slug",
        label=_("Category"),
    )
    subject = forms.CharField(label=_("Subject"), strip=False)
    body = forms.CharField(
        label=_("Your message"), strip=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    client_id = forms.UUIDField(widget=forms.HiddenInput, label="The form's key")

    def __init__(self, *args, categories, **kwargs):
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ModelChoiceField)
        category.queryset = categories
        subject = self.fields["subject"]
        subject.widget.attrs["maxlength"] = str(limits.support_subject_max_chars())
        body = self.fields["body"]
        body.widget.attrs["maxlength"] = str(limits.max_content_chars())

    def clean_subject(self) -> str:
        return _checked(services.clean_subject, self.cleaned_data["subject"])

    def clean_body(self) -> str:
        return _checked(validation.clean_content, self.cleaned_data["body"])


class QueueFilterForm(forms.Form):
    """The queue's filters, read from the query string. A value that is not
    offered is an error shown beside its field, and the queue is shown
    unfiltered by it."""

    status = forms.ChoiceField(
        choices=[("", _("Any status")), *SupportStatus.choices], required=False, label=_("Status")
    )
    category = forms.ChoiceField(required=False, label=_("Category"))
    assignee = forms.ChoiceField(choices=ASSIGNEE_CHOICES, required=False, label=_("Assignee"))
    priority = forms.ChoiceField(
        choices=[("", _("Any priority")), *SupportPriority.choices],
        required=False,
        label=_("Priority"),
    )
    overdue = forms.BooleanField(required=False, label=_("Overdue only"))
    older_than_hours = forms.TypedChoiceField(
        choices=AGE_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        label=_("Older than"),
    )

    def __init__(self, *args, categories, **kwargs):
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ChoiceField)
        category.choices = [
            ("", _("Any category")),
            *((c.slug, c.display_name) for c in categories),
        ]

    def queue_filters(self) -> dict:
        """The keyword arguments for ``selectors.queue``: only the filters
        that were given and valid."""
        data = self.cleaned_data if self.is_bound else {}
        return {
            "status": data.get("status") or None,
            "category": data.get("category") or None,
            "assignee": data.get("assignee") or None,
            "priority": data.get("priority") or None,
            "overdue": True if data.get("overdue") else None,
            "older_than_hours": data.get("older_than_hours"),
        }


class RatingForm(forms.Form):
    """The requester's rating of a resolved request."""

    satisfied = forms.TypedChoiceField(
        choices=[("yes", _("Satisfied")), ("no", _("Not satisfied"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label=_("Were you satisfied?"),
    )
    comment = forms.CharField(required=False, strip=True, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_comment(self) -> str:
        return _checked(services.clean_rating_comment, self.cleaned_data["comment"])
