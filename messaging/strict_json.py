"""JSON as Parley reads it, on the socket (frames) and the REST API (bodies)
alike: standard JSON only. ``NaN``, ``Infinity`` and a number too large for
a float (``1e999``) are not JSON numbers; Python's ``json`` reads them all.
A number spelled with more than Python's 4,300 digits is refused too, float
or not (docs/protocol.md, ``bad_json``; docs/api.md, ``400 invalid``)."""

import json
import math
from typing import Any

MAX_NUMBER_DIGITS = 4300


def _number(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError("number too long")
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def _whole_number(text: str) -> int:
    # Python's own limit may be lifted (PYTHONINTMAXSTRDIGITS=0): not ours.
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError("number too long")
    return int(text)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_float=_number, parse_int=_whole_number, parse_constant=_not_json)


def loads(text: str) -> Any:
    """``text`` decoded; ``ValueError`` when it is not standard JSON, and
    ``RecursionError`` when nested deeper than the parser goes."""
    return _DECODER.decode(text)
