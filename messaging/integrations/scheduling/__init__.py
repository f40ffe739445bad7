"""Scheduled messages (docs/integrations/scheduled-messages.md): written
now, sent at a chosen time through the ordinary send. ``services`` writes
them, ``selectors`` reads them, ``tasks`` holds the periodic sweep, ``api``
the REST endpoints, ``views`` the Scheduled page."""
