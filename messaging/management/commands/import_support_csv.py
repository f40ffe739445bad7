"""``manage.py import_support_csv PATH``: the old Messages page's submissions
as support requests (docs/operations.md, Importing old support requests).

The file is CSV (UTF-8, a header row) with the columns ``requester_email``,
``category``, ``subject``, ``body``, ``status`` and ``created_at`` (header
names are read case-insensitively, spaces as underscores). Each good row
becomes a support request with its conversation and first message, dated
``created_at``, in its status (``messaging.support.services.import_request``).
A row imported before (same email, category, subject, body and date) is
skipped, so the command can run again. Every row that cannot be imported is
reported with its line number and why; the command then exits non-zero.
"""

import csv
from dataclasses import dataclass
from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import User
from messaging.errors import MessagingError
from messaging.support import services
from messaging.support.models import SupportCategory, SupportStatus

COLUMNS = ("requester_email", "category", "subject", "body", "status", "created_at")


class BadRow(Exception):
    """Why a row is not imported."""


@dataclass
class Tally:
    imported: int = 0
    skipped: int = 0
    failed: int = 0


def _header(name: str | None) -> str:
    return (name or "").strip().lower().replace(" ", "_")


def _created_at(value: str) -> datetime:
    """An ISO 8601 date-time (naive: in the server's time zone) or date
    (midnight), not in the future."""
    value = value.strip()
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = datetime.combine(day, time()) if day else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise BadRow(f"bad created_at {value!r} (expected an ISO 8601 date or date-time)")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    if parsed > timezone.now():
        raise BadRow(f"created_at {value!r} is in the future")
    return parsed


class Command(BaseCommand):
    help = "Import the old Messages page's submissions (a CSV file) as support requests."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The CSV file.")

    def handle(self, *args, **options):
        path = options["path"]
        try:
            with open(path, encoding="utf-8-sig", newline="") as source:
                tally = self._import(source)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text.") from None
        total = tally.imported + tally.skipped + tally.failed
        self.stdout.write(
            f"{total} rows: {tally.imported} imported, {tally.skipped} already imported, "
            f"{tally.failed} failed."
        )
        if tally.failed:
            raise CommandError(f"{tally.failed} rows could not be imported (listed above).")

    def _import(self, source) -> Tally:
        reader = csv.reader(source)
        try:
            header = [_header(name) for name in next(reader)]
        except StopIteration:
            raise CommandError("The file is empty: it needs a header row.") from None
        except csv.Error as error:
            raise CommandError(f"line 1: {error}") from None
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise CommandError("Missing columns: " + ", ".join(missing))
        tally = Tally()
        categories = list(SupportCategory.objects.all())
        while True:
            line = reader.line_num + 1  # where the record starts (a body may span lines)
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                self._bad(tally, line, str(error))
                continue
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            row = dict(zip(header, cells, strict=False))
            try:
                created = self._import_row(row, categories)
            except BadRow as reason:
                self._bad(tally, line, str(reason))
                continue
            except MessagingError as error:
                self._bad(tally, line, error.message)
                continue
            if created:
                tally.imported += 1
            else:
                tally.skipped += 1
        return tally

    def _bad(self, tally: Tally, line: int, reason: str) -> None:
        tally.failed += 1
        self.stderr.write(f"line {line}: {reason}")

    def _import_row(self, row: dict[str, str], categories: list[SupportCategory]) -> bool:
        email = (row.get("requester_email") or "").strip()
        category_name = (row.get("category") or "").strip()
        subject = (row.get("subject") or "").strip()
        body = row.get("body") or ""
        status = (row.get("status") or "").strip().lower()
        created_text = row.get("created_at") or ""

        if any(ord(character) < 32 for character in email):
            # No address holds one, and PostgreSQL refuses a NUL outright.
            raise BadRow(f"unknown requester email {email!r}")
        requester = User.objects.filter(Q(email__iexact=email)).first() if email else None
        if requester is None:
            raise BadRow(f"unknown requester email {email!r}")
        category = next(
            (c for c in categories if category_name.lower() in (c.slug.lower(), c.name.lower())),
            None,
        )
        if category is None:
            raise BadRow(f"unknown category {category_name!r}")
        if not subject:
            raise BadRow("empty subject")
        if status not in SupportStatus.values:
            raise BadRow(
                f"bad status {row.get('status', '')!r} (one of {', '.join(SupportStatus.values)})"
            )
        created_at = _created_at(created_text)
        _, created = services.import_request(
            requester=requester,
            category=category,
            subject=subject,
            body=body,
            status=status,
            created_at=created_at,
            legacy_key=services.legacy_key(
                email=email,
                category=category_name,
                subject=subject,
                body=body,
                created_at=created_text,
            ),
        )
        return created
