"""Loaded into the notifications bench's Celery worker (``celery -A config
worker --include bench.tasklog``): one JSON line per task run, appended to
the file ``BENCH_TASK_LOG`` names, with the task's name, id, wall-clock start
and end, its state and its arguments.

Signal handlers connected at import, in the worker's main process, are
inherited by its prefork children. Each line is written by one ``write`` on
a file opened with O_APPEND, so lines of concurrent children never mix.
Nothing happens without ``BENCH_TASK_LOG`` (the module is inert elsewhere).
"""

import json
import os
import time

from celery.signals import task_postrun, task_prerun

_started: dict[str, float] = {}


@task_prerun.connect
def _task_started(task_id=None, **_) -> None:
    if task_id:
        _started[task_id] = time.time()


def _plain(args) -> list | None:
    try:
        return json.loads(json.dumps(list(args or ()), default=str))
    except (TypeError, ValueError):
        return None


@task_postrun.connect
def _task_done(task_id=None, task=None, state=None, retval=None, args=None, **_) -> None:
    path = os.environ.get("BENCH_TASK_LOG")
    if not path or task is None:
        return
    line = {
        "task": task.name,
        "id": task_id,
        "start": _started.pop(task_id or "", None),
        "end": time.time(),
        "state": state,
        "retval": retval if isinstance(retval, bool | int | type(None)) else None,
        # Ids and lists of ids: which conversation a fan-out task was for.
        "args": _plain(args),
    }
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(line) + "\n").encode())
    finally:
        os.close(fd)
