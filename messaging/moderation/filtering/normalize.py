"""Text → the forms that content rules are matched against.

People who want a word past a filter disguise it: capitals, accents,
zero-width characters between the letters, look-alike letters from other
scripts (Cyrillic "а", Greek "ο"), fullwidth or mathematical letters, digits
and signs for letters ("b4d", "$hit"), stretched letters ("baaaad"), and
letters spaced out ("b a d", "b.a.d"). The rules' terms go through the same
steps as the text, so a term and its disguises meet in one form.

Ordinary words must not match: a term matches whole words of the folded
text only (``rules``), so "Scunthorpe", "assessment" or "classic" never
match the rude words inside them; digits and signs count as letters only
inside a word that has real letters ("2024" and "100%" stay digits, a
closing "!" stays punctuation); spaced-out letters are joined only where
the joined letters make a term (``spaced_runs``).
"""

import re
import unicodedata
from dataclasses import dataclass

# Characters that render as nothing (or nearly) and are slipped between
# letters: Unicode's format characters (category Cf: soft hyphen, ZWSP,
# ZWNJ, ZWJ, word joiner, BOM, bidi controls, tag characters) plus the ones
# categorised as marks or letters that still show nothing.
_INVISIBLE_EXTRA = {
    0x034F,  # combining grapheme joiner
    0x115F,  # hangul choseong filler
    0x1160,  # hangul jungseong filler
    0x3164,  # hangul filler
    0xFFA0,  # halfwidth hangul filler
    0x180E,  # mongolian vowel separator
}


def _is_invisible(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) == "Cf"
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF  # variation selectors supplement
        or code in _INVISIBLE_EXTRA
    )


# Letters of other scripts drawn like Latin ones (after casefolding; NFKC
# has already turned fullwidth and mathematical letters into Latin).
HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "і": "i",
        "ї": "i",
        "ѕ": "s",
        "ј": "j",
        "ԁ": "d",
        "һ": "h",
        "ӏ": "l",
        "ԛ": "q",
        "ԝ": "w",
        "ү": "y",
        "ɡ": "g",
        # Greek
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        # Latin look-alikes that casefolding and NFKD leave alone
        "ı": "i",
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ħ": "h",
        "ß": "ss",
    }
)

# Digits and signs written for letters ("leetspeak"). "1", "!" and "|"
# stand for "i" or "l": they become AMBIGUOUS, which a term's "i" and "l"
# both accept (``term_regex``).
AMBIGUOUS = "\u0131"  # dotless i: a letter, so the word stays one word
_LEET = {
    "0": "o",
    "1": AMBIGUOUS,
    "!": AMBIGUOUS,
    "|": AMBIGUOUS,
    "3": "e",
    "4": "a",
    "@": "a",
    "5": "s",
    "$": "s",
    "7": "t",
}
# A run of letters, digits and the signs above: one word, possibly disguised.
_WORDISH = re.compile(r"(?:[^\W_]|[$@!|])+")
_LETTER = re.compile(r"[^\W\d_]")
# Three or more of the same letter: "baaaad", "shiiit", "asssss".
_STRETCHED = re.compile(r"([^\W\d_])\1{2,}")


def fold(text: str) -> str:
    """Case, width, accents, invisible characters and look-alike letters
    folded away: the form pattern rules are matched against, and the base
    of ``skeleton``. Digits and punctuation are kept as they are."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(char for char in text if not _is_invisible(char))
    text = text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in decomposed if not unicodedata.combining(char))
    return text.translate(HOMOGLYPHS)


def _unleet_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if not _LETTER.search(word):
        return word  # a number or a price: "2024", "100", "$5"
    # A closing "!" is punctuation ("wow!"), a closing "$" a letter ("a$$").
    body = word.rstrip("!|")
    return "".join(_LEET.get(char, char) for char in body) + word[len(body) :]


def unleet(text: str) -> str:
    """Digits and signs inside words that have letters read as the letters
    they stand for ("b4d" → "bad", "$h1t" → "shıt"); numbers stay numbers."""
    return _WORDISH.sub(_unleet_word, text)


@dataclass(frozen=True)
class Forms:
    """The forms of one text that rules are matched against."""

    folded: str  # ``fold``: pattern rules
    # Letters stretched to three or more squeezed to one ("baaad" → "bad")
    # and to two ("asssss" → "ass"): term rules try both.
    squeezed: tuple[str, ...]
    # Spaced-out letters joined ("b a d" → "bad"), each run on its own
    # (``spaced_runs``): a term must match a whole run.
    spaced: tuple[str, ...]


def skeleton(text: str) -> str:
    """``fold`` then ``unleet``: the form a term and its disguises share."""
    return unleet(fold(text))


def squeeze(text: str, keep: int) -> str:
    """Runs of three or more of one letter cut to ``keep`` letters."""
    return _STRETCHED.sub(lambda match: match.group(1) * keep, text)


# Single characters each followed by one separator: "b a d", "b.a.d",
# "b-4-d", "s_h_1_t". Digits and signs count, as in ``unleet``. No
# lookaround: a run is taken whole in one pass (a lookahead at its end would
# make a long "a a a … ab" cost time in the square of its length), and its
# ends are checked after.
_SPACED = re.compile(r"(?:[^\W_]|[$@!|])(?:[ .\-_*~+/·•](?:[^\W_]|[$@!|]))+")
_WORD_CHAR = re.compile(r"[^\W_]|[$@!|]")
# One-letter words that may stand before spaced-out letters: "a b a d idea".
_ONE_LETTER_WORDS = ("a", "i")


def spaced_runs(folded: str) -> tuple[str, ...]:
    """The runs of three or more spaced-out single characters in ``folded``
    that have at least one letter, joined and read as letters ("b 4 d" →
    "bad"); with a leading one-letter word ("a b a d") also the run without
    it (up to two such words). A term must match a whole run (``rules``): "c l a s s" is "class",
    never "ass"."""
    runs: list[str] = []
    for match in _SPACED.finditer(folded):
        start, end = match.span()
        chars = match.group(0)[::2]  # one character, one separator, …
        # A first or last character that is part of a longer word ("ab a b
        # a", "b a d ok") is not spaced out.
        if start > 0 and _WORD_CHAR.match(folded, start - 1):
            chars = chars[1:]
        if end < len(folded) and _WORD_CHAR.match(folded, end):
            chars = chars[:-1]
        if len(chars) < 3 or not _LETTER.search(chars):
            continue  # too short, or numbers: "3 4 5 5"
        joined = "".join(_LEET.get(char, char) for char in chars)
        runs.append(joined)
        # At most two such words ("i a b a d"): a long run of them is no
        # sentence, and each copy costs its length.
        for _ in range(2):
            if len(joined) <= 3 or joined[0] not in _ONE_LETTER_WORDS:
                break
            joined = joined[1:]
            runs.append(joined)
    return tuple(runs)


def forms(text: str) -> Forms:
    folded = fold(text)
    skeletal = unleet(folded)
    squeezed = tuple(dict.fromkeys((skeletal, squeeze(skeletal, 1), squeeze(skeletal, 2))))
    spaced = tuple(
        dict.fromkeys(
            variant
            for run in spaced_runs(folded)
            for variant in (run, squeeze(run, 1), squeeze(run, 2))
        )
    )
    return Forms(folded=folded, squeezed=squeezed, spaced=spaced)


def term_regex(term: str) -> str | None:
    """The regular expression (no word boundaries) for one term of a term
    rule, in the skeleton's alphabet: an "i" or "l" also accepts what "1",
    "!" and "|" became; whitespace accepts any separators. None for a term
    without a letter or digit to match."""
    words = skeleton(term).split()
    if not any(char.isalnum() for word in words for char in word):
        return None
    parts = []
    for word in words:
        pieces = []
        for char in word:
            if char in ("i", "l"):
                pieces.append(f"[{char}{AMBIGUOUS}]")
            elif char == AMBIGUOUS:
                pieces.append(f"[il{AMBIGUOUS}]")
            else:
                pieces.append(re.escape(char))
        parts.append("".join(pieces))
    return r"[\W_]+".join(parts)


def repeat_key(text: str) -> str:
    """The form two sends are compared in for the repeat rule: folded, with
    whitespace runs as one space and none at the ends."""
    return " ".join(fold(text).split())
