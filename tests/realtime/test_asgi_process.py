"""What loading the ASGI application does to its process: the objects loaded
at start are out of the collector's reach, and the GIL is handed round
every millisecond, so a database thread back from a round trip waits at
most that long behind the event loop (docs/benchmarks.md, "6 December")."""

import gc
import sys

import config.asgi  # noqa: F401 - loaded for its effect on the process


def test_the_switch_interval_is_one_millisecond():
    assert sys.getswitchinterval() == 0.001


def test_the_objects_loaded_at_start_are_frozen():
    assert gc.get_freeze_count() > 10_000
