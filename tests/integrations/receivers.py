"""The far end of outgoing webhooks for the tests: the receiver that
docs/integrations/webhooks-and-bots.md shows, loaded from the page itself
(the code after its ``<!-- receiver -->`` mark), served by a thread on
127.0.0.1, with a record of what reached it."""

import re
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "webhooks-and-bots.md"


def documented_receiver() -> dict:
    """The guide's receiver code, run as a module (not as ``__main__``):
    its namespace, with ``verified``, ``Receiver`` and ``SECRET``."""
    text = GUIDE.read_text()
    found = re.search(r"<!-- receiver -->\s*```python\n(.*?)```", text, re.S)
    assert found, "the guide's receiver code block is missing"
    namespace: dict = {"__name__": "documented_receiver"}
    exec(compile(found.group(1), str(GUIDE), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace


@dataclass
class Far:
    """A running receiver: its URL and every request that reached it, with
    whether its signature checked out (by the guide's ``verified``)."""

    url: str
    requests: list[dict] = field(default_factory=list)
    failures_left: int = 0  # answer 500 to this many requests first


def serve_receiver(secret_of, *, failures: int = 0):
    """Start the guide's receiver on 127.0.0.1 (a free port) in a thread;
    ``secret_of()`` gives the signing secret to check against (read at each
    request: a test may create its bot after the receiver). Answers 500 to
    the first ``failures`` requests (still recorded, still verified).
    Returns ``(far, stop)``."""
    module = documented_receiver()
    record = Far(url="", failures_left=failures)
    lock = threading.Lock()

    class Recorded(module["Receiver"]):
        def do_POST(self):  # noqa: N802 - http.server's name
            module["SECRET"] = secret_of()
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            with lock:
                record.requests.append(
                    {
                        "headers": dict(self.headers),
                        "body": body,
                        "verified": module["verified"](module["SECRET"], self.headers, body),
                    }
                )
                failing = record.failures_left > 0
                record.failures_left -= failing
            if failing:
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            # The guide's handler reads the body itself: hand it back.
            self.rfile = _Replay(body)
            super().do_POST()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorded)
    record.url = f"http://127.0.0.1:{httpd.server_address[1]}/parley"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def stop():
        httpd.shutdown()
        httpd.server_close()

    return record, stop


class _Replay:
    def __init__(self, data: bytes):
        self.data = data

    def read(self, size: int = -1) -> bytes:
        data, self.data = (self.data, b"") if size < 0 else (self.data[:size], self.data[size:])
        return data
