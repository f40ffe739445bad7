"""The search bench at a tiny size, in-process on the test database: the
data set is made by the bench's SQL, every query kind finds something and
is timed the number of times asked. What is asserted are counts, never a
time (the million-message run is ``python -m bench search``, not a test)."""

import subprocess
import sys

import pytest

from bench import procs, searchcost

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_the_search_bench_builds_its_data_and_times_every_query_kind():
    from messaging.models import Message
    from messaging.search.models import SearchDocument

    data = searchcost.build(total=20_000, conversations=4)
    assert Message.objects.filter(conversation__title__startswith="Search bench").count() == 20_000
    assert SearchDocument.objects.filter(vector__isnull=False).count() == 20_000
    assert SearchDocument.objects.filter(has_file=True).exists()
    assert SearchDocument.objects.filter(has_link=True).exists()
    # The indexes dropped for the load are back.
    assert "message_search_vector_gin" in data["indexes_rebuilt"]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'message_search'")
        assert set(data["indexes_rebuilt"]) <= {row[0] for row in cursor.fetchall()}

    result = searchcost.measure(data=data, iterations=3, repeat=2)
    assert set(result) == set(searchcost.queries(data))
    for name, figure in result.items():
        assert [run["count"] for run in figure["runs"]] == [3, 3], name
        assert figure["p95_ms"] >= figure["p50_ms"] > 0, name
        # Each kind finds messages: the figure is of a search that works.
        assert figure["trace"]["hits"] > 0, name
        assert figure["trace"]["statements"], name
    assert result["single term, common"]["matching_rows"] > result["single term"]["matching_rows"]

    table = searchcost.table(
        {"data": data, "iterations": 3, "repeat": 2, "queries": result}, goal_ms=50
    )
    assert "20,000 messages in 4 conversations" in table
    for name in result:
        assert name in table


def test_the_vocabulary_is_fixed_and_has_no_repeats():
    words = searchcost.vocabulary()
    assert len(set(words)) == searchcost.VOCABULARY
    assert words == searchcost.vocabulary()


def test_bench_search_is_a_subcommand_with_its_options():
    out = subprocess.run(
        [sys.executable, "-m", "bench", "search", "--help"],
        cwd=procs.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    for option in ("--messages", "--conversations", "--iterations", "--repeat", "--keep"):
        assert option in out.stdout


def test_the_bench_vectors_are_the_ones_indexing_writes():
    """The bench's SQL stands in for punctuation as indexing does before
    ``to_tsvector`` (``backends.PARSER_SAFE``), so its vectors are the same."""
    from django.db import connection

    from messaging import limits
    from messaging.search.backends import PARSER_SAFE

    text = "Notes at https://example.test/notes/7 — a.txt x-y <b>bold</b>"
    source, target = searchcost._parser_safe()
    config = limits.search_config()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_tsvector(%s::regconfig, translate(%s, %s, %s))::text,"
            " to_tsvector(%s::regconfig, %s)::text",
            [config, text, source, target, config, text.translate(PARSER_SAFE)],
        )
        bench, service = cursor.fetchone()
    assert bench == service
