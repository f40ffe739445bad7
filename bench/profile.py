"""Where a server process spends its time: py-spy samples under load.

``record`` runs ``py-spy record`` (raw, collapsed stacks) against one server
process while the caller drives load; ``summarize`` turns the stacks into
the share of samples in which each function, and each area of the code
(database driver, ORM, channel layer, our services ...), is on the stack.
"""

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

AREAS = [
    # (label, substrings of a frame "function (file:line)"); first match wins
    # for the innermost frame (self time).
    ("PostgreSQL driver (psycopg, waiting included)", ("psycopg/", "psycopg_pool/")),
    ("Django ORM / SQL compiler", ("django/db/",)),
    ("asgiref thread hand-off (sync_to_async / async_to_sync)", ("asgiref/",)),
    ("channel layer (channels_redis)", ("channels_redis/",)),
    ("Redis client (redis-py)", ("redis/",)),
    ("Channels consumer machinery", ("channels/",)),
    (
        "daphne / Twisted / autobahn (sockets, frames)",
        ("twisted/", "autobahn/", "daphne/", "txaio/"),
    ),
    ("JSON encode / decode", ("json/",)),
    ("Parley code (messaging/, accounts/)", ("messaging/", "accounts/")),
    ("asyncio event loop", ("asyncio/",)),
    ("threading / concurrent.futures", ("threading.py", "concurrent/")),
]


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


def record(pid: int, seconds: float, out: Path, *, rate: int = 200) -> subprocess.Popen | None:
    """Start sampling ``pid`` for ``seconds``; returns the running py-spy."""
    exe = py_spy()
    if exe is None:
        return None
    return subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rpartition(" ")
    return stack.split(";"), int(count)


def summarize(path: Path, top: int = 25) -> dict:
    """Inclusive shares per function and per area, and self shares per area."""
    inclusive: Counter = Counter()
    area_incl: Counter = Counter()
    area_self: Counter = Counter()
    total = 0
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        frames, count = _frames(line)
        total += count
        for name in set(frames):
            inclusive[name] += count
        seen = set()
        for frame in frames:
            for label, keys in AREAS:
                if label not in seen and any(k in frame for k in keys):
                    seen.add(label)
                    area_incl[label] += count
        innermost = frames[-1]
        area_self[
            next((label for label, keys in AREAS if any(k in innermost for k in keys)), "other")
        ] += count
    if not total:
        return {"samples": 0}

    def share(counter, n=None):
        return [(name, round(100 * c / total, 1)) for name, c in counter.most_common(n)]

    return {
        "samples": total,
        "self_by_area_pct": share(area_self),
        "inclusive_by_area_pct": share(area_incl),
        "inclusive_by_function_pct": share(
            Counter(
                {
                    k: v
                    for k, v in inclusive.items()
                    if "/site-packages/" not in k or "django/db" in k
                }
            ),
            top,
        ),
    }
