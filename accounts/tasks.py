"""The accounts app's Celery tasks: thin, they call services."""

from celery import shared_task

from accounts import services


@shared_task(ignore_result=True)
def clear_expired_sessions() -> int:
    """Delete expired sign-in sessions (periodic); returns how many."""
    return services.clear_expired_sessions()
