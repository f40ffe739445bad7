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
_SIGNS = frozenset("$@!|")
# A run of letters, digits and the signs above: one word, possibly disguised.
_WORDISH = re.compile(r"(?:[^\W_]|[$@!|])+")
_LETTER = re.compile(r"[^\W\d_]")
# Three or more of the same letter: "baaaad", "shiiit", "asssss".
_STRETCHED = re.compile(r"([^\W\d_])\1{2,}")


# A capital "I" inside a word with lower-case letters is drawn like an "l"
# in most fonts ("HeII" for "hell"): ``fold(capital_i=True)`` marks it with
# Latin iota, which no other step changes, and then makes it AMBIGUOUS. A
# word's first letter ("Illinois", "I'll") and all-capital words ("AI",
# "HELL") are left alone.
_LETTERS = re.compile(r"[^\W\d_]+")
_CAPITAL_I_MARK = "\u0269"


def _mark_capital_i(match: re.Match[str]) -> str:
    word = match.group(0)
    if "I" not in word[1:] or not any(char.islower() for char in word):
        return word
    return word[0] + word[1:].replace("I", _CAPITAL_I_MARK)


def fold(text: str, *, capital_i: bool = False) -> str:
    """Case, width, accents, invisible characters and look-alike letters
    folded away: the form pattern rules are matched against, and the base
    of ``skeleton``. Digits and punctuation are kept as they are.
    ``capital_i``: a capital "I" inside a mixed-case word reads as "i" or
    "l" (AMBIGUOUS), for term rules."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(char for char in text if not _is_invisible(char))
    if capital_i:
        text = _LETTERS.sub(_mark_capital_i, text)
    text = text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in decomposed if not unicodedata.combining(char))
    text = text.translate(HOMOGLYPHS)
    if capital_i:
        text = text.replace(_CAPITAL_I_MARK, AMBIGUOUS)
    return text


def _unleet_word(match: re.Match[str]) -> str:
    word = match.group(0)
    # A closing "!" is punctuation ("wow!"), a closing "$" a letter ("a$$").
    body = word.rstrip("!|")
    letters = len(_LETTER.findall(body))
    if not letters:
        return word  # a number or a price: "2024", "100", "$5"
    # A code is mostly digits around a letter ("A55", "S21", "4b", "5pm"):
    # its digits stay digits, or "Galaxy A55" would read "galaxy ass". A
    # disguised word has at least two letters or signs, and no more digits
    # than that ("b4d", "r4p3", "$h1t", "a$$", "@ss").
    lettery = letters + sum(1 for char in body if char in _SIGNS)
    if lettery < 2 or lettery < sum(1 for char in body if char.isdigit()):
        return word
    return "".join(_LEET.get(char, char) for char in body) + word[len(body) :]


def unleet(text: str) -> str:
    """Digits and signs inside words read as the letters they stand for
    ("b4d" → "bad", "$h1t" → "shıt"); numbers stay numbers, and so do codes
    that are mostly digits ("A55", "4b")."""
    return _WORDISH.sub(_unleet_word, text)


@dataclass(frozen=True)
class Forms:
    """The forms of one text that rules are matched against."""

    folded: str  # ``fold``: pattern rules
    # The skeleton (the first: pattern rules try it too), then the skeleton
    # with spaced-out runs joined in place (``despaced``); each also with
    # letters stretched to three or more squeezed to one ("baaad" → "bad")
    # and to two ("asssss" → "ass"). Term rules search them for whole words.
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
# "b-4-d", "s_h_1_t", "b. a. d.", "b, a, d", one per line ("b\na\nd").
# Digits and signs count, as in ``unleet``. No lookaround: a run is taken
# whole in one pass (a lookahead at its end would make a long "a a a … ab"
# cost time in the square of its length), and its ends are checked after.
# Separators are short (at most a sign and a few spaces), so a long stretch
# of spaces costs no backtracking over its length.
_SPACED_SEPARATOR = r"(?:\s?[.,\-_*~+/·•]\s{0,2}|\s{1,3})"
_SPACED = re.compile(rf"(?:[^\W_]|[$@!|])(?:{_SPACED_SEPARATOR}(?:[^\W_]|[$@!|]))+")
_WORD_CHAR = re.compile(r"[^\W_]|[$@!|]")
# One-letter words that may stand before spaced-out letters: "a b a d idea".
_ONE_LETTER_WORDS = ("a", "i")


@dataclass(frozen=True)
class _Run:
    """Spaced-out characters: where they stand and what they spell."""

    start: int
    end: int
    joined: str  # the characters without separators, read as letters


def _runs(folded: str) -> list[_Run]:
    """The runs of three or more spaced-out single characters in ``folded``
    that have at least one letter."""
    runs: list[_Run] = []
    for match in _SPACED.finditer(folded):
        chars = list(_WORD_CHAR.finditer(folded, *match.span()))
        # A first or last character that is part of a longer word ("ab a b
        # a", "b a d ok") is not spaced out.
        if match.start() > 0 and _WORD_CHAR.match(folded, match.start() - 1):
            chars = chars[1:]
        if match.end() < len(folded) and _WORD_CHAR.match(folded, match.end()):
            chars = chars[:-1]
        text = "".join(char.group(0) for char in chars)
        if len(text) < 3 or not _LETTER.search(text):
            continue  # too short, or numbers: "3 4 5 5"
        joined = "".join(_LEET.get(char, char) for char in text)
        runs.append(_Run(chars[0].start(), chars[-1].end(), joined))
    return runs


def spaced_runs(folded: str) -> tuple[str, ...]:
    """The runs of three or more spaced-out single characters in ``folded``
    that have at least one letter, joined and read as letters ("b 4 d" →
    "bad"); with a leading one-letter word ("a b a d") also the run without
    it (up to two such words). A term must match a whole run (``rules``):
    "c l a s s" is "class", never "ass"."""
    found: list[str] = []
    for run in _runs(folded):
        joined = run.joined
        found.append(joined)
        # At most two such words ("i a b a d"): a long run of them is no
        # sentence, and each copy costs its length.
        for _ in range(2):
            if len(joined) <= 3 or joined[0] not in _ONE_LETTER_WORDS:
                break
            joined = joined[1:]
            found.append(joined)
    return tuple(found)


def despaced(folded: str) -> str:
    """``folded`` with each run of spaced-out characters joined in place
    ("k i l l yourself" → "kill yourself"), so a term can start or end in
    one and go on in ordinary words; whole-word matching still holds ("s k
    i l l yourself" is "skill yourself")."""
    pieces: list[str] = []
    position = 0
    for run in _runs(folded):
        pieces += [folded[position : run.start], run.joined]
        position = run.end
    return "".join(pieces) + folded[position:]


def forms(text: str) -> Forms:
    folded = fold(text)
    for_terms = fold(text, capital_i=True)
    skeletal = unleet(for_terms)
    rejoined = unleet(despaced(for_terms))
    squeezed = tuple(
        dict.fromkeys(
            variant
            for form in (skeletal, rejoined)
            for variant in (form, squeeze(form, 1), squeeze(form, 2))
        )
    )
    spaced = tuple(
        dict.fromkeys(
            variant
            for run in spaced_runs(for_terms)
            for variant in (run, squeeze(run, 1), squeeze(run, 2))
        )
    )
    return Forms(folded=folded, squeezed=squeezed, spaced=spaced)


def term_regex(term: str) -> str | None:
    """The regular expression (no word boundaries) for one term of a term
    rule, in the skeleton's alphabet: an "i" or "l" also accepts what "1",
    "!" and "|" became; between a phrase's words any separators, or none
    ("killyourself"). None for a term without a letter or digit to match."""
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
    return r"[\W_]*".join(parts)


def repeat_key(text: str) -> str:
    """The form two sends are compared in for the repeat rule: folded, with
    whitespace runs as one space and none at the ends."""
    return " ".join(fold(text).split())
