from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "time_zone" in self.fields:
            # A list of the zones a person may have, not free text.
            zones = services.time_zone_names()
            self.fields["time_zone"].widget = forms.Select(choices=[(z, z) for z in zones])

    def clean_time_zone(self):
        try:
            return services.check_time_zone(self.cleaned_data.get("time_zone"))
        except forms.ValidationError as error:
            raise forms.ValidationError(error.message_dict["time_zone"]) from None


class ProfilePasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's, without its autofocus: on the profile page the form comes
    after the name and the language, and the focus scrolled the page past
    them, down to "Old password"."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].widget.attrs.pop("autofocus", None)


class AdminPasswordChangeForm(auth_forms.AdminPasswordChangeForm):
    """The admin's password page stores through ``change_password``: the
    person's sessions end, their sockets close and their API tokens are
    revoked. When admins change their own password, the admin view keeps
    their current session (``update_session_auth_hash``)."""

    def clean(self):
        cleaned = super().clean() or {}
        if self.user.is_bot and cleaned.get("set_usable_password"):
            # On a field: the admin's password page shows no form-wide errors.
            self.add_error(
                "password1",
                forms.ValidationError(
                    _("A bot signs in with its API token, never with a password."), code="bot"
                ),
            )
        return cleaned

    def save(self, commit=True):
        if not commit:
            raise NotImplementedError("Passwords are stored by accounts.services.")
        password = (
            self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        )
        return services.change_password(user=self.user, password=password, actor=None, via="admin")


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
