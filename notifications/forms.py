"""The notification settings page's form. It checks what a browser can get
wrong (a time's format, a choice); the rules themselves (quiet hours both or
neither, a known time zone) are ``update_preferences``'s, whose refusals the
view puts next to their fields."""

import datetime as dt

from django import forms
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from accounts import services as account_services
from notifications.models import Channel, DigestFrequency, Kind, NotificationPreference
from notifications.rules import channels_for

# "Mentions by email": how each channel reads after a kind's name.
CHANNEL_PHRASES = {
    Channel.IN_APP: _("in the app"),
    Channel.PUSH: _("by push"),
    Channel.EMAIL: _("by email"),
}


def kind_field_name(kind: str, channel: str) -> str:
    return f"kind_{kind}_{channel}"


class TimeInput(forms.TimeInput):
    input_type = "time"


class NotificationSettingsForm(forms.Form):
    email_enabled = forms.BooleanField(required=False, label=_("Email notifications"))
    push_enabled = forms.BooleanField(required=False, label=_("Push notifications"))
    push_show_content = forms.BooleanField(
        required=False, label=_("Show message text on the lock screen")
    )
    quiet_hours_start = forms.TimeField(
        required=False, label=_("Quiet from"), widget=TimeInput(format="%H:%M")
    )
    quiet_hours_end = forms.TimeField(
        required=False, label=_("Quiet until"), widget=TimeInput(format="%H:%M")
    )
    time_zone = forms.ChoiceField(label=_("Time zone"))
    digest = forms.ChoiceField(
        choices=DigestFrequency.choices, widget=forms.RadioSelect, label=_("Digest email")
    )
    digest_hour = forms.TypedChoiceField(
        coerce=int, choices=[(h, f"{h:02d}:00") for h in range(24)], label=_("Arrives at")
    )
    # Django's own day names (0 is Monday), translated in every language.
    digest_weekday = forms.TypedChoiceField(
        coerce=int, choices=list(WEEKDAYS.items()), label=_("On (weekly)")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zones = self.fields["time_zone"]
        assert isinstance(zones, forms.ChoiceField)
        # Read when the form is made: the tz database is read once per process.
        zones.choices = [(z, z) for z in account_services.time_zone_names()]
        for kind in Kind:
            for channel in Channel:
                # "Mentions by email"; a language may put the two the other way round.
                label = pgettext(
                    "notification settings: a kind of notification, then how it reaches you",
                    "%(kind)s %(channel)s",
                ) % {"kind": kind.label, "channel": CHANNEL_PHRASES[channel]}
                self.fields[kind_field_name(kind, channel)] = forms.BooleanField(
                    required=False, label=label
                )

    @staticmethod
    def initial_for(preference: NotificationPreference, time_zone: str) -> dict:
        """The form's values for a stored (or default) preference row."""
        initial: dict[str, object] = {
            "email_enabled": preference.email_enabled,
            "push_enabled": preference.push_enabled,
            "push_show_content": preference.push_show_content,
            "quiet_hours_start": preference.quiet_hours_start,
            "quiet_hours_end": preference.quiet_hours_end,
            "time_zone": time_zone,
            "digest": preference.digest,
            "digest_hour": preference.digest_hour,
            "digest_weekday": preference.digest_weekday,
        }
        # A kind's own choice, before the master switches (which have their
        # own boxes): channels_for with both switches on.
        unswitched = NotificationPreference(kinds=preference.kinds)
        for kind in Kind:
            chosen = channels_for(unswitched, kind)
            for channel in Channel:
                initial[kind_field_name(kind, channel)] = channel.value in chosen
        return initial

    def kinds_table(self) -> list[tuple[str, list[forms.BoundField]]]:
        """Rows of the kinds × channels table: a kind's label and its boxes."""
        return [
            (str(kind.label), [self[kind_field_name(kind, channel)] for channel in Channel])
            for kind in Kind
        ]

    def changes(self) -> dict:
        """The cleaned form as ``update_preferences`` arguments."""
        data = self.cleaned_data
        start: dt.time | None = data["quiet_hours_start"]
        end: dt.time | None = data["quiet_hours_end"]
        return {
            "email_enabled": data["email_enabled"],
            "push_enabled": data["push_enabled"],
            "push_show_content": data["push_show_content"],
            "kinds": {
                kind.value: {
                    channel.value: data[kind_field_name(kind, channel)] for channel in Channel
                }
                for kind in Kind
            },
            "quiet_hours_start": start,
            "quiet_hours_end": end,
            "time_zone": data["time_zone"],
            "digest": data["digest"],
            "digest_hour": data["digest_hour"],
            "digest_weekday": data["digest_weekday"],
        }
