"""The links of a campaign's HTML body that tracking follows: the href values of the body as
the operator wrote it, in order, that are plain http(s) addresses holding no merge tag (a
link with a tag differs per recipient; it is left as written, untracked, as are mailto: and
#anchors). The mail rewrites the n-th of them to /c/{token of n}; the click endpoint sends
the reader to the n-th again, so a click can only ever lead to a link of that campaign's
body (no open redirect). One definition for both sides."""

from __future__ import annotations

import html
import re

HREF = re.compile(r"""<[A-Za-z][^>]*?\shref\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+)""", re.S)
_TRACKABLE = re.compile(r"https?://[^\s{}]+", re.I)


def href_spans(source: str) -> list[tuple[int, int]]:
    """Where the href attribute values of an HTML text are (start, end offsets, quotes in)."""
    return [found.span(1) for found in HREF.finditer(source)]


def tracked(source: str) -> list[tuple[int, int, str]]:
    """The links tracking follows: (start, end) of each value inside its quotes, and the
    address it leads to (HTML entities read)."""
    found = []
    for start, end in href_spans(source):
        value = source[start:end]
        if value[:1] in "\"'":
            start, end, value = start + 1, end - 1, value[1:-1]
        url = html.unescape(value.strip())
        if _TRACKABLE.fullmatch(url):
            found.append((start, end, url))
    return found


def link_at(source: str, index: int) -> str | None:
    """The address of the index-th tracked link of a body, or None."""
    links = tracked(source)
    return links[index][2] if 0 <= index < len(links) else None
