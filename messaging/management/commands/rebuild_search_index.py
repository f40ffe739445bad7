"""Rebuild the search table from the messages (docs/operations.md, "Search"):
after changing ``PARLEY_SEARCH_CONFIG``, restoring a backup without it, or
to repair it. Safe to run while the site is up, and to run again."""

from django.core.management.base import BaseCommand

from messaging.search.services import indexing


class Command(BaseCommand):
    help = "Rebuild the full-text search index of every searchable message."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Messages per transaction (1000)."
        )

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            self.stderr.write("--batch-size must be at least 1.")
            raise SystemExit(2)
        indexed = indexing.rebuild(batch_size=batch_size)
        self.stdout.write(f"Indexed {indexed} messages.")
