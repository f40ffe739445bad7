"""The search box's language (messaging/search/query.py): pure parsing."""

import datetime

import pytest

from messaging.errors import InvalidInput
from messaging.search.query import ParsedQuery, parse


def test_plain_words_are_terms_cut_at_punctuation():
    parsed = parse("Budget  report, draft-two snake_case ___")
    assert parsed.terms == ("Budget", "report", "draft", "two", "snake", "case")
    assert parsed.has_text()


def test_quoted_phrases_and_a_single_quoted_word():
    parsed = parse('"quarterly budget report" "alone" words')
    assert parsed.phrases == ("quarterly budget report",)
    assert parsed.terms == ("alone", "words")


def test_an_unclosed_quote_runs_to_the_end():
    assert parse('"open phrase here').phrases == ("open phrase here",)


def test_negated_words_and_phrases():
    parsed = parse('budget -draft -"old plan" -x-y')
    assert parsed.terms == ("budget",)
    assert parsed.excluded == ("draft", "old plan", "x y")


def test_only_negations_is_a_query_without_text():
    parsed = parse("-draft")
    assert parsed.excluded == ("draft",)
    assert not parsed.has_text()


def test_operators():
    parsed = parse(
        'from:maria@parley.test from:me from:"Sam Student" in:"Team Alpha" '
        "in:1b4e28ba-2fa1-11d2-883f-0016d3cca427 has:file HAS:Image has:link "
        "is:unread is:mention before:2026-11-30 after:2026-11-01"
    )
    assert parsed == ParsedQuery(
        from_users=("maria@parley.test", "me", "Sam Student"),
        in_conversations=("Team Alpha", "1b4e28ba-2fa1-11d2-883f-0016d3cca427"),
        has=frozenset({"file", "image", "link"}),
        is_=frozenset({"unread", "mention"}),
        before=datetime.date(2026, 11, 30),
        after=datetime.date(2026, 11, 1),
    )
    assert not parsed.has_text()


def test_unknown_operators_are_plain_text():
    parsed = parse("re:budget 10:30 http://example.org/plan")
    assert parsed.terms == ("re", "budget", "10", "30", "http", "example", "org", "plan")
    assert not parsed.from_users


def test_repeated_words_count_once():
    assert parse("budget budget Budget").terms == ("budget", "Budget")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("has:video", "has:file"),
        ("is:starred", "is:mention"),
        ("before:yesterday", "YYYY-MM-DD"),
        ("after:2026-02-30", "YYYY-MM-DD"),
        ("before:2026-1-5", "YYYY-MM-DD"),
        ("from:", "needs a value"),
        ('in:""', "needs a value"),
        ("budget from: maria", "needs a value"),
        ("-from:maria", "cannot be negated"),
        ("", "nothing to search for"),
        ("   ", "nothing to search for"),
        ('"" - !!', "nothing to search for"),
        ("budget\x00", "NUL (U+0000, character 7)"),
        ("from:a\x00@b.test", "NUL"),
        ("in:\x1b[2J", "a control character"),
    ],
)
def test_bad_queries_are_invalid_with_a_clear_message(query, says):
    with pytest.raises(InvalidInput) as raised:
        parse(query)
    assert raised.value.code == "invalid"
    assert says in raised.value.message


def test_over_long_queries_are_invalid(settings):
    settings.PARLEY = {**settings.PARLEY, "SEARCH_MAX_QUERY_CHARS": 10}
    assert parse("x" * 10).terms == ("x" * 10,)
    with pytest.raises(InvalidInput, match="longer than 10"):
        parse("x" * 11)


def test_fts5_and_tsquery_syntax_is_just_words():
    parsed = parse('budget* NEAR(a b) OR & ! | ( ) ^ "x" AND')
    assert parsed.terms == ("budget", "NEAR", "a", "b", "OR", "x", "AND")
