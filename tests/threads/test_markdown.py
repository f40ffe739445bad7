"""Rich text (messaging.threads.markdown): the documented subset renders,
everything else stays text, hostile input comes out sanitized and in
bounded time, and mentions are drawn where the mentions module finds them."""

import json
import re
import subprocess
import sys
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messaging import mentions
from messaging.models import ConversationType
from messaging.threads import markdown
from tests.messaging.helpers import send

ROOT = Path(__file__).resolve().parents[2]
MAX = 10_000  # MAX_CONTENT_CHARS' default

MENTION_CLASSES = {"mention", "mention-everyone"}
LINK_ATTRS = {"href", "title", "target", "rel"}


class _Audit(HTMLParser):
    """Every tag and attribute of a fragment, to check against the allow-list."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links = 0

    def handle_starttag(self, tag, attrs):
        if tag not in markdown.ALLOWED_TAGS:
            self.problems.append(f"tag {tag}")
            return
        allowed = LINK_ATTRS if tag == "a" else markdown.ALLOWED_ATTRIBUTES.get(tag, set())
        for name, value in attrs:
            if name not in allowed:
                self.problems.append(f"attribute {name} on {tag}")
            if name == "href":
                # What a browser takes for the scheme (tabs and newlines
                # are dropped before parsing): only the allowed ones.
                url = re.sub(r"[\t\n\r]", "", value or "").strip()
                scheme = urlsplit(url).scheme.lower()
                if scheme not in markdown.URL_SCHEMES:
                    self.problems.append(f"href {value}")
            if name == "class":
                for word in (value or "").split():
                    ok = (tag == "code" and word.startswith("language-")) or (
                        tag == "span"
                        and (word.startswith("hl-") or word in {"mention", "mention-everyone"})
                    )
                    if not ok:
                        self.problems.append(f"class {word} on {tag}")
        if tag == "a":
            self.links += 1
            given_attrs = dict(attrs)
            if given_attrs.get("rel") != markdown.LINK_REL or given_attrs.get("target") != "_blank":
                self.problems.append(f"link without rel/target: {attrs}")

    handle_startendtag = handle_starttag


def audit(rendered: str) -> _Audit:
    parser = _Audit()
    parser.feed(rendered)
    parser.close()
    return parser


def assert_safe(rendered: str) -> None:
    found = audit(rendered)
    assert found.problems == [], (found.problems, rendered[:500])
    assert markdown.sanitize(rendered) == rendered


HOSTILE = {
    "script": "<script>alert(1)</script><SCRIPT SRC=//x.y/a.js></SCRIPT>",
    "event handlers": '<img src=x onerror=alert(1)><a href="https://x.y" onclick="alert(1)">x</a>'
    '<p onmouseover="alert(1)">p</p>',
    "javascript link": (
        "[x](javascript:alert(1)) [y](JaVaScRiPt:alert(1)) [z](<javascript:alert(1)>)"
    ),
    "vbscript link": "[x](vbscript:msgbox(1))",
    "data link": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "autolinks": "<javascript:alert(1)> <vbscript:x> <data:text/html,<script>alert(1)</script>>",
    "reference links": (
        "[a][r] [b][s] [c]\n\n[r]: javascript:alert(1)\n[s]: data:text/html,x\n[c]: vbscript:x"
    ),
    "entities": "[x](&#106;avascript:alert(1)) [y](java&#x09;script:alert(1))"
    " [z](&#x6A;&#x61;vascript:x)"
    " &lt;script&gt; &#60;script&#62;alert(1)&#60;/script&#62; [w](javas&#99;ript:x)",
    "html attributes in links": '[x](https://x.y "a\\" onclick=\\"alert(1))',
    "svg": "<svg onload=alert(1)><math><style>x</style>",
    "nested quotes": ">" * MAX,
    "nested quotes spaced": "> " * (MAX // 2),
    "nested lists": "".join("  " * i + "- x\n" for i in range(120))[:MAX],
    "nested bullets": "- " * (MAX // 2),
    "nested ordered": "1. " * (MAX // 3),
    "huge table": ("| a " * 20 + "|\n" + "|---" * 20 + "|\n" + ("| 1 " * 20 + "|\n") * 200)[:MAX],
    "emphasis soup": ("*_~`" * MAX)[:MAX],
    "brackets": "[" * MAX,
    "link openers": "[a](" * (MAX // 4),
    "backtick runs": "".join("`" * i + " x " for i in range(1, 200))[:MAX],
    "backtick runs unbalanced": ("`" * 50 + "x" + "`" * 49 + " ") * (MAX // 101),
    "angle brackets": "<" * MAX,
    "autolink soup": ("<https://" * MAX)[:MAX],
    "bare urls": ("https://x.y/" + "a" * 30 + " ") * (MAX // 44),
    "emphasis pairs": "*a " * (MAX // 3),
    "fences": "```\n" * (MAX // 4),
    "control characters": "\x00\x01\x1b[31m\u202e\ufeff<scr\x00ipt>alert(1)</script>",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_comes_out_sanitized(name):
    rendered = markdown.render(HOSTILE[name])
    assert_safe(rendered)
    lowered = rendered.lower()
    assert "<script" not in lowered
    for scheme in ("javascript:", "vbscript:", "data:"):
        assert f'href="{scheme}' not in lowered


def test_hostile_links_stay_text_or_lose_their_href():
    rendered = markdown.render(HOSTILE["reference links"] + "\n\n" + HOSTILE["javascript link"])
    assert "href" not in rendered
    rendered = markdown.render(HOSTILE["data link"])
    assert "href" not in rendered


_TIMED = """
import os, sys, time, json
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from messaging.threads import markdown
source = json.loads(sys.stdin.read())
started = time.process_time()
markdown.render(source)
print(json.dumps({"cpu": time.process_time() - started}))
"""


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_renders_in_bounded_time(name):
    """A safety bound, not a benchmark: each render of a hostile input of up
    to MAX_CONTENT_CHARS finishes inside a fresh process given 20 s of wall
    time (Django's start included), so a super-linear blow-up fails the test
    and a loaded machine does not."""
    source = HOSTILE[name][:MAX]
    done = subprocess.run(
        [sys.executable, "-c", _TIMED],
        input=json.dumps(source),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1])["cpu"] < 5


# --- The subset ---------------------------------------------------------------

LINK = 'target="_blank" rel="noopener noreferrer nofollow"'


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("**bold** __bold__", "<p><strong>bold</strong> <strong>bold</strong></p>"),
        ("*italic* _italic_", "<p><em>italic</em> <em>italic</em></p>"),
        ("~~gone~~", "<p><s>gone</s></p>"),
        ("`a < b`", "<p><code>a &lt; b</code></p>"),
        ("```\n<b>x</b>\n```", "<pre><code>&lt;b&gt;x&lt;/b&gt;\n</code></pre>"),
        (
            "```nosuchlanguage\nx = 1\n```",
            '<pre><code class="language-nosuchlanguage">x = 1\n</code></pre>',
        ),
        ("> quoted\n> twice", "<blockquote>\n<p>quoted<br>\ntwice</p>\n</blockquote>"),
        ("1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>"),
        ("3. three\n4. four", '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>'),
        ("- a\n* b", "<ul>\n<li>a</li>\n</ul>\n<ul>\n<li>b</li>\n</ul>"),
        ("[site](https://example.com)", f'<p><a href="https://example.com" {LINK}>site</a></p>'),
        (
            "see https://example.com/a?b=1&c=2.",
            f'<p>see <a href="https://example.com/a?b=1&amp;c=2" {LINK}>'
            "https://example.com/a?b=1&amp;c=2</a>.</p>",
        ),
        (
            "<https://example.com>",
            f'<p><a href="https://example.com" {LINK}>https://example.com</a></p>',
        ),
        ("line one\nline two", "<p>line one<br>\nline two</p>"),
        ("para one\n\npara two", "<p>para one</p>\n<p>para two</p>"),
    ],
)
def test_supported_constructs(source, expected):
    assert markdown.render(source) == expected
    assert_safe(expected)


def test_fenced_code_with_a_known_language_is_highlighted():
    rendered = markdown.render("```python\ndef f():\n    return 1\n```")
    assert rendered.startswith('<pre><code class="language-python"><span class="hl-k">def</span>')
    assert '<span class="hl-nf">f</span>' in rendered
    assert_safe(rendered)
    # Too long to colour: still a code block, escaped, without spans.
    long = "x = 1\n" * (markdown.MAX_HIGHLIGHT_CHARS // 6 + 1)
    rendered = markdown.render(f"```python\n{long}```")
    assert rendered.startswith('<pre><code class="language-python">x = 1')
    assert "hl-" not in rendered


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("# heading\n## two", "<p># heading<br>\n## two</p>"),
        ("title\n=====", "<p>title<br>\n=====</p>"),
        ("![alt](ftp://x.y/i.png)", "<p>![alt](ftp://x.y/i.png)</p>"),
        (
            "[ftp](ftp://x.y/) [rel](/admin/) <ftp://x.y>",
            "<p>[ftp](ftp://x.y/) [rel](/admin/) &lt;ftp://x.y&gt;</p>",
        ),
        ("<b>bold</b> <img src=x>", "<p>&lt;b&gt;bold&lt;/b&gt; &lt;img src=x&gt;</p>"),
        ("<div>\nblock\n</div>", "<p>&lt;div&gt;<br>\nblock<br>\n&lt;/div&gt;</p>"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "<p>| a | b |<br>\n|---|---|<br>\n| 1 | 2 |</p>"),
        ("a\n\n---\n\nb", "<p>a</p>\n<p>---</p>\n<p>b</p>"),
        ("example.com and a@b.example", "<p>example.com and a@b.example</p>"),
        ("", ""),
    ],
)
def test_what_stays_text(source, expected):
    assert markdown.render(source) == expected


def test_an_image_stays_text_and_its_url_is_a_plain_link():
    rendered = markdown.render("![alt](https://example.com/i.png)")
    assert "<img" not in rendered
    assert rendered.startswith("<p>![alt](<a href=")


def test_plain_text_is_the_words_without_markup():
    rendered = markdown.render("**word** & `x<y` [site](https://e.example)")
    assert markdown.plain_text(rendered) == "word & x<y site"


# --- Mentions ---------------------------------------------------------------------

SAM = str(uuid.uuid4())
SAMMY = str(uuid.uuid4())
MEMBERS = [(SAM, "Sam Student"), (SAMMY, "Sam")]


def _mentions(text, everyone=True):
    return mentions.find_mentions(text, members=MEMBERS, everyone_allowed=everyone)


def test_mentions_become_spans_where_the_matcher_finds_them():
    text = "hi @sam student, @Sam and @all! ann@Sam Student.org"
    rendered = markdown.render(text, mentions=_mentions(text))
    assert rendered == (
        f'<p>hi <span class="mention" data-user-id="{SAM}">@Sam Student</span>, '
        f'<span class="mention" data-user-id="{SAMMY}">@Sam</span> and '
        '<span class="mention mention-everyone">@all</span>! ann@Sam Student.org</p>'
    )
    assert_safe(rendered)


def test_mentions_are_not_drawn_in_code_or_links():
    text = (
        "`@Sam Student` [@Sam Student](https://e.example/@Sam) https://e.example/@Sam\n\n"
        "```\n@Sam Student\n```\n**@Sam** @here"
    )
    found = _mentions(text)
    rendered = markdown.render(text, mentions=found)
    assert rendered.count('class="mention"') == 1
    assert f'<strong><span class="mention" data-user-id="{SAMMY}">@Sam</span></strong>' in rendered
    assert '<span class="mention mention-everyone">@here</span>' in rendered
    assert "<code>@Sam Student</code>" in rendered
    assert_safe(rendered)


def test_without_mentions_nothing_is_drawn():
    text = "@Sam Student @all"
    assert markdown.render(text) == "<p>@Sam Student @all</p>"
    # @all not allowed: plain text, as in the metadata.
    assert "mention" not in markdown.render(text, mentions=_mentions("@all", everyone=False))


def test_names_given_explicitly_are_shown():
    text = "@Sam Student"
    found = _mentions(text)
    rendered = markdown.render(text, mentions=found, names={SAM: "Sam Student"})
    assert f'data-user-id="{SAM}">@Sam Student<' in rendered


def test_a_name_with_markup_characters_is_escaped():
    evil = str(uuid.uuid4())
    members = [(evil, '<img src=x onerror="alert(1)">')]
    text = '@<img src=x onerror="alert(1)"> hi'
    found = mentions.find_mentions(text, members=members, everyone_allowed=False)
    assert found.user_ids == [evil]
    rendered = markdown.render(text, mentions=found)
    # The name comes out as text (markdown-it's own text is escaped too).
    assert "<img" not in rendered
    assert_safe(rendered)


@pytest.mark.django_db
def test_send_and_edit_store_the_rendered_mentions(assigned):
    from messaging import services

    mentor, student = assigned
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, title="Room", participants=[student]
    )
    name = student.display_name
    message = send(mentor, group, f"**hi** @{name} and `@{name}`")
    message.refresh_from_db()
    assert message.metadata["mentions"] == [str(student.pk)]
    assert message.content_html == (
        f'<p><strong>hi</strong> <span class="mention" data-user-id="{student.pk}">'
        f"@{name}</span> and <code>@{name}</code></p>"
    )
    services.edit_message(editor=mentor, message_id=message.pk, content="now @all _see_")
    message.refresh_from_db()
    assert message.content_html == (
        '<p>now <span class="mention mention-everyone">@all</span> <em>see</em></p>'
    )


# --- Properties -------------------------------------------------------------------

_markdownish = st.lists(
    st.sampled_from(
        [*"ab @*_~`[]()<>!#>-|:/\\&;\n 1.\"'=", "javascript:", "https://x.y/", "&#", "&#x6A;"]
    ),
    max_size=120,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), _markdownish))
def test_any_text_renders_to_what_the_sanitizer_leaves_unchanged(text):
    rendered = markdown.render(text)
    assert markdown.sanitize(rendered) == rendered
    found = audit(rendered)
    assert found.problems == []


@settings(max_examples=150, deadline=None)
@given(_markdownish)
def test_any_text_with_mentions_stays_sanitized(text):
    text = text + " @Sam Student @all"
    rendered = markdown.render(text, mentions=_mentions(text))
    assert markdown.sanitize(rendered) == rendered
    assert audit(rendered).problems == []
