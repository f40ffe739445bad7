"""Request bodies are JSON, and only JSON.

A form or multipart body gets ``415 unsupported_media_type``: the API's
fields are read as the socket reads them (a seq is a JSON integer, a list of
ids a JSON array), which a form cannot say, and a cross-site HTML form cannot
produce a body the API reads.

``json.loads`` raises ``RecursionError`` rather than ``ValueError`` on deep
nesting (60,000 ``[`` is enough); DRF's parser catches only the latter, so
the request would end in a 500. Here it is malformed JSON like any other:
``400 invalid``. DRF reads a JSON body through ``request.body``, so it has
Django's size limit (``DATA_UPLOAD_MAX_MEMORY_SIZE``: ``413 too_large``,
``messaging.api.errors``).
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None


PARSER_CLASSES = [JSONParser]
