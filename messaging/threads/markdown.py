"""Rich text: the documented Markdown subset, rendered once on the server.

``render`` turns a message's source into HTML when the message is written
(sent or edited) and the result is stored beside the source
(``Message.content_html``), so pages, live frames, emails and search
snippets show the same thing and no client parses Markdown.

The subset (docs/protocol.md, "Rich text"): **bold**, *italic*,
~~strikethrough~~, `inline code`, fenced code blocks (highlighted here, at
render time, by Pygments, when the fence names a language it knows), block
quotes, ordered and bulleted lists, links and bare URLs (auto-linked), and
mentions. Everything else stays text: raw HTML, images (a remote image would
tell its server who read the message), headings, rules and tables.

markdown-it-py renders with raw HTML off; nh3 then sanitizes the result
against an allow-list of tags, attributes and URL schemes as a second line,
and gives every link ``rel="noopener noreferrer nofollow"`` and a new tab.
Render time is bounded: the source is at most ``MAX_CONTENT_CHARS``, nesting
deeper than ``MAX_NESTING`` stays text, and a code block is highlighted only
up to ``MAX_HIGHLIGHT_CHARS``.
"""

import functools
import html

import nh3
from markdown_it import MarkdownIt
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

# Deeper block quotes or lists render as text (markdown-it's own guard).
MAX_NESTING = 20
# Longer code blocks are shown without colours.
MAX_HIGHLIGHT_CHARS = 20_000

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "span",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},
    "pre": {"class"},
    "span": {"class", "data-user-id"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"

_formatter = HtmlFormatter(nowrap=True, classprefix="hl-")


def _highlight(code: str, language: str, _attrs) -> str:
    """Pygments' spans for a fenced block whose language it knows; ``""``
    otherwise, and markdown-it escapes the code itself."""
    if not language or len(code) > MAX_HIGHLIGHT_CHARS:
        return ""
    try:
        lexer = get_lexer_by_name(language.strip().lower()[:40])
    except ClassNotFound:
        return ""
    return pygments_highlight(code, lexer, _formatter)


@functools.cache
def _parser() -> MarkdownIt:
    parser = MarkdownIt(
        "commonmark",
        {
            "html": False,
            "linkify": True,
            "breaks": True,
            "typographer": False,
            "highlight": _highlight,
            "maxNesting": MAX_NESTING,
        },
    )
    parser.enable(["strikethrough", "linkify"])
    parser.disable(["image", "heading", "lheading", "hr", "html_block", "html_inline"])
    # A fuzzy link ("example.com") needs its scheme to be a link.
    parser.linkify.set({"fuzzy_link": False, "fuzzy_email": False})
    return parser


def sanitize(markup: str) -> str:
    """``markup`` reduced to the allowed tags, attributes and URL schemes;
    every link gets ``rel`` and opens in a new tab."""
    return nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )


def render(source: str) -> str:
    """The stored HTML of a message's text (``""`` for ``""``)."""
    if not source:
        return ""
    return sanitize(_parser().render(source)).strip()


def plain_text(rendered: str) -> str:
    """The words of rendered HTML without its markup (search indexes this)."""
    return html.unescape(nh3.clean(rendered, tags=set())).strip()
