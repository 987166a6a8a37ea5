"""A request's headers, read as http.server reads them, without the email package when
every line is a plain `Name: value`.

http.server hands the header block to `http.client.parse_headers`, which builds an
`email.message.Message` through the email package's feed parser: about 15-30 us a request,
a sizeable part of a one-row invocation's HTTP work. The runtime only ever asks for a
header's first value by name (`get`). For a block of plain lines (a name of printable
ASCII without ':' or space, a colon, a value without CR; ASCII throughout) the answer of
`Message.get` is known exactly: the first line with that name (case-insensitive), the text
after the colon with leading spaces and tabs removed (compat32's `header_source_parse`).
Any other block (folded lines, a bare CR, non-ASCII, a line that is not a header) goes to
the email parser exactly as http.client sends it, so nothing unusual is read differently.
Limits are http.client's: a line longer than 65,536 bytes, or more than 100 headers, is
refused with the same exceptions (http.server answers 431).
"""

from __future__ import annotations

import email.parser
import http.client
import re
from typing import Any, BinaryIO

MAX_LINE, MAX_HEADERS = 65536, 100  # http.client's limits (_MAXLINE, _MAXHEADERS)
_PLAIN = re.compile(r"([!-9;-~]+):[ \t]*([^\r\n]*)\r?\n\Z")  # feedparser's name characters


class Headers(dict):
    """Lower-cased name -> first value; `get` as email.message.Message's."""

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, name.lower(), default)


def read_headers(fp: BinaryIO) -> Headers | http.client.HTTPMessage:
    """The header block up to its blank line, parsed (see the module's docstring)."""
    lines = []
    while True:
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
        if line in (b"\r\n", b"\n", b""):
            break
    return parse_block(lines)


def parse_block(lines: list[bytes]) -> Headers | http.client.HTTPMessage:
    """Plain lines the quick way; anything else as http.client.parse_headers does."""
    text = b"".join(lines).decode("iso-8859-1")
    if lines[-1] and text.isascii():
        headers = Headers()
        for line in lines[:-1]:
            match = _PLAIN.match(line.decode("ascii"))
            if match is None:
                break
            headers.setdefault(match[1].lower(), match[2])
        else:
            return headers
    return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)
