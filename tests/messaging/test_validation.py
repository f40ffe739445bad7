"""messaging.validation: what the socket's command handlers, the API's
fields and the pages parse before a service or selector is called. Each bad
value gets a clear ``InvalidInput`` with its documented code."""

import uuid

import pytest
from django.conf import settings

from messaging import validation
from messaging.errors import InvalidInput

LIMIT = settings.PARLEY["MAX_CONTENT_CHARS"]

# name: (content, message pattern, code)
BAD_CONTENT = {
    "empty": ("", "cannot be empty", "invalid"),
    "whitespace": (" \n\t ", "cannot be empty", "invalid"),
    "too-long": ("x" * (LIMIT + 1), f"at most {LIMIT} characters", "too_long"),
    "int-content": (42, "content must be text", "invalid"),
    "none-content": (None, "content must be text", "invalid"),
    "bytes-content": (b"hi", "content must be text", "invalid"),
    "list-content": (["hi"], "content must be text", "invalid"),
    "nul-content": ("a\x00b", "NUL", "invalid"),
}


@pytest.mark.parametrize("name", BAD_CONTENT.keys())
def test_bad_content_is_refused_with_its_code(name):
    content, pattern, code = BAD_CONTENT[name]
    with pytest.raises(InvalidInput, match=pattern) as raised:
        validation.clean_content(content)
    assert raised.value.code == code
    assert str(raised.value) == raised.value.message


def test_content_is_kept_as_written_up_to_the_limit():
    assert validation.clean_content(" hi \n") == " hi \n"
    assert validation.clean_content("y" * LIMIT) == "y" * LIMIT


def test_limits_are_read_at_call_time(monkeypatch):
    monkeypatch.setitem(settings.PARLEY, "MAX_CONTENT_CHARS", 3)
    with pytest.raises(InvalidInput, match="at most 3 characters"):
        validation.clean_content("four")


@pytest.mark.parametrize("bad", ["not-a-uuid", "abc", "", 7, None, 1.5, ["x"], b"0" * 16])
def test_bad_uuid_is_refused_naming_the_field(bad):
    with pytest.raises(InvalidInput, match="conversation_id must be a UUID") as raised:
        validation.parse_uuid(bad, what="conversation_id")
    assert raised.value.code == "invalid"


def test_uuid_from_text_or_uuid():
    value = uuid.uuid4()
    assert validation.parse_uuid(value, what="x") is value
    assert validation.parse_uuid(str(value), what="x") == value
    assert validation.parse_uuid(value.hex.upper(), what="x") == value
    # Every spelling RFC 9562 reads: braces, and its URN in any case.
    for spelling in (f"{{{value}}}", f"urn:uuid:{value}", f"URN:UUID:{str(value).upper()}"):
        assert validation.parse_uuid(spelling, what="x") == value
        assert validation.echo_id(spelling) == str(value)
    assert validation.parse_uuids([str(value), value], what="ids") == [value]
    with pytest.raises(InvalidInput, match=r"ids\[\] must be a UUID"):
        validation.parse_uuids([str(value), "nope"], what="ids")
    with pytest.raises(InvalidInput, match="must be a list"):
        validation.parse_uuids(str(value), what="ids")


@pytest.mark.parametrize("bad", [-1, "2", 1.5, True, None, 2**63, 10**400])
def test_bad_seq_is_refused(bad):
    with pytest.raises(InvalidInput, match="seq must be a whole number"):
        validation.clean_seq(bad)


def test_seq_and_optional_seq():
    assert validation.clean_seq(0) == 0
    assert validation.clean_seq(2**63 - 1) == validation.MAX_SEQ
    assert validation.clean_optional_seq(None, what="after_seq") is None
    with pytest.raises(InvalidInput, match="after_seq must be a whole number"):
        validation.clean_optional_seq(-3, what="after_seq")


def test_title_is_stripped_and_bounded():
    assert validation.clean_title("  Study group ") == "Study group"
    assert validation.clean_title("   ") == ""
    with pytest.raises(InvalidInput, match="at most 200"):
        validation.clean_title("t" * 201)
    with pytest.raises(InvalidInput, match="title must be text"):
        validation.clean_title(5)


def test_page_size_defaults_and_is_capped(monkeypatch):
    assert validation.clean_page_size(None) == settings.PARLEY["HISTORY_PAGE_SIZE"]
    monkeypatch.setitem(settings.PARLEY, "HISTORY_MAX_PAGE_SIZE", 4)
    assert validation.clean_page_size(1000) == 4
    assert validation.clean_page_size(2) == 2


@pytest.mark.parametrize("bad", [0, -1, "10", True, 2.5])
def test_bad_page_size_is_refused(bad):
    with pytest.raises(InvalidInput, match="limit must be a whole number"):
        validation.clean_page_size(bad)


def test_history_goes_one_way():
    validation.clean_history_cursors(1, None)
    validation.clean_history_cursors(None, 5)
    validation.clean_history_cursors(None, None)
    with pytest.raises(InvalidInput, match="not both"):
        validation.clean_history_cursors(1, 5)


# --- The text rule ------------------------------------------------------------------

# name: (text, one_line, what the refusal names)
REFUSED_TEXT = {
    "nul": ("a\x00b", False, "NUL (U+0000, character 2)"),
    "lone-high-surrogate": ("half \ud83d", False, "a lone surrogate (U+D83D, character 6)"),
    "lone-low-surrogate": ("\udc00", False, "a lone surrogate (U+DC00, character 1)"),
    "escape": ("red \x1b[31m", False, "a control character (U+001B, character 5)"),
    "bell": ("\x07", False, "a control character (U+0007, character 1)"),
    "form-feed": ("a\x0cb", False, "a control character (U+000C, character 2)"),
    "delete": ("a\x7f", False, "a control character (U+007F, character 2)"),
    "c1": ("a\x85", False, "a control character (U+0085, character 2)"),
    "noncharacter": ("\ufdd0", False, "a noncharacter (U+FDD0, character 1)"),
    "bom-reversed": ("x\ufffe", False, "a noncharacter (U+FFFE, character 2)"),
    "last-bmp-noncharacter": ("x\uffff", False, "a noncharacter (U+FFFF, character 2)"),
    "newline-in-a-name": ("Sam\nStudent", True, "a line break or tab (U+000A, character 4)"),
    "tab-in-a-name": ("Sam\tS", True, "a line break or tab (U+0009, character 4)"),
    "line-separator": ("a\u2028b", True, "a line break or tab (U+2028, character 2)"),
    "override-in-a-name": ("\u202eevil", True, "a bidirectional control (U+202E, character 1)"),
    "isolate-in-a-name": ("x\u2067y", True, "a bidirectional control (U+2067, character 2)"),
}


@pytest.mark.parametrize("name", REFUSED_TEXT.keys())
def test_the_text_rule_refuses_naming_field_and_character(name):
    text, one_line, named = REFUSED_TEXT[name]
    with pytest.raises(InvalidInput) as raised:
        validation.check_text(text, what="field", one_line=one_line)
    assert raised.value.code == "invalid"
    assert raised.value.message == f"field must not contain {named}."


@pytest.mark.parametrize(
    "text",
    [
        "line one\nline two\r\n\tindented",  # a message may have lines and tabs
        "\U0001f600 \U0001f469\u200d\U0001f4bb",  # emoji, joined ones too
        "\u05e9\u05dc\u05d5\u05dd \u200f(RTL) \u0645\u0631\u062d\u0628\u0627",  # RTL, with a mark
        "\u202eright to left\u202c",  # a message may embed direction controls
        "\u00e9\u00fc\u4e2d\u6587 \ufeff",
    ],
)
def test_the_text_rule_keeps_ordinary_text_of_a_message(text):
    assert validation.check_text(text, what="content") is text
    assert validation.clean_content(text) == text


def test_every_user_text_passes_the_rule():
    with pytest.raises(InvalidInput, match="content must not contain a lone surrogate"):
        validation.clean_content("x\ud800")
    with pytest.raises(InvalidInput, match="title must not contain a line break"):
        validation.clean_title("Study\ngroup")
    with pytest.raises(InvalidInput, match="display_name must not contain NUL"):
        validation.clean_display_name("Sam\x00")


def test_display_name_is_stripped_required_and_bounded():
    assert validation.clean_display_name("  Sam S.  ") == "Sam S."
    for blank in ("", "   "):
        with pytest.raises(InvalidInput, match="A display name is required"):
            validation.clean_display_name(blank)
    assert validation.clean_display_name("n" * 150) == "n" * 150
    with pytest.raises(InvalidInput, match="at most 150 characters"):
        validation.clean_display_name("n" * 151)
    with pytest.raises(InvalidInput, match="display_name must be text"):
        validation.clean_display_name(None)


# --- resume cursors --------------------------------------------------------------------


def test_resume_cursors_are_keyed_by_conversation_however_spelled():
    one, two = uuid.uuid4(), uuid.uuid4()
    parsed = validation.clean_resume_cursors(
        {
            str(one): 5,
            str(two).upper(): 0,
            one.hex: 3,
            f"{{{one}}}": 9,
            f"urn:uuid:{one}": 4,
            "nope": 1,
            str(uuid.uuid4()): -1,
        }
    )
    assert parsed.cursors == {one: 3, two: 0}  # the lowest cursor of each
    assert list(parsed.cursors) == [one, two]  # in the order first given
    assert [(given, error.code) for given, error in parsed.refused][0] == ("nope", "invalid")
    assert len(parsed.refused) == 2


def test_resume_cursors_are_capped():
    cap = validation.MAX_RESUME_CURSORS
    ids = [str(uuid.uuid4()) for _ in range(cap + 1)]
    assert len(validation.clean_resume_cursors(dict.fromkeys(ids[:cap], 0)).cursors) == cap
    with pytest.raises(InvalidInput, match=f"up to {cap} conversation ids"):
        validation.clean_resume_cursors(dict.fromkeys(ids, 0))
    for bad in (None, [], "x", 5):
        with pytest.raises(InvalidInput, match="cursors must map"):
            validation.clean_resume_cursors(bad)


def test_ids_are_echoed_canonical():
    value = uuid.uuid4()
    assert validation.echo_id(value.hex.upper()) == str(value)
    assert validation.echo_id(f"urn:uuid:{value}") == str(value)
    assert validation.echo_id("n" * 100) == "n" * 64
