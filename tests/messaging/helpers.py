import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from messaging import services

ROOT = Path(__file__).resolve().parents[2]


def send(sender, conversation, content="hello", **kwargs):
    """Send through the service with a fresh client_id; returns the message."""
    kwargs.setdefault("client_id", uuid.uuid4())
    return services.send_message(
        sender=sender, conversation_id=conversation.pk, content=content, **kwargs
    ).message


def embedded_manage(var_dir: Path) -> Callable[..., str]:
    """``manage(*args) -> stdout``: ``manage.py`` in a fresh process on the
    embedded default (SQLite under ``var_dir``, no PostgreSQL or Redis), as
    ``make run`` starts it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "TEST_DATABASE_NAME")
    }
    env["PARLEY_PROFILE"] = "embedded"
    env["PARLEY_VAR_DIR"] = str(var_dir)

    def manage(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout

    return manage


def json_on_embedded(var_dir: Path, expression: str, *, imports: str):
    """The JSON value of ``expression`` evaluated in a fresh, migrated
    embedded default (SQLite under ``var_dir``) after ``imports`` (Python
    statements): the same scenario run there, to compare with PostgreSQL."""
    manage = embedded_manage(var_dir)
    manage("migrate", "--noinput", "-v", "0")
    mark = "EMBEDDED-JSON "
    out = manage(
        "shell",
        "-c",
        f"import json; from django.db import connection; {imports};"
        " assert connection.vendor == 'sqlite', connection.vendor;"
        f" print({mark!r} + json.dumps({expression}))",
    )
    line = next(line for line in out.splitlines() if line.startswith(mark))
    return json.loads(line.removeprefix(mark))
