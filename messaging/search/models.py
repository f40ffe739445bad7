"""The search table: one row per message that search may return. Loaded by
``messaging.models``; nothing here imports it back.

A row exists only for a message that is searchable (stored, not deleted, a
person's message rather than a system notice); ``services.indexing`` writes
and removes rows. ``text`` is what is matched: the message's content, its
files' names and the text extracted from its documents. On PostgreSQL
``vector`` holds ``to_tsvector(SEARCH_CONFIG, text)`` under a GIN index; on
SQLite the ``message_search_fts`` FTS5 table (external content, kept by
triggers from migration 0007, by ``id``) indexes ``text`` and ``vector`` stays NULL.
The columns copied from the message let a search filter and order without
joining ``messages`` for every candidate row."""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models


class SearchDocument(models.Model):
    # An integer key: SQLite's FTS5 table refers to rows by it (an INTEGER
    # PRIMARY KEY is the rowid, which VACUUM keeps).
    id = models.BigAutoField(primary_key=True)
    message = models.OneToOneField(
        "messaging.Message", on_delete=models.CASCADE, related_name="search_document"
    )
    # Indexed by the (conversation, seq) and (sender, sent_at) pairs below.
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    seq = models.BigIntegerField()
    sent_at = models.DateTimeField()
    text = models.TextField(blank=True, default="")
    has_file = models.BooleanField(default=False)  # any attachment
    has_image = models.BooleanField(default=False)  # an image attachment
    has_link = models.BooleanField(default=False)  # an http(s) URL in the content
    vector = SearchVectorField(null=True, blank=True)

    class Meta:
        db_table = "message_search"
        indexes = [
            models.Index(fields=["conversation", "seq"], name="search_conversation_seq_idx"),
            models.Index(fields=["sender", "sent_at"], name="search_sender_sent_idx"),
            # A search without words is answered newest first: walking this
            # index stops after a page of the user's rows, instead of
            # sorting all of them.
            models.Index(fields=["-sent_at", "-id"], name="search_newest_idx"),
        ]

    def __str__(self):
        return f"search row of {self.message_id}"
