"""The API's JSON parser: DRF's, with a nesting limit (kept apart from api.py: DRF's
APIView reads DEFAULT_PARSER_CLASSES while it is being imported)."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# No operation takes more than a list inside an object; 32 leaves room and stays far
# below Python's recursion limit (1,000), which a deeper body hit in the decoder and in
# every function that walks the data (HTTP 500, issue 13 item 7).
MAX_DEPTH = 32


def json_depth(data) -> int:
    """How deeply lists and objects nest in `data` (a scalar: 0), without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        stack.extend((item, depth + 1) for item in value)
    return deepest


class DepthLimitedJSONParser(JSONParser):
    """JSON nested deeper than MAX_DEPTH answers 400 with a message, never 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data = None
            too_deep = True
        else:
            too_deep = json_depth(data) > MAX_DEPTH
        if too_deep:
            raise ParseError(
                f"JSON parse error - lists and objects nest more than {MAX_DEPTH} deep."
            )
        return data
