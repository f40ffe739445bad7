# The socket fixtures of tests/realtime: real sessions, the real ASGI stack,
# presence cleared between tests.
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401


def broker_messages(app):
    """Every task message waiting in the default queue (taken off it)."""
    found = []
    with app.connection_for_read() as connection:
        queue = connection.SimpleQueue(app.conf.task_default_queue, no_ack=True)
        try:
            while True:
                try:
                    found.append(queue.get(timeout=1))
                except queue.Empty:
                    break
        finally:
            queue.close()
    return found


def run_task(task, *args):
    """Run ``task`` here, as a worker would, and return what it returned
    (``EagerResult.get`` refuses once a test has started a worker in this
    process)."""
    outcome = task.apply(args=args)
    assert outcome.successful(), outcome.traceback
    return outcome.result
