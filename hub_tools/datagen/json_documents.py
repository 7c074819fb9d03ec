"""The rows of a JSON document, read one at a time.

A ``.json`` source is one document: a list of rows (``[{...}, {...}]``), or an object wrapping one
(``{"version": 2, "data": [{...}, ...]}``: the rows are its first member holding a list; an object without
one is itself the only row). Reading it with :func:`json.loads` holds the whole file three times over: its
bytes, its text and every row as Python objects, about ten times the file's size, in every worker and every
task of a distributed run. Here the document is read in chunks of text, and each row is decoded on its own
(:meth:`json.JSONDecoder.raw_decode`, the standard library's C decoder) and handed on before the next one is
read, so memory holds a chunk and one row, whatever the file's size.

A chunk may end inside a row. Then the decoder fails, or succeeds early on a number cut short (``12`` of
``123``, ``-7`` of ``-7.5``): a row is taken only when the character after it has been seen and cannot
continue it, or the file has ended. A failed row is
tried again with as much text again as the buffer holds, so a row of any size is decoded a few times at
most, and a row that is really broken is reported once the file has ended, at the place the decoder says.

A document broken after some rows (a download cut short, a bad byte, a stray comma) keeps those rows:
:class:`BrokenDocument` says where it stopped and how many rows came before. A file that is not a JSON
document at all (JSON Lines under a ``.json`` name, say) raises it before any row.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator

from hub_tools.errors import reason
from hub_tools.recursion_budget import at_any_depth

# Bytes read at a time. Rows of code are a few kilobytes; a larger row makes the buffer grow for it. A compressed
# stream cut short loses what its last read held, so reads are kept small.
CHUNK_BYTES = 1 << 16
_WHITESPACE = " \t\n\r"
_IN_NUMBERS = "0123456789.eE+-"
_TEXT_AFTER = "more text after the document's end"
_decoder = json.JSONDecoder()


class BrokenDocument(ValueError):
    """The document cannot be read past some point.

    Attributes:
        rows_before: rows read before it.
        where: the place, in words (``item 17``, ``after item 40``, ``its start``).
        detail: what is wrong there.
        reason: ``invalid_json``, or ``invalid_utf8`` for bytes that are not UTF-8.
    """

    def __init__(self, rows_before: int, where: str, detail: str, reason: str = "invalid_json"):
        super().__init__(f"{where}: {detail}")
        self.rows_before, self.where, self.detail, self.reason = rows_before, where, detail, reason


class _Text:
    """A window on the document's text: what has been read and not yet consumed."""

    def __init__(self, handle, chunk_bytes: int):
        self.handle = handle
        # utf-8-sig: a byte-order mark (Windows tools write one) opens the file, not the first row.
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
        self.chunk_bytes = chunk_bytes
        self.text = ""
        self.pos = 0
        self.ended = False
        # Where the window starts in the document: lines before it, and characters before it on its line.
        self.lines_before = 0
        self.columns_before = 0

    def read_more(self, at_least: int = 0) -> None:
        if self.pos > len(self.text) // 2:  # drop what was consumed, so the window stays small
            consumed = self.text[:self.pos]
            newlines = consumed.count("\n")
            self.lines_before += newlines
            self.columns_before = (self.columns_before if not newlines else 0) + len(consumed) - consumed.rfind("\n") - 1
            self.text, self.pos = self.text[self.pos:], 0
        chunk = self.handle.read(max(self.chunk_bytes, at_least))
        self.ended = not chunk
        self.text += self.decoder.decode(chunk, final=self.ended)

    def next_char(self) -> str:
        """The next character after whitespace, without consuming it; ``""`` at the end of the file."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.text) or self.ended:
                return self.text[self.pos:self.pos + 1]
            self.read_more()

    def value(self):
        """Decode the JSON value at the current place (after whitespace) and consume it."""
        self.next_char()
        while True:
            try:
                value, end = at_any_depth(_decoder.raw_decode, self.text, self.pos)  # see hub_tools.recursion_budget
            except json.JSONDecodeError:
                if self.ended:
                    raise
            else:
                # Whole when the text after it was seen and cannot continue it (a number goes on with these).
                if self.ended or (end < len(self.text) and self.text[end] not in _IN_NUMBERS):
                    self.pos = end
                    return value
            self.read_more(at_least=len(self.text) - self.pos)


def document_rows(handle, chunk_bytes: int = CHUNK_BYTES) -> Iterator[object]:
    """Yield the rows of the JSON document read from the binary ``handle``, one at a time.

    Raises:
        BrokenDocument: the document cannot be read past some point (after the rows before it).

    >>> import io
    >>> list(document_rows(io.BytesIO(b'{"version": 2, "data": [{"a": 1}, {"a": 2}]}')))
    [{'a': 1}, {'a': 2}]
    >>> rows = document_rows(io.BytesIO(b'[{"a": 1}, {"a": 2}, {"a": '))
    >>> next(rows), next(rows)
    ({'a': 1}, {'a': 2})
    >>> next(rows)
    Traceback (most recent call last):
    ...
    hub_tools.datagen.json_documents.BrokenDocument: item 2: Expecting value (line 1, column 28)
    """
    text = _Text(handle, chunk_bytes)
    rows = 0
    try:
        first = text.next_char()
        text.pos += 1
        if first == "[":
            items = _array_items(text)
        elif first == "{":
            items = _wrapper_rows(text)
        else:
            raise _Broken("its start", "a JSON document of rows opens with '[' or '{'")
        for row in items:
            rows += 1
            yield row
        if text.next_char():
            raise _Broken("after its rows", _TEXT_AFTER)
    except _Broken as broken:
        raise BrokenDocument(rows, broken.where, broken.detail) from None
    except UnicodeDecodeError as error:
        where = f"after item {rows - 1}" if rows else "its start"
        raise BrokenDocument(rows, where, f"bytes that are not UTF-8 ({error.reason})", "invalid_utf8") from None


class _Broken(Exception):
    def __init__(self, where: str, detail: str):
        super().__init__(detail)
        self.where, self.detail = where, detail


def _value(text: _Text, where: str):
    try:
        return text.value()
    except json.JSONDecodeError as error:  # its place is in the window: where is that in the document?
        line = text.lines_before + error.lineno
        column = error.colno + (text.columns_before if error.lineno == 1 else 0)
        raise _Broken(where, f"{error.msg} (line {line}, column {column})") from None
    except RecursionError:  # the decoder's own limit, as json.loads has it: its end cannot be found
        raise _Broken(where, "a value nested too deeply to decode") from None
    except UnicodeDecodeError:  # bytes that are not UTF-8, met while reading on: the reader says so itself
        raise
    except ValueError as error:  # a number of more digits than Python reads (4,300): its end is not known either
        raise _Broken(where, reason(error)) from None


def _array_items(text: _Text) -> Iterator[object]:
    """The items of an array whose ``[`` was consumed, up to and including its ``]``."""
    if text.next_char() == "]":
        text.pos += 1
        return
    number = 0
    while True:
        yield _value(text, f"item {number}")
        separator = text.next_char()
        text.pos += 1
        if separator == "]":
            return
        if separator != ",":
            raise _Broken(f"after item {number}", "the document ends before its closing ']'" if not separator
                          else f"expected ',' or ']', found {separator!r}")
        number += 1


def _wrapper_rows(text: _Text) -> Iterator[object]:
    """The rows of an object whose ``{`` was consumed: its first member holding a list, streamed; the object
    itself when none does."""
    members: dict = {}
    found = False
    where = "its start"
    if text.next_char() == "}":
        text.pos += 1
    else:
        while True:
            key = _value(text, where)
            if not isinstance(key, str):
                raise _Broken(where, "an object's keys are strings")
            if text.next_char() != ":":
                raise _Broken(f"member {key!r}", "expected ':' after the key")
            text.pos += 1
            if not found and text.next_char() == "[":
                found = True
                text.pos += 1
                yield from _array_items(text)
            else:
                value = _value(text, f"member {key!r}")
                if not found:
                    members[key] = value
            where = f"after member {key!r}"
            separator = text.next_char()
            text.pos += 1
            if separator == "}":
                break
            if separator != ",":
                raise _Broken(where, "the document ends before its closing '}'" if not separator
                              else f"expected ',' or '}}', found {separator!r}")
    if not found:
        if text.next_char():  # checked before the row is given: JSON Lines under a .json name is not one row
            raise _Broken("its start", _TEXT_AFTER)
        yield members
