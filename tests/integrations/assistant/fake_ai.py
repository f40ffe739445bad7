"""A local OpenAI-compatible chat-completions server for the assistant's
tests, run as its own process: ``python fake_ai.py`` binds 127.0.0.1 on a
free port and prints the port on its first line.

``POST /v1/chat/completions`` answers as the current mode says:

* ``normal``: a stream (``text/event-stream``: ``data: {chunk}`` events,
  a last chunk with ``usage``, then ``data: [DONE]``) when the request
  asked for one, else one JSON completion;
* ``json``: one JSON completion, whatever the request asked;
* ``slow``: reads the request and never answers;
* ``stall``: streams the first chunk, then never another;
* ``trickle``: streams a chunk every 0.3 s for a minute (each wait is
  short; only the total time bounds it);
* ``error``: ``500`` with a JSON error body;
* ``malformed``: ``200 application/json`` that is not JSON.

The answer is ``answer`` (set by the test) or, by default, ``Echo: `` and
the last message's text. ``POST /_control`` (``{"mode", "answer"}``) sets
both and forgets the requests; ``GET /_requests`` lists the bodies (and
Authorization headers) received since."""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"mode": "normal", "answer": None, "requests": []}
LOCK = threading.Lock()
CHUNK_CHARS = 6
USAGE = {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _json(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        if self.path == "/_requests":
            with LOCK:
                self._json(200, STATE["requests"])
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self):
        raw = self._body()
        if self.path == "/_control":
            control = json.loads(raw)
            with LOCK:
                STATE["mode"] = control.get("mode", "normal")
                STATE["answer"] = control.get("answer")
                STATE["requests"] = []
            self._json(200, {"ok": True})
            return
        if self.path != "/v1/chat/completions":
            self._json(404, {"error": "not found"})
            return
        request = json.loads(raw)
        with LOCK:
            STATE["requests"].append(
                {"body": request, "authorization": self.headers.get("Authorization")}
            )
            mode, answer = STATE["mode"], STATE["answer"]
        if answer is None:
            answer = "Echo: " + request["messages"][-1]["content"]
        if mode == "slow":
            time.sleep(60)
            return
        if mode == "error":
            self._json(500, {"error": {"message": "the model fell over"}})
            return
        if mode == "malformed":
            body = b"this is {not json"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if mode == "json" or not request.get("stream"):
            self._json(
                200,
                {
                    "id": "cmpl-1",
                    "object": "chat.completion",
                    "model": request.get("model", ""),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": answer},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": USAGE,
                },
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        pieces = [answer[i : i + CHUNK_CHARS] for i in range(0, len(answer), CHUNK_CHARS)]
        if mode == "trickle":
            for _ in range(200):
                self._event({"choices": [{"index": 0, "delta": {"content": "."}}]})
                time.sleep(0.3)
            return
        for number, piece in enumerate(pieces):
            self._event({"choices": [{"index": 0, "delta": {"content": piece}}]})
            if mode == "stall" and number == 0:
                time.sleep(60)
                return
            time.sleep(0.01)
        self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self._event({"choices": [], "usage": USAGE})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    def _event(self, chunk):
        self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.flush()


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
