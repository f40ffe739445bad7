"""Request bodies are JSON, and only JSON.

A form or multipart body gets ``415 unsupported_media_type``: the API's
fields are read as the socket reads them (a seq is a JSON integer, a list of
ids a JSON array), which a form cannot say, and a cross-site HTML form cannot
produce a body the API reads.

``json.loads`` raises ``RecursionError`` rather than ``ValueError`` on deep
nesting (60,000 ``[`` is enough); DRF's parser catches only the latter, so
the request would end in a 500. Here it is malformed JSON like any other:
``400 invalid``, as is what the socket calls ``bad_json`` (``1e999``).
DRF reads a JSON body through ``request.body``, so it has Django's size
limit (``DATA_UPLOAD_MAX_MEMORY_SIZE``: ``413 too_large``,
``messaging.api.errors``).
"""

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from messaging import strict_json


class JSONParser(parsers.JSONParser):
    """DRF's, reading as the socket reads a frame (``messaging.strict_json``:
    no ``NaN``, ``Infinity`` or ``1e999``)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return strict_json.loads(stream.read().decode(encoding))
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        except ValueError as error:  # UnicodeDecodeError included
            raise ParseError(f"JSON parse error - {error}") from None


PARSER_CLASSES = [JSONParser]
