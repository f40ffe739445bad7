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
    assert validation.parse_uuids([str(value), value], what="ids") == [value]
    with pytest.raises(InvalidInput, match=r"ids\[\] must be a UUID"):
        validation.parse_uuids([str(value), "nope"], what="ids")
    with pytest.raises(InvalidInput, match="must be a list"):
        validation.parse_uuids(str(value), what="ids")


@pytest.mark.parametrize("bad", [-1, "2", 1.5, True, None])
def test_bad_seq_is_refused(bad):
    with pytest.raises(InvalidInput, match="seq must be a whole number"):
        validation.clean_seq(bad)


def test_seq_and_optional_seq():
    assert validation.clean_seq(0) == 0
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
