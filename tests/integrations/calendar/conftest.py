"""The reminders' fixtures serve the calendar's tests too."""

from tests.integrations.reminders.conftest import api, message, outsider, send  # noqa: F401
