"""A message of plain words skips the Markdown parser and the sanitizer
(``markdown._PLAIN``): its HTML must be exactly what the full render gives,
for every text the shortcut takes, and the shortcut must refuse every text
in which Markdown would find something."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messaging import mentions
from messaging.threads import markdown


def full_render(source: str) -> str:
    """The render without the shortcut."""
    env = {"mentions": markdown._wanted(None, None)}
    return markdown.sanitize(markdown._parser().render(source, env)).strip()


# Letters and digits of several scripts (Unicode digits and superscripts
# included), the punctuation the shortcut allows, and what it must refuse.
WORDS = "abcXYZ019éßЖж中文٣²ǅ"
ALLOWED = " ,.?!;:'\"-"
REFUSED = "\n\t*_~`[]()<>&#|\\/@+=!\u00a0😀"
# Fragments that mean something to Markdown or to linkify.
TRICKY = [
    "1. ",
    "1) ",
    "12.",
    "www.example.com",
    "http://x.io",
    "https:",
    "mailto:a@b.io",
    "a@b.io",
    "--",
    "  ",
    "x.y",
    ":",
]

texts = st.lists(
    st.one_of(
        st.sampled_from(list(WORDS + ALLOWED + REFUSED)),
        st.sampled_from(TRICKY),
    ),
    min_size=1,
    max_size=12,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(texts)
def test_the_shortcut_renders_what_the_full_render_does(source):
    assert markdown.render(source) == full_render(source)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(WORDS + ALLOWED)), min_size=1, max_size=40).map("".join))
def test_plain_words_take_the_shortcut_and_render_the_same(source):
    if markdown._PLAIN.match(source):
        assert full_render(source) == f"<p>{source}</p>"


@pytest.mark.parametrize(
    "source",
    [
        "Hello world",
        "Meeting at 10:30, ok?",
        'don\'t say "never"',
        "Über café - ja",
        "1.5 is fine",
    ],
)
def test_ordinary_sentences_take_the_shortcut(source):
    assert markdown._PLAIN.match(source)
    assert markdown.render(source) == full_render(source) == f"<p>{source}</p>"


@pytest.mark.parametrize(
    "source",
    ["1. item", "1) item", "7.", "a_b", "**x**", "x  ", " x", "a\nb", "see http://x.io", "hi @all"],
)
def test_anything_markdown_reads_is_refused(source):
    assert not markdown._PLAIN.match(source)


def test_a_mention_still_renders_as_one():
    found = mentions.Mentions(everyone="all")
    assert "mention-everyone" in markdown.render("hi @all", mentions=found)
