"""Create Parley's periodic tasks (django-celery-beat) if missing: run at
release and by `make run`; running it again changes nothing."""

from django.core.management.base import BaseCommand

from notifications.services.schedules import ensure_periodic_tasks


class Command(BaseCommand):
    help = "Create the periodic tasks beat runs (idempotent; admin edits are kept)."

    def handle(self, *args, **options):
        created = ensure_periodic_tasks()
        for name in created:
            self.stdout.write(f"Created periodic task {name!r}.")
        if not created:
            self.stdout.write("Periodic tasks already in place.")
