"""Run the scenario on whatever database the environment names and print
its answers as JSON: ``python -m tests.search.parity_run``. The parity
test runs it on the embedded default (a fresh SQLite file)."""

import json
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    from config.celery import app

    app.conf.task_always_eager = True
    from tests.search import scenario

    built = scenario.build()
    json.dump(scenario.run(built["people"]["sam"]), sys.stdout)


if __name__ == "__main__":
    main()
