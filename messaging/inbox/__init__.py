"""The inbox: a person's conversations with their unread counts, previews
and members, as the inbox and Archived pages, the Saved page and
``GET /api/conversations/`` show them.

``rules`` says what counts as unread, as the main stream and as put away
(the socket's hello and the unread total count by the same rules, in
``messaging.selectors``); ``statements`` holds the inbox's statements,
compiled once per process on PostgreSQL; ``selectors`` makes their rows
into ``InboxRow``s (``messaging.selectors.inbox`` is that function).
"""
