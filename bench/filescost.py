"""What files cost: ``python -m bench files`` (docs/benchmarks.md, "Files").

Two figures, each beside a baseline run the same way on the same machine:

1. **Upload to ack** for one ``--upload-mb`` file (10 MB by default, a
   valid PDF): the REST upload (``POST /api/conversations/<cid>/attachments/``,
   multipart, token auth) through a real server process (``python -m
   config.server``, daphne), then ``message.send`` with the upload's id on an
   open socket, until its ``ack``. The clock runs from the first byte of the
   upload to the ack. *Baseline*: the very same multipart request (same
   bytes, same headers) to a URL of the same server that does not exist:
   Django reads the whole body before it routes (``ASGIHandler.read_body``),
   then answers 404. So the baseline is the price of moving 10 MB through
   daphne and Django's request handling; the ratio is what Parley's upload
   (sniffing, hashing, storing, the database rows) and the send add to it.
   The two alternate, request by request.

2. **Preview latency** of ``--documents`` PDFs (3 pages of text) and as many
   DOCX files: each stored and its row made as an upload leaves it
   (pending), ``tasks.make_preview`` queued on the Redis broker, the clock
   stopped when the row leaves ``pending``; a real worker (``celery -A
   config worker --pool solo``) takes the tasks, one at a time, so this is
   the latency of one preview on an idle worker, not a queue. *Baseline*:
   the renderer alone on the same file in this process (``rendering``:
   PDFium in its child process, LibreOffice first for the DOCX), with no
   broker, no storage copy and no database.

The parent recreates the ``parley_bench_files`` database, migrates it and
runs ``python -m bench.filescost`` with the embedded profile pointed at the
bench PostgreSQL and Redis; that process prints JSON. ``measure`` is the
part the test suite calls in-process.
"""

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.childrun import log
from messaging.management.demo_files import pdf_from_objects

DATABASE = "parley_bench_files"


# --- Files made for the bench ---------------------------------------------------------


def text_pdf(pages: int = 3, *, padding: int = 0) -> bytes:
    """A valid PDF of ``pages`` pages of text lines (Helvetica), with
    ``padding`` bytes of random data in an object no page uses: a large
    file that is still a real PDF."""
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(pages)).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i in range(pages):
        lines = b" ".join(
            b"(Page %d, line %d: a mentor's notes on the draft.) Tj T*" % (i + 1, n)
            for n in range(40)
        )
        stream = b"BT /F1 11 Tf 14 TL 56 760 Td " + lines + b" ET"
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (4 + 2 * i + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    if padding:
        filler = os.urandom(padding)
        objects.append(b"<< /Length %d >>\nstream\n" % len(filler) + filler + b"\nendstream")
    return pdf_from_objects(objects)


def docx(paragraphs: int = 60) -> bytes:
    from docx import Document

    document = Document()
    document.add_heading("Essay draft", level=1)
    for n in range(paragraphs):
        document.add_paragraph(
            f"Paragraph {n + 1}. The argument develops here, with a citation and a "
            "sentence long enough to wrap over more than one line of the page."
        )
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def multipart(field: str, filename: str, content_type: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with one file field, and its Content-Type."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
    ).encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _spread(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def _percentiles(values: list[float]) -> dict:
    from bench import stats

    summary = stats.summarize(values)
    return {
        k: (round(v, 1) if isinstance(v, float) else v)
        for k, v in summary.items()
        if k in ("count", "p50", "p95", "max")
    }


# --- People ------------------------------------------------------------------------------


def _people(token: str):
    """A platform admin (the uploader) and a student in a group; the admin's
    API token and a logged-in session for its socket."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from rest_framework.authtoken.models import Token

    from accounts.models import Role, User
    from accounts.sessions import SessionStore
    from messaging import services
    from messaging.models import ConversationType

    password = make_password("bench-password-not-secret")
    sender = User.objects.create(
        email=f"files-{token}-0@bench.test",
        display_name=f"Files {token} admin",
        role=Role.ADMIN,
        password=password,
    )
    other = User.objects.create(
        email=f"files-{token}-1@bench.test",
        display_name=f"Files {token} student",
        role=Role.STUDENT,
        password=password,
    )
    conversation = services.create_conversation(
        creator=sender, kind=ConversationType.GROUP, participants=[other], title=f"Files {token}"
    )
    api_token, _ = Token.objects.get_or_create(user=sender)
    session = SessionStore()
    session[SESSION_KEY] = str(sender.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = sender.get_session_auth_hash()
    session.create()
    return sender, conversation, api_token.key, session.session_key


# --- Figure 1: upload to ack ------------------------------------------------------------


class _Socket:
    """A logged-in socket of the uploader (websockets' sync client)."""

    def __init__(self, port: int, cookie: str):
        from websockets.sync.client import connect

        self._closing = contextlib.ExitStack()
        self.ws = self._closing.enter_context(
            connect(
                f"ws://127.0.0.1:{port}/ws/",
                additional_headers={"Cookie": cookie},
                origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
                open_timeout=30,
                max_size=2**22,
            )
        )
        self.recv_type("hello")

    def recv_type(self, frame_type: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            frame = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if frame["type"] == frame_type:
                return frame
            if frame["type"] == "error":
                raise RuntimeError(f"the server answered {frame}")

    def close(self) -> None:
        self._closing.close()


def upload_to_ack(
    *, port: int, conversation_id: str, token: str, cookie: str, data: bytes, repeat: int
) -> dict:
    """Figure 1: ``repeat`` uploads sent, alternating with as many baseline
    requests of the same body; medians, and their ratio per repetition."""
    import requests

    base = f"http://127.0.0.1:{port}"
    body, content_type = multipart("file", "draft.pdf", "application/pdf", data)
    headers = {"Authorization": f"Token {token}", "Content-Type": content_type}
    upload_url = f"{base}/api/conversations/{conversation_id}/attachments/"
    baseline_url = f"{base}/api/bench-no-such-endpoint/"
    session = requests.Session()
    socket = _Socket(port, cookie)

    def baseline() -> float:
        started = time.perf_counter()
        answer = session.post(baseline_url, data=body, headers=headers, timeout=120)
        elapsed = time.perf_counter() - started
        if answer.status_code != 404:
            raise RuntimeError(f"baseline: expected 404, got {answer.status_code}")
        return elapsed * 1000

    def parley() -> tuple[float, float]:
        started = time.perf_counter()
        answer = session.post(upload_url, data=body, headers=headers, timeout=120)
        uploaded = time.perf_counter()
        if answer.status_code != 201:
            raise RuntimeError(f"upload: {answer.status_code} {answer.text[:500]}")
        client_id = str(uuid.uuid4())
        socket.ws.send(
            json.dumps(
                {
                    "type": "message.send",
                    "conversation_id": conversation_id,
                    "client_id": client_id,
                    "content": "",
                    "attachments": [answer.json()["id"]],
                }
            )
        )
        ack = socket.recv_type("ack")
        done = time.perf_counter()
        if ack["message"].get("client_id", client_id) != client_id:
            raise RuntimeError(f"ack for another message: {ack}")
        if not ack["message"].get("attachments"):
            raise RuntimeError(f"ack without the attachment: {ack}")
        return (done - started) * 1000, (uploaded - started) * 1000

    try:
        baseline()  # warm both paths: connections, imports, caches
        parley()
        runs = []
        for i in range(repeat):
            order = ("parley", "baseline") if i % 2 == 0 else ("baseline", "parley")
            run: dict = {}
            for name in order:
                if name == "baseline":
                    run["baseline_ms"] = round(baseline(), 1)
                else:
                    total, upload = parley()
                    run["upload_to_ack_ms"] = round(total, 1)
                    run["upload_response_ms"] = round(upload, 1)
            run["ratio"] = round(run["upload_to_ack_ms"] / run["baseline_ms"], 2)
            runs.append(run)
            log(
                f"files: upload to ack {run['upload_to_ack_ms']} ms (upload answered at "
                f"{run['upload_response_ms']} ms), baseline {run['baseline_ms']} ms, "
                f"×{run['ratio']}"
            )
    finally:
        socket.close()
        session.close()
    return {
        "bytes": len(data),
        "runs": runs,
        "summary": {k: _spread([r[k] for r in runs]) for k in runs[0]},
    }


# --- Figure 2: preview latency ------------------------------------------------------------


def _stored_pending(conversation, uploader, data: bytes, kind: str, content_type: str, ext: str):
    """An attachment as an upload leaves it: bytes stored, row pending."""
    import hashlib

    from messaging.files import storage
    from messaging.files.models import Attachment, PreviewState

    attachment_id = uuid.uuid4()
    key = storage.save(storage.key_for(attachment_id, "original", ext), data)
    return Attachment.objects.create(
        id=attachment_id,
        conversation=conversation,
        uploader=uploader,
        original_name=f"bench{ext}",
        name=f"bench{ext}",
        size=len(data),
        content_type=content_type,
        kind=kind,
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        preview_state=PreviewState.PENDING,
    )


def _renderer_alone(data: bytes, ext: str) -> float:
    """The baseline: the renderer on a local file, ms."""
    from django.conf import settings

    from messaging.files import rendering

    limits = settings.PARLEY
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as workdir:
        path = Path(workdir) / f"original{ext}"
        path.write_bytes(data)
        started = time.perf_counter()
        if ext != ".pdf":
            path = rendering.office_to_pdf(
                path, timeout=limits["PREVIEW_TIMEOUT_SECONDS"], outdir=workdir
            )
        rendering.render_pdf_isolated(
            path,
            max_pages=limits["PREVIEW_MAX_PAGES"],
            width=limits["PREVIEW_PAGE_WIDTH"],
            max_chars=limits["EXTRACTED_TEXT_MAX_CHARS"],
            timeout=limits["PREVIEW_TIMEOUT_SECONDS"],
        )
        return (time.perf_counter() - started) * 1000


def preview_latency(conversation, uploader, *, documents: int, timeout: float) -> dict:
    """Figure 2: per kind, ``documents`` previews through the worker, one at
    a time, each beside the renderer alone on the same bytes."""
    from messaging.files import tasks
    from messaging.files.models import Attachment, AttachmentKind, PreviewState

    kinds = {
        "pdf": (text_pdf(3), AttachmentKind.PDF, "application/pdf", ".pdf"),
        "docx": (
            docx(),
            AttachmentKind.OFFICE,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ".docx",
        ),
    }
    out = {}
    for name, (data, kind, content_type, ext) in kinds.items():
        task_ms, alone_ms, states = [], [], []
        for _ in range(documents):
            attachment = _stored_pending(conversation, uploader, data, kind, content_type, ext)
            started = time.perf_counter()
            tasks.make_preview.delay(str(attachment.pk))
            deadline = time.monotonic() + timeout
            state = PreviewState.PENDING
            while state == PreviewState.PENDING and time.monotonic() < deadline:
                time.sleep(0.02)
                state = (
                    Attachment.objects.filter(pk=attachment.pk)
                    .values_list("preview_state", flat=True)
                    .get()
                )
            task_ms.append((time.perf_counter() - started) * 1000)
            states.append(state)
            alone_ms.append(_renderer_alone(data, ext))
        task = _percentiles(task_ms)
        alone = _percentiles(alone_ms)
        out[name] = {
            "bytes": len(data),
            "states": {s: states.count(s) for s in set(states)},
            "through_task_ms": task,
            "renderer_alone_ms": alone,
            "p50_ratio": round(task["p50"] / alone["p50"], 2),
            "p95_ratio": round(task["p95"] / alone["p95"], 2),
        }
        log(
            f"files: {name} preview p50 {task['p50']} ms, p95 {task['p95']} ms through the "
            f"task; renderer alone p50 {alone['p50']} ms, p95 {alone['p95']} ms; "
            f"states {out[name]['states']}"
        )
    return out


# --- Both figures ---------------------------------------------------------------------------


def measure(
    *,
    upload_bytes: int,
    repeat: int,
    documents: int,
    child_env: dict,
    log_dir: Path,
    parts: tuple[str, ...] = ("upload", "previews"),
    timeout: float = 300,
) -> dict:
    """The figures in ``parts`` on the database Django is set up with.
    ``child_env`` is the environment of the server and the worker (the same
    database and Redis); they store files where this process does
    (``MEDIA_ROOT``)."""
    from django.conf import settings

    from bench.notifycost import Worker
    from config.celery import app

    env = {**child_env, "MEDIA_ROOT": settings.MEDIA_ROOT, "CELERY_TASK_ALWAYS_EAGER": "false"}
    results: dict = {}
    token = uuid.uuid4().hex[:6]
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False  # tasks go to the broker, as in production
    worker = None
    try:
        sender, conversation, api_token, session_key = _people(token)
        if "upload" in parts:
            results["upload_to_ack"] = _upload_figure(
                env, log_dir, conversation, api_token, session_key, upload_bytes, repeat
            )
        if "previews" in parts:
            app.control.purge()  # the uploads' preview tasks: not part of this figure
            worker = Worker(
                env,
                log_dir / f"files-worker-{token}.log",
                log_dir / f"files-tasks-{token}.jsonl",
                "solo",
                1,
            )
            worker.wait_ready()
            log(f"files: preview latency, {documents} PDFs and {documents} DOCX, one at a time")
            results["previews"] = preview_latency(
                conversation, sender, documents=documents, timeout=timeout
            )
            results["worker"] = {
                "command": "celery -A config worker --include bench.tasklog --pool solo"
            }
        results["limits"] = {
            k: settings.PARLEY[k]
            for k in ("PREVIEW_MAX_PAGES", "PREVIEW_PAGE_WIDTH", "PREVIEW_TIMEOUT_SECONDS")
        }
        return results
    finally:
        if worker is not None:
            worker.stop()
        app.conf.task_always_eager = eager


def _upload_figure(env, log_dir, conversation, api_token, session_key, upload_bytes, repeat):
    """Figure 1 with its own server process, stopped afterwards."""
    from django.conf import settings

    from bench import procs

    port = procs.free_port()
    server = procs.Server(
        [sys.executable, "-m", "config.server", "-b", "127.0.0.1", "-p", str(port)]
        + ["config.asgi:application"],
        env=env,
        port=port,
        log_dir=log_dir,
        name="files-server",
    )
    try:
        server.wait_listening()
        log(f"files: upload to ack, {upload_bytes / 2**20:.1f} MB, {repeat} × each way")
        return upload_to_ack(
            port=port,
            conversation_id=str(conversation.pk),
            token=api_token,
            cookie=f"{settings.SESSION_COOKIE_NAME}={session_key}",
            data=text_pdf(1, padding=upload_bytes),
            repeat=repeat,
        )
    except Exception:
        log(f"files: server log:\n{server.tail()}")
        raise
    finally:
        server.stop()


def table(results: dict) -> str:
    def spread(figure: dict, unit: str) -> str:
        return f"{figure['median']:g} {unit} ({figure['min']:g}–{figure['max']:g})"

    lines = []
    if "upload_to_ack" in results:
        upload = results["upload_to_ack"]["summary"]
        size = results["upload_to_ack"]["bytes"] / 2**20
        lines += [
            f"files: upload to ack, {len(results['upload_to_ack']['runs'])} repetitions "
            "(median, min–max)",
            f"  upload to ack ({size:.1f} MB)   {spread(upload['upload_to_ack_ms'], 'ms')}",
            f"    upload answered          {spread(upload['upload_response_ms'], 'ms')}",
            f"  baseline: same POST → 404  {spread(upload['baseline_ms'], 'ms')}",
            f"  ratio                      {spread(upload['ratio'], '×')}",
        ]
    for name, figure in results.get("previews", {}).items():
        task, alone = figure["through_task_ms"], figure["renderer_alone_ms"]
        lines += [
            f"files: {name} preview, {task['count']} one at a time",
            f"  through the task           p50 {task['p50']:g} ms, p95 {task['p95']:g} ms",
            f"  baseline: renderer alone   p50 {alone['p50']:g} ms, p95 {alone['p95']:g} ms",
            f"  ratio                      p50 ×{figure['p50_ratio']:g}, "
            f"p95 ×{figure['p95_ratio']:g}; states {figure['states']}",
        ]
    return "\n".join(lines)


# --- The two processes ------------------------------------------------------------------------


def _measure_main() -> None:
    """In the child: Django on the bench database; prints the JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--upload-bytes", type=int, required=True)
    parser.add_argument("--repeat", type=int, required=True)
    parser.add_argument("--documents", type=int, required=True)
    parser.add_argument("--parts", required=True)
    parser.add_argument("--log-dir", required=True)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parley-bench-media-") as media:
        # This process, the server and the worker store files in one folder.
        os.environ["MEDIA_ROOT"] = media
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        result = measure(
            upload_bytes=options.upload_bytes,
            repeat=options.repeat,
            documents=options.documents,
            child_env=dict(os.environ),
            log_dir=Path(options.log_dir),
            parts=tuple(options.parts.split(",")),
        )
    json.dump(result, sys.stdout)


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench files",
        description="Upload-to-ack time of one large file against the same POST answered 404, "
        "and preview latency of PDFs and DOCX through the task against the renderer alone.",
    )
    parser.add_argument("--upload-mb", type=float, default=10.0, help="file size, MB (10)")
    parser.add_argument("--repeat", type=int, default=5, help="uploads each way (5)")
    parser.add_argument("--documents", type=int, default=20, help="PDFs and DOCX each (20)")
    parser.add_argument(
        "--only", default="upload,previews", help="comma list of upload, previews (both)"
    )
    parser.add_argument("--out", help="results file (default bench/results/files-<time>.json)")
    args = parser.parse_args(argv)
    args.only = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = set(args.only) - {"upload", "previews"}
    if unknown or not args.only:
        parser.error(f"--only takes upload and/or previews, not {sorted(unknown)}")
    return args


def cli(argv) -> int:
    """``python -m bench files``: a fresh database, the child, the table."""
    from bench import childrun

    args = parse_args(argv)
    return childrun.run(
        scenario="files",
        database=DATABASE,
        child_args=[
            "--upload-bytes",
            str(int(args.upload_mb * 2**20)),
            "--repeat",
            str(args.repeat),
        ]
        + ["--documents", str(args.documents), "--parts", ",".join(args.only)],
        argv=argv,
        table=table,
        out=args.out,
        # The child stores files in a temporary folder of its own.
        drop_env=["MEDIA_ROOT"],
        extra_results={"repeat": args.repeat},
    )


if __name__ == "__main__":
    _measure_main()
