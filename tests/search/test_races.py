"""Races between the writers of the search table: a row is never built
from a message as it was before a delete that committed meanwhile."""

import threading

import pytest
from django.db import connection, connections, transaction

from messaging import services
from messaging.files.models import AttachmentKind, PreviewState
from messaging.files.services import previews
from messaging.search.models import SearchDocument
from messaging.search.services import indexing
from tests.files.factories import make_attachment
from tests.search.conftest import found, say

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _wait_until_it_waits_for_a_lock(thread: threading.Thread) -> None:
    """Until another connection of this database waits for a row lock (the
    thread's: it may not finish first)."""
    for _ in range(6000):
        assert thread.is_alive(), thread.errors  # type: ignore[attr-defined]
        with connection.cursor() as cursor:
            # Activity is read once per transaction unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
        threading.Event().wait(0.01)
    raise AssertionError("nobody waited for the lock")


def _in_thread(work) -> threading.Thread:
    errors: list[BaseException] = []

    def run():
        try:
            work()
        except BaseException as error:  # reported by the test below
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def _pending_text_message(people, study):
    maria = people[0]
    upload = make_attachment(
        uploader=maria, conversation=study, kind=AttachmentKind.TEXT, data=b"chlorophyll\n"
    )
    upload.preview_state = PreviewState.PENDING
    upload.save(update_fields=["preview_state"])
    message = say(maria, study, "secret notes", attachment_ids=[upload.pk])
    return upload, message


def test_text_extracted_while_the_message_is_deleted_is_not_indexed(people, study):
    maria, sam, _, _ = people
    upload, message = _pending_text_message(people, study)
    with transaction.atomic():
        services.delete_message(actor=maria, message_id=message.pk)
        # The preview's write waits for the deleted message's row...
        preview = _in_thread(lambda: previews.make_preview(upload.pk))
        _wait_until_it_waits_for_a_lock(preview)
    # ...and, once the delete commits, sees it deleted.
    preview.join()
    assert preview.errors == []  # type: ignore[attr-defined]
    assert not SearchDocument.objects.filter(message=message).exists()
    assert found(sam, "secret") == []
    assert found(sam, "chlorophyll") == []


def test_a_rebuild_while_a_message_is_deleted_does_not_bring_it_back(people, study):
    maria, sam, _, _ = people
    message = say(maria, study, "secret plan")
    with transaction.atomic():
        services.delete_message(actor=maria, message_id=message.pk)
        rebuild = _in_thread(indexing.rebuild)
        _wait_until_it_waits_for_a_lock(rebuild)
    rebuild.join()
    assert rebuild.errors == []  # type: ignore[attr-defined]
    assert not SearchDocument.objects.filter(message=message).exists()
    assert found(sam, "secret") == []
