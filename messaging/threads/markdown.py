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
Mentions (``messaging.mentions``: ``metadata["mentions"]`` and
``mention_everyone``) are drawn as ``<span class="mention"
data-user-id="…">@Display Name</span>`` (``<span class="mention
mention-everyone">@all</span>``), matched by the mentions module's own
matcher in the text the parser leaves as text: never inside code, nor a
link's text or address.

Render time is bounded: the source is at most ``MAX_CONTENT_CHARS``, a
message nested deeper than ``MAX_NESTING`` is shown whole as text, and a
code block is highlighted only up to ``MAX_HIGHLIGHT_CHARS``.
"""

import functools
import html
import re
from collections.abc import Mapping

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight as pygments_highlight  # type: ignore[import-untyped]
from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]
from pygments.util import ClassNotFound  # type: ignore[import-untyped]

from messaging import mentions as mention_rules

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
    assert parser.linkify is not None, "linkify-it-py is installed with markdown-it-py[linkify]"
    parser.linkify.set({"fuzzy_link": False, "fuzzy_email": False})
    # Only the schemes the sanitizer keeps become links; anything else stays
    # text instead of turning into an anchor without an address.
    parser.linkify.add("ftp:", None)
    parser.linkify.add("//", None)
    parser.validateLink = _valid_link  # type: ignore[method-assign]
    parser.block.tokenize = _noting_depth(parser.block.tokenize)  # type: ignore[method-assign]
    parser.inline.ruler.before("link", "image_as_text", _image_as_text)
    parser.core.ruler.push("mentions", _mark_mentions)
    parser.add_render_rule("mention", _render_mention)
    return parser


def _noting_depth(tokenize):
    """markdown-it drops the rest of a block nested deeper than
    ``maxNesting`` (its guard against deep input); note when it does, so
    that ``render`` shows the whole message as text instead of losing
    words."""

    def tokenize_noting_depth(state, start_line: int, end_line: int) -> None:
        if state.level >= MAX_NESTING:
            line = state.skipEmptyLines(start_line)
            if line < end_line and state.sCount[line] >= state.blkIndent:
                state.env["too_deep"] = True
        tokenize(state, start_line, end_line)

    return tokenize_noting_depth


def _as_text(source: str) -> str:
    """The source as escaped text: paragraphs at blank lines, ``<br>`` at
    line breaks (what a message nested too deep shows)."""
    paragraphs = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", source)]
    return "\n".join(
        "<p>" + html.escape(p, quote=False).replace("\n", "<br>\n") + "</p>"
        for p in paragraphs
        if p.strip()
    )


_LINK_SCHEME = re.compile(r"^(?:https?|mailto):", re.IGNORECASE)


def _valid_link(url: str) -> bool:
    """Links (written, autolinked or by reference) to http, https and mailto
    addresses only; any other scheme, and relative addresses, stay text."""
    return bool(_LINK_SCHEME.match(url.strip()))


def _image_as_text(state, silent: bool) -> bool:
    """``![`` is text, so an image's source stays text entirely instead of
    becoming "!" and a link (with the image rule off, the link rule would
    take the ``[alt](url)`` after the "!")."""
    if state.src.startswith("![", state.pos):
        if not silent:
            state.pending += "!["
        state.pos += 2
        return True
    return False


def _mark_mentions(state) -> None:
    """Split the inline text outside links into text and ``mention`` tokens
    where the mentions matcher finds a mentioned name (``env["mentions"]``:
    casefolded name -> (user id or None for everyone, name shown))."""
    wanted: Mapping[str, tuple[str | None, str]] = state.env.get("mentions") or {}
    if not wanted:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children = []
        in_link = 0
        for token in block.children:
            if token.type == "link_open":
                in_link += 1
            elif token.type == "link_close":
                in_link -= 1
            if token.type != "text" or in_link or "@" not in token.content:
                children.append(token)
                continue
            children.extend(_split_text(token, wanted))
        block.children = children


def _split_text(token, wanted: Mapping[str, tuple[str | None, str]]) -> list:
    text = token.content
    pieces = []
    at = 0
    for match in mention_rules.matches(text, names=wanted.keys()):
        user_id, shown = wanted[match.group(1).casefold()]
        if match.start() > at:
            pieces.append(_text_token(token, text[at : match.start()]))
        mention = Token("mention", "span", 0)
        mention.meta = {"user_id": user_id, "shown": shown}
        pieces.append(mention)
        at = match.end()
    if not pieces:
        return [token]
    if at < len(text):
        pieces.append(_text_token(token, text[at:]))
    return pieces


def _text_token(like, content: str):
    token = Token("text", "", 0)
    token.content = content
    token.level = like.level
    return token


def _render_mention(_renderer, tokens, idx, _options, _env) -> str:
    meta = tokens[idx].meta
    shown = html.escape("@" + meta["shown"])
    if meta["user_id"] is None:
        return f'<span class="mention mention-everyone">{shown}</span>'
    user_id = html.escape(meta["user_id"])
    return f'<span class="mention" data-user-id="{user_id}">{shown}</span>'


def _wanted(mentions, names: Mapping[str, str] | None) -> dict[str, tuple[str | None, str]]:
    """The names to draw as mentions: each mentioned member's display name
    (from ``names`` or ``mentions.names``), and ``@all``/``@here`` when the
    message mentions everyone (both keywords were allowed then)."""
    if mentions is None:
        return {}
    known = {**getattr(mentions, "names", {}), **(names or {})}
    wanted: dict[str, tuple[str | None, str]] = {}
    if mentions.everyone:
        for keyword in mention_rules.EVERYONE:
            wanted[keyword] = (None, keyword)
    for user_id in mentions.user_ids:
        name = (known.get(str(user_id)) or "").strip()
        # The first member with a name wins when two share it (the text
        # cannot say which one was meant; both were notified).
        if name and wanted.get(name.casefold(), (None,))[0] is None:
            wanted[name.casefold()] = (str(user_id), name)
    return wanted


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


# A message of words alone, one line: letters and digits (any script),
# spaces between them, and ``, . ? ! ; : ' " -``, starting with a letter or
# digit but not as a numbered list item ("1. "). Nothing in it means
# anything to Markdown (links need "//" or "@", fuzzy links are off) or
# needs escaping, so its HTML is one paragraph of itself, without the
# parser and the sanitizer (a tenth of a millisecond of a send's CPU).
# ``tests/messaging/test_markdown_plain.py`` holds it equal to the full render.
_PLAIN = re.compile(r"(?!\d{1,9}[.)](?: |\Z))[^\W_](?:[^\W_]|[ ,.?!;:'\"-])*(?<! )\Z")


def render(
    source: str,
    *,
    mentions: "mention_rules.Mentions | None" = None,
    names: Mapping[str, str] | None = None,
) -> str:
    """The stored HTML of a message's text (``""`` for ``""``).

    ``mentions`` (what ``messaging.mentions`` found in ``source``) are drawn
    as mention spans, named by ``names`` (user id -> display name; by
    default the names ``mentions`` carries). Without them, no spans."""
    if not source:
        return ""
    if _PLAIN.match(source):
        return f"<p>{source}</p>"
    env = {"mentions": _wanted(mentions, names)}
    rendered = _parser().render(source, env)
    if env.get("too_deep"):
        rendered = _as_text(source)
    return sanitize(rendered).strip()


def plain_text(rendered: str) -> str:
    """The words of rendered HTML without its markup (search indexes this)."""
    return html.unescape(nh3.clean(rendered, tags=set())).strip()


def words_of(message) -> str:
    """A message's words as readers see them: its rendered text without
    markup (``**word**`` is "word"); its source when nothing was rendered
    (a system message, one stored before rich text)."""
    return plain_text(message.content_html) if message.content_html else message.content
