"""JSON from outside, read so that no document can crash or poison what reads it.

Python's JSON decoder recurses once per nested array or object, so a body of fifty
thousand ``[`` ends in a ``RecursionError`` (a 500) before any check of ours could run; and
the decoder gladly returns strings that PostgreSQL refuses to store: a NUL character
(``\\u0000``: "A string literal cannot contain NUL characters", and jsonb refuses it too) or
half of a UTF-16 surrogate pair (not encodable as UTF-8). :func:`loads` refuses all three
with :class:`JsonInputError`, which names where in the document the problem is, so the JSON
API (lms.api_common) and the xAPI statement resource (courses.xapi_views) answer 400 instead.

Both checks are cheap on ordinary documents: the depth is measured (iteratively, on the raw
text) only when the document has more brackets than the depth allowed, and strings are
searched only when the raw text holds an escape that could produce such a character.
"""

import json
import re
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

#: How deeply arrays and objects may nest. Our own documents need fewer than ten levels;
#: xAPI's free-form extensions get room to spare, well short of the decoder's recursion.
MAX_DEPTH = 64

#: A JSON string, taken whole (possessive, so a long string costs one pass).
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
#: Every byte that is not a bracket: deleted before the depth is counted.
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
#: An escape that can decode to NUL or to a lone surrogate.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
#: What a string from outside must not hold.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

Location = tuple[str | int, ...]


class JsonInputError(ValueError):
    """A JSON document refused; ``loc`` is where (keys and list positions), ``msg`` what is
    wrong with what is there, said of it ("is not valid JSON: …", "contains a NUL …")."""

    def __init__(self, msg: str, loc: Location = ()):
        super().__init__(f"{path_text(loc)} {msg}" if loc else msg)
        self.msg = msg
        self.loc = loc


def path_text(loc: Location) -> str:
    """``("events", 3, "learner")`` → ``events[3].learner``: the way people write it."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode ``raw`` like :func:`json.loads`, refusing what no reader of ours can take.

    Raises :class:`JsonInputError` for a document nested deeper than ``max_depth``, for a
    NUL character or a lone surrogate in any string or key, and for text that is not JSON
    (the decoder's message, e.g. "Expecting value: line 1 column 1 (char 0)").
    """
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    depth_check(data, max_depth=max_depth)
    try:
        document = json.loads(data)
    except UnicodeDecodeError:
        raise JsonInputError("is not UTF-8 text.") from None
    except ValueError as error:
        raise JsonInputError(f"is not valid JSON: {error}") from None
    if _SUSPECT_ESCAPE.search(data):
        strings_check(document)
    return document


def depth_check(data: bytes, *, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a document whose arrays and objects nest deeper than ``max_depth``.

    Counts brackets outside strings, without recursing: it runs before the decoder, which
    would recurse once per level.
    """
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return
    # Brackets inside strings count too at first: if even that stays within the limit
    # (ordinary documents), there is no need to find where the strings are.
    if _max_depth(data) <= max_depth:
        return
    if _max_depth(_STRING.sub(b"", data)) > max_depth:
        raise JsonInputError(f"nests arrays and objects more than {max_depth} levels deep.")


def _max_depth(data: bytes) -> int:
    steps = (1 if b in b"[{" else -1 for b in data.translate(None, _NOT_BRACKETS))
    return max(accumulate(steps), default=0)


def strings_check(document: Any) -> None:
    """Refuse a NUL character or a lone surrogate anywhere in ``document``, keys included."""
    for loc, text, is_key in _strings(document):
        text_check(text, loc, whose="a key" if is_key else "")


def text_check(text: str, loc: Location = (), *, whose: str = "") -> None:
    """Refuse one string from outside (a value in a document, a query, a form, a path).

    The message says what is wrong with what is at ``loc``; ``whose`` names a part of it
    (e.g. "a key") when that part, not its value, holds the character.
    """
    found = _UNSTORABLE.search(text)
    if found:
        character = "a NUL character" if found.group() == "\x00" else "an unpaired surrogate"
        where = f"has {whose} that contains" if whose else "contains"
        raise JsonInputError(f"{where} {character}, which cannot be stored.", loc)


def _strings(document: Any) -> Iterator[tuple[Location, str, bool]]:
    """Every string in ``document`` (keys too) with where it is, walked without recursion.

    A key is reported where its object is, since the key itself is what is wrong.
    """
    stack: list[tuple[Location, Any]] = [((), document)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            yield loc, value, False
        elif isinstance(value, dict):
            for key, item in value.items():
                yield loc, key, True
                stack.append(((*loc, key), item))
        elif isinstance(value, list):
            stack.extend(((*loc, index), item) for index, item in enumerate(value))
