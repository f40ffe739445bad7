"""The embedded profile's broker (``config.filesystem_broker``): kombu's
filesystem transport, whose worker must never read a message half-written
nor stop on a file that is not a message."""

from queue import Empty

import pytest
from kombu import Connection

from config import filesystem_broker


@pytest.fixture
def channel(tmp_path):
    folders = {name: tmp_path / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    connection = Connection(
        "filesystem://localhost/",
        transport=filesystem_broker.Transport,
        transport_options={
            "data_folder_in": str(folders["queue"]),
            "data_folder_out": str(folders["queue"]),
            "processed_folder": str(folders["processed"]),
            "store_processed": False,
            "control_folder": str(folders["control"]),
        },
    )
    channel = connection.channel()
    yield channel
    connection.release()


def test_a_message_is_never_read_while_it_is_being_written(channel, monkeypatch):
    """The worker looks at the folder just as a message is being written
    (its file created, its bytes not yet in it): it finds nothing, rather
    than an empty message that stopped the worker ("Unrecoverable error:
    JSONDecodeError")."""
    looked = []
    serialize = filesystem_broker.dumps

    def dumps_while_the_worker_looks(payload):
        with pytest.raises(Empty):
            channel._get("celery")
        looked.append(True)
        return serialize(payload)

    monkeypatch.setattr(filesystem_broker, "dumps", dumps_while_the_worker_looks)
    channel._put("celery", {"body": "hello"})
    assert looked == [True]
    monkeypatch.setattr(filesystem_broker, "dumps", serialize)
    assert channel._get("celery") == {"body": "hello"}


def test_a_file_that_is_not_a_message_is_passed_over(channel, tmp_path, caplog):
    """An empty message file (cut short by a crash) is logged and skipped:
    the next message is read, and the worker goes on."""
    (tmp_path / "queue" / "0_left-by-a-crash.celery.msg").write_bytes(b"")
    channel._put("celery", {"body": "after"})
    assert channel._get("celery") == {"body": "after"}
    assert "Skipped an unreadable message file" in caplog.text
    assert not list((tmp_path / "queue").iterdir())
