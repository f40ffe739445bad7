"""The files bench end to end at a tiny size: a real server process for the
upload, a real Celery worker on the test Redis for the previews. What is
asserted is that every figure was measured and every preview finished,
never a time."""

import subprocess
import sys

import pytest

from bench import filescost, procs
from tests import servers

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def test_the_preview_figure_runs_every_document_through_the_worker(media, tmp_path):
    from config.celery import app

    assert app.conf.broker_url.startswith("redis"), "needs the Redis broker"
    result = filescost.measure(
        upload_bytes=0,
        repeat=1,
        documents=2,
        child_env=servers.child_environment(),
        log_dir=tmp_path,
        parts=("previews",),
        timeout=120,
    )
    assert "upload_to_ack" not in result
    for kind in ("pdf", "docx"):
        figure = result["previews"][kind]
        assert figure["states"] == {"ready": 2}, figure
        assert figure["through_task_ms"]["count"] == 2
        assert figure["renderer_alone_ms"]["count"] == 2
        assert figure["p50_ratio"] > 0 and figure["p95_ratio"] > 0
    table = filescost.table(result)
    assert "pdf preview, 2 one at a time" in table
    assert "renderer alone" in table


def test_the_upload_figure_sends_a_file_until_its_ack(media, tmp_path):
    result = filescost.measure(
        upload_bytes=200_000,
        repeat=2,
        documents=0,
        child_env=servers.child_environment(),
        log_dir=tmp_path,
        parts=("upload",),
        timeout=120,
    )
    figure = result["upload_to_ack"]
    assert figure["bytes"] > 200_000
    assert len(figure["runs"]) == 2
    for run in figure["runs"]:
        assert run["upload_to_ack_ms"] >= run["upload_response_ms"] > 0
        assert run["baseline_ms"] > 0 and run["ratio"] > 0
    assert "baseline: same POST → 404" in filescost.table(result)


def test_the_bench_files_pdf_is_a_real_pdf_of_its_size():
    import pypdfium2 as pdfium

    data = filescost.text_pdf(3, padding=100_000)
    assert len(data) > 100_000
    document = pdfium.PdfDocument(data)
    assert len(document) == 3
    assert "Page 2, line 0" in document[1].get_textpage().get_text_bounded()


def test_bench_files_is_a_subcommand_with_its_options():
    out = subprocess.run(
        [sys.executable, "-m", "bench", "files", "--help"],
        cwd=procs.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    for option in ("--upload-mb", "--repeat", "--documents", "--only"):
        assert option in out.stdout
