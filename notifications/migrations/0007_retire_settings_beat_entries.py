"""Beat's schedule lives in django-celery-beat's tables alone
(``notifications.services.schedules``). Four entries used to come from
``CELERY_BEAT_SCHEDULE`` as well, copied into the tables (and over any admin
edit of them) each time beat started: three of them doubled an entry of
``setup_periodic_tasks`` and ran twice per period. The copies go; the
presence sweep is now one of ``setup_periodic_tasks``' own."""

from django.db import migrations

# The settings' entry names and their tasks.
RETIRED = {
    "sweep-presence": "messaging.tasks.sweep_presence",
    "notify-pending": "notifications.tasks.notify_pending",
    "purge-files": "messaging.files.tasks.purge_files",
    "sweep-previews": "messaging.files.tasks.sweep_previews",
}


def retire(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task in RETIRED.items():
        PeriodicTask.objects.filter(name=name, task=task).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0006_integrations"),
        ("django_celery_beat", "0001_initial"),
    ]

    operations = [migrations.RunPython(retire, migrations.RunPython.noop)]
