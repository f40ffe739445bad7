import django.db.models.deletion
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import migrations, models
from django.utils import timezone


def copy_live_sessions(apps, schema_editor):
    """Nobody is signed out by the move: every unexpired session of
    Django's table is copied, its account read from it once, here."""
    from accounts.sessions import SessionStore, account_id

    old = apps.get_model("sessions", "Session")
    new = apps.get_model("accounts", "AccountSession")
    decoder = SessionStore()
    batch = []
    live = old.objects.filter(expire_date__gt=timezone.now())
    for key, data, expires in live.values_list(
        "session_key", "session_data", "expire_date"
    ).iterator():
        user_id = account_id(decoder.decode(data).get(SESSION_KEY))
        batch.append(new(session_key=key, session_data=data, expire_date=expires, user_id=user_id))
        if len(batch) == 1000:
            new.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    new.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_integrations"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="AccountSession",
            fields=[
                (
                    "session_key",
                    models.CharField(
                        max_length=40, primary_key=True, serialize=False, verbose_name="session key"
                    ),
                ),
                ("session_data", models.TextField(verbose_name="session data")),
                ("expire_date", models.DateTimeField(db_index=True, verbose_name="expire date")),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"db_table": "account_sessions"},
        ),
        migrations.RunPython(copy_live_sessions, migrations.RunPython.noop),
    ]
