"""The files package's Celery tasks: thin, they take ids and call services."""

from uuid import UUID

from celery import shared_task

from messaging.files.services import previews, purge, uploads


@shared_task(ignore_result=True)
def make_preview(attachment_id: str) -> None:
    """Render a document's preview (or a text file's excerpt) and tell the
    conversation's members when its message is sent. Safe to run twice."""
    previews.make_preview(UUID(attachment_id))


@shared_task(ignore_result=True)
def purge_files() -> int:
    """Remove unsent uploads and the files of deleted messages past their
    retention (periodic). Returns how many attachments were removed."""
    return purge.purge_expired()


@shared_task(ignore_result=True)
def sweep_previews() -> None:
    """Previews stuck pending (periodic): queued again, or given up after an
    hour so their message shows the file's card."""
    uploads.requeue_stale_previews()
    previews.fail_abandoned()
