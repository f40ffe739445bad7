"""Normalization and term matching: the disguises a blocked term must be
caught in, and the ordinary words that must never match one."""

import pytest

from messaging.moderation.filtering import links, normalize, rules

TERMS = ["ass", "shit", "cunt", "sex", "rape", "cock", "tit", "bad", "kill yourself", "hell"]
WORDS, WHOLE = rules.compile_terms(TERMS)


def matches(text: str) -> bool:
    forms = normalize.forms(text)
    return any(WORDS.search(form) for form in forms.squeezed) or any(
        WHOLE.fullmatch(run) for run in forms.spaced
    )


@pytest.mark.parametrize(
    "text",
    [
        "bad",
        "BAD",
        "Bad!",
        "that is bad.",
        "(bad)",
        "bäd",  # accent
        "b\u0301a\u0300d",  # combining marks
        "b\u200bad",  # zero-width space
        "b\u200cad",  # zero-width non-joiner
        "b\u200dad",  # zero-width joiner
        "b\u2060ad",  # word joiner
        "b\u00adad",  # soft hyphen
        "\ufeffbad",  # byte order mark
        "bad\ufe0f",  # variation selector
        "b\u0430d",  # Cyrillic а
        "\u0455hit",  # Cyrillic ѕ
        "\u0455h\u0456t",  # Cyrillic ѕ and і
        "b\u03b1d",  # Greek α
        "c\u03bfck",  # Greek ο
        "ｂａｄ",  # fullwidth
        "𝐛𝐚𝐝",  # mathematical bold
        "ⓑⓐⓓ",  # circled
        "b4d",
        "sh1t",
        "sh!t",
        "$hit",
        "a$$",
        "@ss",
        "4ss",
        "c0ck",
        "r4p3",
        "baaaad",
        "shiiiiit",
        "asssss",
        "b.a.d",
        "b a d",
        "b-a-d",
        "b_a_d",
        "s h 1 t",
        "a b a d idea",
        "k1ll yourself",
        "kill  yourself",
        "KILL_YOURSELF",
        "my_ass",
        "go to hell",
        # Capital I for l inside a mixed-case word
        "HeII",
        "go to HeIl",
        # Letters split by newlines, commas, full stops and spaces
        "b\na\nd",
        "b\r\na\r\nd",
        "b,a,d",
        "b, a, d",
        "b. a. d.",
        # A phrase's words run together, or half spaced out
        "killyourself",
        "KillYourself",
        "k i l l yourself",
        "kill y o u r s e l f",
        "k i l l y o u r s e l f",
        "k1llyourself",
        # Substitutions in words that read as words
        "r4p3",
        "b4d",
        "$h1t",
        "@ss",
        "a$$",
    ],
)
def test_disguised_terms_are_caught(text):
    assert matches(text)


# Rude words inside ordinary ones (the "Scunthorpe problem"), and ordinary
# text that the substitutions and spacing rules must leave alone.
@pytest.mark.parametrize(
    "text",
    [
        "Scunthorpe",
        "assessment",
        "classic",
        "class",
        "passive",
        "cocktail",
        "Hancock",
        "peacock",
        "Sussex",
        "Essex",
        "sextant",
        "therapist",
        "grape",
        "drape",
        "title",
        "petition",
        "constitution",
        "shiitake",
        "hello",
        "shell",
        "Michelle",
        "badge",
        "badminton",
        "Sinbad",
        "ambassador",
        "bass",
        "embassy",
        "The score was 3 4 5 5",
        "c l a s s",
        "Meeting at 10:30, room 4b",
        "Chapter 5.1",
        "2024-01-05",
        "100% done!",
        "A B C D",
        "$5 each",
        "wow!!!",
        "I skill yourself up",  # a term's words must be whole words too
        "helllo",
        "Brrr",
        # Codes that are mostly digits keep their digits
        "My Galaxy A55 broke",
        "room A55",
        "A55",
        "5h17",
        # Capital I: at a word's start, alone, or in an all-capital word
        "Hello",
        "HELLO",
        "I'll",
        "I'll be there",
        "Illinois",
        "ILL",
        "McIntosh",
        # Whole words still: a phrase's first word inside a longer one
        "skill yourself up",
        "skillyourself",
        "s k i l l yourself",
        "I skill yourself up",
        # Short lists and initials
        "a, b, c",
        "J. R. R. Tolkien",
        "x\ny\nz",
    ],
)
def test_ordinary_words_are_not_caught(text):
    assert not matches(text)


def test_numbers_stay_numbers_and_closing_punctuation_stays():
    assert normalize.unleet("2024 and 100") == "2024 and 100"
    assert normalize.unleet("galaxy a55 and room 4b") == "galaxy a55 and room 4b"
    assert normalize.unleet("wow!") == "wow!"
    assert normalize.unleet("b4d") == "bad"


def test_fold_keeps_digits_for_patterns():
    assert normalize.fold("Call ０７７００ ９００ １２３") == "call 07700 900 123"


def test_repeat_key_ignores_case_accents_and_spacing():
    assert normalize.repeat_key("  Buy NOW  café ") == normalize.repeat_key("buy now\ncafe")
    assert normalize.repeat_key("buy now") != normalize.repeat_key("buy now!")


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("no links here", 0),
        ("see https://example.com/a?b=c", 1),
        ("http://a.example and https://b.example", 2),
        ("www.example.org", 1),
        ("example.com", 1),
        ("shop.example.co.uk/sale", 1),
        ("EXAMPLE.COM", 1),
        ("ｅｘａｍｐｌｅ．ｃｏｍ", 1),
        ("https://www.example.com", 1),
        ("a.io, b.dev and c.xyz", 3),
        ("mail me at bob@example.com", 0),
        ("e.g. this, i.e. that", 0),
        ("version 2.1.3", 0),
        ("notes.zip and report.pdf", 0),
        ("end.Next sentence", 0),
        # A missing space after a full stop before a word that is also a
        # top-level domain: not a link
        ("I finished.In the morning", 0),
        ("see you.At 5", 0),
        ("done.Be there", 0),
        ("Thanks.Us too", 0),
        ("Great.Win for us", 0),
        # ...while links still count
        ("evil.io/x", 1),
        ("www.x.org", 1),
        ("https://example.In/page", 1),
        ("Example.com", 1),
        ("evil.IO/x", 1),
        ("shop.example.in", 1),
    ],
)
def test_links_are_counted(text, count):
    assert links.count_links(text) == count
