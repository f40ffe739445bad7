"""The OpenAPI schema states what the server enforces, no more, no less.

drf-spectacular derives most of it from the serializers; this module adds
what it cannot see:

- the text rules of ``messaging.validation`` as JSON Schema (``minLength``,
  ``maxLength`` read from the limits when the schema is built, and a
  ``pattern`` for "not blank" and "no NUL", with Python's own whitespace);
- lowercase UUIDs in paths (Django's ``uuid`` converter; anything else is a
  404 from the catch-all);
- bodies validated whole, PATCH included (``InputSerializer``);
- query parameters that exclude each other (``QuerySerializer.exclusive``),
  as one form-exploded object parameter whose schema says so;
- the errors every operation can answer: ``400`` for a bad query or body
  (``invalid``, or a body that is not JSON), ``413``/``415`` for a body,
  ``401`` without credentials, ``403`` for a session's write without its
  CSRF token, ``404`` for an id in the path.

``tests/api/test_schemathesis.py`` holds the server to it.
"""

import functools
import sys

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema

from messaging import limits, validation
from messaging.api.serializers import QuerySerializer

LOWER_UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


@functools.cache
def _whitespace() -> str:
    """Python's whitespace (what ``str.strip()`` removes) as a regex
    character class body, escaped as both Python and ECMAScript read it."""
    return "".join(f"\\u{ord(c):04x}" for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())


_NUL = "\\u0000"


def _escape(code: int) -> str:
    return f"\\u{code:04x}"


@functools.cache
def _refused(one_line: bool) -> str:
    """What the text rule refuses (``validation.refused_pattern``) as a regex
    character class body. Surrogates are left out: decoded JSON text holds
    none (the server refuses a lone ``\\ud800`` escape all the same)."""
    refused = validation.refused_pattern(one_line=one_line)
    # The rule refuses characters of the Basic Multilingual Plane only, which
    # ECMAScript's \\uXXXX escapes (the schema's regex dialect) can name.
    codes = [c for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF and refused.fullmatch(chr(c))]
    assert not any(refused.fullmatch(chr(c)) for c in range(0x10000, sys.maxunicode + 1))
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(
        _escape(low) if low == high else f"{_escape(low)}-{_escape(high)}" for low, high in ranges
    )


def no_nul_pattern() -> str:
    """Text without NUL."""
    return f"^[^{_NUL}]*$"


def not_blank_pattern() -> str:
    """Text with something besides whitespace, and nothing the text rule
    refuses (``validation.clean_content``)."""
    refused = _refused(False)
    return f"^[^{refused}]*[^{refused}{_whitespace()}][^{refused}]*$"


def stripped_at_most_pattern(limit: int) -> str:
    """Text of at most ``limit`` characters once stripped of whitespace,
    holding nothing the one-line text rule refuses (``validation.clean_title``;
    empty is allowed)."""
    ws = _whitespace()
    refused = _refused(True)
    edge = f"[^{refused}{ws}]"
    if limit >= 2:
        inner = f"{edge}([^{refused}]{{0,{limit - 2}}}{edge})?"
    else:
        inner = edge if limit == 1 else ""
    return f"^[{ws}]*({inner})?[{ws}]*$"


def one_line_at_most_pattern(limit: int) -> str:
    """Text of at most ``limit`` characters holding nothing the one-line
    text rule refuses (kept as written: not stripped)."""
    return f"^[^{_refused(True)}]{{0,{limit}}}$"


class ContentFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "messaging.api.serializers.ContentField"

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": limits.max_content_chars(),
            "pattern": not_blank_pattern(),
            "description": "Not blank; none of the characters the text rule refuses "
            "(docs/protocol.md, Text); kept as written.",
        }


class TitleFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "messaging.api.serializers.TitleField"

    def map_serializer_field(self, auto_schema, direction):
        limit = limits.max_title_chars()
        return {
            "type": "string",
            "pattern": stripped_at_most_pattern(limit),
            "description": f"Stripped of surrounding whitespace, then at most {limit} "
            "characters; none of the characters the one-line text rule refuses.",
        }


class TextFieldSchema(OpenApiSerializerFieldExtension):
    """``TextField`` in a body: any text but the empty string, without NUL
    (DRF's CharField refuses NUL)."""

    target_class = "messaging.api.serializers.TextField"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema.update({"minLength": 1, "pattern": no_nul_pattern()})
        return schema


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}

_GENERIC_ERRORS = {
    "body": {
        "400": "invalid: a field is missing, of the wrong type or out of range, or the body "
        "is not JSON (malformed, or nested too deeply)",
        "413": "too_large: the body is over the server's request size limit",
        "415": "unsupported_media_type: the body is not JSON, a form or multipart",
    },
    "query": {"400": "invalid: a query parameter is missing, empty or out of range"},
    "path": {"404": "not_found: no such object (or the id in the path is not a UUID)"},
    "auth": {"401": "not_authenticated or authentication_failed"},
    "csrf": {"403": "forbidden: not allowed, or a session's write without its CSRF token"},
}


class ParleyAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        for parameter in parameters:
            if parameter["in"] == "path" and parameter["schema"].get("format") == "uuid":
                parameter["schema"]["pattern"] = LOWER_UUID_PATTERN
        self._fold_exclusive_query(operation)
        self._add_generic_errors(operation)
        return operation

    def _map_basic_serializer(self, serializer, direction):
        """A body whose ``exclusive_fields`` exclude each other (a send's
        ``content`` and ``e2e``) says so (``not`` both); with
        ``one_of_exclusive_required``, one of them is required."""
        schema = super()._map_basic_serializer(serializer, direction)
        exclusive = list(getattr(serializer, "exclusive_fields", ()))
        if exclusive and direction == "request":
            required = [name for name in schema.get("required", []) if name not in exclusive]
            if required:
                schema["required"] = required
            else:
                schema.pop("required", None)
            schema["not"] = {"required": exclusive}
            if getattr(serializer, "one_of_exclusive_required", False):
                schema["anyOf"] = [{"required": [name]} for name in exclusive]
        return schema

    def _fold_exclusive_query(self, operation: dict) -> None:
        """The parameters of a query serializer with ``exclusive`` names, as
        one object parameter (``style: form``, ``explode: true``, so on the
        wire they are the same ``?a=…&b=…``) whose schema forbids giving
        them together."""
        for serializer in self.get_override_parameters():
            if not (isinstance(serializer, type) and issubclass(serializer, QuerySerializer)):
                continue
            exclusive = serializer.exclusive
            if not exclusive:
                continue
            names = set(serializer().fields)
            folded = [
                p for p in operation["parameters"] if p["in"] == "query" and p["name"] in names
            ]
            operation["parameters"] = [p for p in operation["parameters"] if p not in folded]
            properties = {}
            for parameter in folded:
                schema = dict(parameter["schema"])
                if parameter.get("description"):
                    schema["description"] = parameter["description"]
                properties[parameter["name"]] = schema
            operation["parameters"].append(
                {
                    "in": "query",
                    "name": serializer.__name__,
                    "style": "form",
                    "explode": True,
                    "schema": {
                        "type": "object",
                        "properties": properties,
                        "required": [p["name"] for p in folded if p.get("required")],
                        "not": {"required": list(exclusive)},
                    },
                    "description": f"{' and '.join(exclusive)} exclude each other.",
                }
            )
            if not operation["parameters"][-1]["schema"]["required"]:
                del operation["parameters"][-1]["schema"]["required"]

    def _add_generic_errors(self, operation: dict) -> None:
        responses = operation["responses"]
        kinds = []
        if "requestBody" in operation:
            kinds.append("body")
        locations = {p["in"] for p in operation.get("parameters", [])}
        if "query" in locations:
            kinds.append("query")
        if "path" in locations:
            kinds.append("path")
        security = operation.get("security", [])
        if any(requirement for requirement in security):
            kinds.append("auth")
            if self.method not in ("GET", "HEAD", "OPTIONS"):
                kinds.append("csrf")
        for kind in kinds:
            for code, description in _GENERIC_ERRORS[kind].items():
                responses.setdefault(code, _error(description))
        operation["responses"] = dict(sorted(responses.items()))
