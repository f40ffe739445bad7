from django import forms
from django.contrib.auth import forms as auth_forms

from accounts import services
from accounts.models import MentorAssignment, User
from messaging import validation
from messaging.errors import InvalidInput


class DisplayNameCleaned(forms.BaseForm):
    """The display name passes the text rule every user-supplied string
    does (``messaging.validation.clean_display_name``), as on the profile
    page: a refusal is a form error naming the field."""

    def clean_display_name(self):
        try:
            return validation.clean_display_name(self.cleaned_data.get("display_name"))
        except InvalidInput as error:
            raise forms.ValidationError(error.message, code=error.code) from None


class UserCreationForm(DisplayNameCleaned, auth_forms.BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "display_name", "role")


class UserChangeForm(DisplayNameCleaned, auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MentorAssignmentForm(forms.ModelForm):
    """A new mentor assignment (the admin's add page and the mentors inline
    on a student's page): refused with a form error unless the mentor is a
    mentor and the student a student, the same check ``assign_mentor`` makes
    when the admin stores it."""

    class Meta:
        model = MentorAssignment
        fields = ("mentor", "student")

    def clean(self):
        cleaned = super().clean() or {}
        mentor, student = cleaned.get("mentor"), cleaned.get("student")
        # Only new rows: existing ones are never edited, only removed.
        if self.instance._state.adding and mentor is not None and student is not None:
            services.check_assignment_roles(mentor=mentor, student=student)
        return cleaned
