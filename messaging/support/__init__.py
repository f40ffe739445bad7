"""Support requests: a support conversation with a category, a subject, a
status (open, pending, resolved, closed), an assignee, a priority, the
first-response and resolution times, and the requester's rating.

``services`` make every change (opening, status, assignee, priority,
rating, the CSV import) and announce it: a system message in the
conversation, an audit record, a notification to the requester and a
``support.updated`` frame. ``selectors`` answer the queue and a person's
own requests; ``transitions`` is the one table of who may move a request
from which status to which.
"""
