"""Counting the links in a message, for the link limit of new accounts.

A link is anything a reader could follow or paste into a browser: an
``http(s)://`` address, a ``www.`` address, or a bare domain name with a
known top-level domain ("example.com", "shop.example.co.uk/sale"). Bare
names are matched against a list of common top-level domains rather than
any letters after a dot, so "e.g.", "i.e.", "v2.1" or "end.Next" are not
links; an e-mail address is not a link either. Nor is a bare name whose
last part starts a sentence ("done.Be there": ``_is_sentence_break``).
"""

import re
import unicodedata

# The generic domains spam uses most and every two-letter country code
# people are likely to type (not every one: "is", "my", "am" or "me" after
# a missing space would count ordinary words).
_TOP_LEVEL_DOMAINS = frozenset(
    {
        "com",
        "net",
        "org",
        "info",
        "biz",
        "edu",
        "gov",
        "mil",
        "int",
        "name",
        "pro",
        "mobi",
        "app",
        "dev",
        "io",
        "ai",
        "co",
        "tv",
        "cc",
        "gg",
        "ly",
        "xyz",
        "online",
        "site",
        "top",
        "shop",
        "store",
        "club",
        "live",
        "link",
        "click",
        "space",
        "website",
        "tech",
        "email",
        "news",
        "blog",
        "fun",
        "win",
        "vip",
        "bet",
        "casino",
        "loan",
        "money",
        "cash",
        "icu",
        "buzz",
        "rest",
        "cyou",
        "sbs",
        "cfd",
        "uk",
        "us",
        "ca",
        "au",
        "nz",
        "ie",
        "de",
        "fr",
        "es",
        "pt",
        "nl",
        "be",
        "ch",
        "at",
        "se",
        "dk",
        "fi",
        "pl",
        "cz",
        "sk",
        "hu",
        "ro",
        "bg",
        "gr",
        "tr",
        "ru",
        "ua",
        "by",
        "kz",
        "cn",
        "jp",
        "kr",
        "tw",
        "hk",
        "sg",
        "in",
        "id",
        "th",
        "vn",
        "ph",
        "br",
        "ar",
        "cl",
        "pe",
        "mx",
        "za",
        "ng",
        "ke",
        "eg",
        "ae",
        "sa",
        "il",
        "ir",
        "pk",
        "eu",
        "asia",
    }
)

_DOMAIN = (
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    rf"(?:{'|'.join(sorted(_TOP_LEVEL_DOMAINS, key=len, reverse=True))})"
    r"(?![a-z0-9-])"
)
_LINK = re.compile(
    r"https?://\S+"
    r"|(?<![\w@.-])www\.\S+"
    rf"|(?<![\w@.-])(?P<domain>{_DOMAIN})(?![@\w])(?::\d{{1,5}})?(?P<path>/\S*)?",
    re.IGNORECASE,
)


def _is_sentence_break(match: re.Match[str]) -> bool:
    """A bare name whose last part has a capital while the name is not all
    capitals, and no path: a missing space after a full stop ("finished.In
    the morning", "see you.At 5", "Thanks.Us too"), not a link. Many
    top-level domains are words ("in", "at", "be", "us", "win", "live").
    "example.com", "Example.com", "EXAMPLE.COM" and "evil.IO/x" are links."""
    domain = match.group("domain")
    if domain is None or match.group("path"):
        return False
    top_level = domain.rsplit(".", 1)[1]
    return any(char.isupper() for char in top_level) and not domain.isupper()


def count_links(text: str) -> int:
    """How many links ``text`` holds (fullwidth letters and dots count as
    ordinary ones)."""
    return sum(
        1
        for match in _LINK.finditer(unicodedata.normalize("NFKC", text))
        if not _is_sentence_break(match)
    )
