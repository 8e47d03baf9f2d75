"""A campaign as each recipient gets it. The campaign is compiled once per worker: its body cut
by store.merge_tags' one parser into text and tags, each tag given its context (HTML text,
inside a link's address, plain text, the subject); a recipient's mail is then only the
joining of those pieces with their values escaped for their context: HTML-escaped in the
HTML, URL-encoded (then HTML-escaped) inside an href, as they are in the text part and the
subject (line breaks removed). No template engine ever sees the operator's text.

The built-in template wraps the operator's plain text (paragraphs) in the shop's brand; a
custom HTML body is sent as written; a plain-text body has no HTML part. A text part is made
from the HTML when none is given, and an unsubscribe link is added where the body has none."""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass
from email.utils import formataddr
from html.parser import HTMLParser
from urllib.parse import quote

from mailer.delivery import _date_header, _header, _part, _utf8_header
from store import campaign_links, merge_tags, newsletter_links
from store.campaign_queries import CampaignBody as CampaignContent
from store.config import Config
from store.merge_tags import Tag

# a piece of a compiled part: literal text, or a tag with its context
Piece = str | tuple[Tag, str]
_BLOCKS = {"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "table", "hr",
           "blockquote", "section", "article", "header", "footer", "ul", "ol"}
_SKIP = {"script", "style", "head", "title"}
_BREAKS = re.compile(r"[\r\n]+")
UNSUBSCRIBE = "{unsubscribe_url}"
_MARK = re.compile("\x00(o|\\d+)\x00")  # where a tracked link or the open pixel goes
_PIXEL = ('<img src="\x00o\x00" width="1" height="1" alt="" '
          'style="display: block; border: 0; width: 1px; height: 1px">')


@dataclass(frozen=True)
class Recipient:
    email: str
    first_name: str
    last_name: str
    unsubscribe_url: str
    mail_id: int = 0  # its campaign mail, for tracked links (0: a test send or a preview)
    variant: str = ""  # "b": the second subject of an A/B test


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str  # "" for a plain-text campaign


def compile_html(source: str) -> tuple[Piece, ...]:
    """An HTML body's pieces: a tag inside an href is in the "url" context, else "html"."""
    links = campaign_links.href_spans(source)
    pieces: list[Piece] = []
    for part in merge_tags.parse(source):
        if isinstance(part, str):
            pieces.append(part)
        else:
            inside = any(start <= part.start < end for start, end in links)
            pieces.append((part, "url" if inside else "html"))
    return tuple(pieces)


def compile_text(source: str, context: str = "text", strict: bool = True) -> tuple[Piece, ...]:
    return tuple(part if isinstance(part, str) else (part, context)
                 for part in merge_tags.parse(source, strict=strict))


def fill(pieces: tuple[Piece, ...], values: dict[str, str]) -> str:
    """The pieces joined, each tag's value (or its default) escaped for its context."""
    out: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
            continue
        tag, context = piece
        value = values.get(tag.name, "") or tag.default
        if context == "html":
            out.append(html.escape(value))
        elif context == "url":
            out.append(html.escape(value if tag.name == "unsubscribe_url"
                                   else quote(value, safe="")))
        elif context == "subject":
            out.append(_BREAKS.sub(" ", value))
        else:
            out.append(value)
    return "".join(out)


class _Text(HTMLParser):
    """HTML to readable text: blocks on lines of their own, a link as "label (address)"."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.href: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCKS:
            self.out.append("\n")
        if tag == "a":
            self.href.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCKS:
            self.out.append("\n")
        if tag == "a" and self.href:
            href = self.href.pop()
            if href and not href.startswith("#"):
                self.out.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(source: str) -> str:
    """The text rendering of an HTML body (for the text part and the preview)."""
    parser = _Text()
    parser.feed(source)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _template(content: CampaignContent, config: Config) -> str:
    """The built-in template around the operator's text: paragraphs at blank lines, line
    breaks kept, the shop's name and accent colour, its footer line and the unsubscribe link.
    The operator's text is escaped here; its merge tags stay for compile_html."""
    shop = config["shop"]
    accent = html.escape(str(shop["accent_colour"]))
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", content.body) if p.strip()]
    body = "".join(
        "<p style=\"margin: 0 0 16px 0\">"
        + "<br>".join(html.escape(line, quote=False) for line in p.split("\n")) + "</p>"
        for p in paragraphs)
    footer = html.escape(str(shop["footer_line"]))
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>'
        f'{html.escape(content.subject, quote=False)}</title></head>'
        f'<body style="margin: 0; padding: 24px; font-family: Helvetica, Arial, sans-serif; '
        f'color: #222; line-height: 1.5">'
        f'<div style="max-width: 600px; margin: 0 auto">'
        f'<h1 style="color: {accent}; font-size: 22px">{html.escape(str(shop["name"]))}</h1>'
        f"{body}"
        f'<p style="color: #666; font-size: 12px; margin-top: 32px">{footer}</p>'
        f'<p style="color: #666; font-size: 12px"><a href="{UNSUBSCRIBE}" '
        f'style="color: #666">Unsubscribe</a></p></div></body></html>')


def _before_body_end(source: str, addition: str) -> str:
    end = source.lower().rfind("</body>")
    return source[:end] + addition + source[end:] if end >= 0 else source + addition


def _with_unsubscribe_link(source: str) -> str:
    return _before_body_end(source, f'<p style="color: #666; font-size: 12px"><a href='
                                    f'"{UNSUBSCRIBE}">Unsubscribe</a></p>')


def _marked(source: str) -> tuple[str, tuple[str, ...]]:
    """The body with each tracked link's address (store.campaign_links) replaced by a mark
    that render() fills per recipient; the addresses as written, for mails not tracked."""
    out, written, at = [], [], 0
    for index, (start, end, _url) in enumerate(campaign_links.tracked(source)):
        out += [source[at:start], f"\x00{index}\x00"]
        written.append(source[start:end])
        at = end
    return "".join(out) + source[at:], tuple(written)


class Compiled:
    """A campaign ready to fill for each recipient (made once per worker and campaign)."""

    def __init__(self, content: CampaignContent, config: Config) -> None:
        self.content = content
        self.config = config
        self.tracked = False
        self.written: tuple[str, ...] = ()
        self.subject = compile_text(content.subject, "subject")
        self.subject_b = (compile_text(content.subject_b, "subject") if content.subject_b
                          else self.subject)
        kind = content.body_kind
        self.html: tuple[Piece, ...] = ()
        if kind == "text":
            source = content.body
            if "unsubscribe_url" not in merge_tags.names(merge_tags.parse(source)):
                source = source.rstrip("\n") + f"\n\nUnsubscribe: {UNSUBSCRIBE}\n"
            self.text = compile_text(source)
            return
        document = _template(content, config) if kind == "template" else content.body
        if "unsubscribe_url" not in merge_tags.names(merge_tags.parse(document)):
            document = _with_unsubscribe_link(document)
        sent = document
        self.tracked = content.track and "\x00" not in document
        if self.tracked:  # links rewritten per recipient, and the open pixel
            sent, self.written = _marked(document) if kind == "html" else (document, ())
            sent = _before_body_end(sent, _PIXEL)
        self.html = compile_html(sent)
        text = content.text_body
        if text.strip():
            if "unsubscribe_url" not in merge_tags.names(merge_tags.parse(text)):
                text = text.rstrip("\n") + f"\n\nUnsubscribe: {UNSUBSCRIBE}\n"
            self.text = compile_text(text)
        else:
            self.text = compile_text(html_to_text(document), strict=False)

    def render(self, recipient: Recipient) -> Rendered:
        values = {"firstname": recipient.first_name, "lastname": recipient.last_name,
                  "email": recipient.email, "unsubscribe_url": recipient.unsubscribe_url}
        body = fill(self.html, values) if self.html else ""
        if self.tracked:
            body = _MARK.sub(lambda found: self._link(found.group(1), recipient.mail_id), body)
        subject = self.subject_b if recipient.variant == "b" else self.subject
        return Rendered(fill(subject, values), fill(self.text, values), body)

    def _link(self, mark: str, mail_id: int) -> str:
        """A tracked mail's own pixel and link addresses; in a test send or a preview, no
        pixel and the links as written (nothing of theirs is recorded)."""
        if mark == "o":
            return html.escape(newsletter_links.open_url(self.config, mail_id)) if mail_id \
                else ""
        if not mail_id:
            return self.written[int(mark)]
        return html.escape(newsletter_links.click_url(self.config, mail_id, int(mark)))


@dataclass(frozen=True)
class ListHeaders:
    """What every mail of the shop's newsletter says of the list (from config, once)."""

    list_id: str
    mailto: str
    domain: str

    @classmethod
    def from_config(cls, config: Config) -> ListHeaders:
        shop_email = str(config.get("shop", "email"))
        domain = shop_email.rpartition("@")[2] or "backroom"
        list_id = str(config.get("newsletter", "list_id")) or f"newsletter.{domain}"
        mailto = str(config.get("newsletter", "unsubscribe_mailto")) or shop_email
        return cls(list_id, mailto, domain)


def build_message(content: CampaignContent, rendered: Rendered, recipient: Recipient,
                  token: str, message_id: str, lists: ListHeaders, tag: str) -> bytes:
    """The message as bytes ready for DATA: From, To, Subject, Date, Message-ID, the list's
    headers (List-Unsubscribe with https and mailto, List-Unsubscribe-Post for RFC 8058's
    one click, List-Id, Feedback-ID), Precedence: bulk; text and HTML parts."""
    sender = formataddr((content.sender_name, content.sender_email), "utf-8")
    to = (_header("To", recipient.email) if recipient.email.isascii()
          else _utf8_header("To", recipient.email))
    if any(c in recipient.unsubscribe_url for c in "<>\r\n ,"):
        raise ValueError("an unsubscribe address must be a plain URL")
    mailto = f"mailto:{lists.mailto}?subject=unsubscribe%20{quote(token, safe='')}"
    unsubscribe = (f"List-Unsubscribe: <{recipient.unsubscribe_url}>,\r\n <{mailto}>\r\n"
                   .encode("ascii"))
    head = to + b"".join(_header(name, value) for name, value in (
        ("From", sender), ("Subject", rendered.subject),
        ("Date", _date_header(int(time.time()))), ("Message-ID", message_id),
        ("MIME-Version", "1.0"))) + unsubscribe + b"".join(
        _header(name, value) for name, value in (
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("List-Id", f"<{lists.list_id}>"),
            ("Feedback-ID", f"{content.id}:newsletter:backroom:{lists.domain}"),
            ("Precedence", "bulk"), ("X-Backroom-Mail", tag)))
    if not rendered.html:
        return head + _part("text/plain", rendered.text)
    boundary = f"=_backroom_campaign_{message_id.strip('<>').replace('@', '_')}"
    boundary = re.sub(r"[^A-Za-z0-9_.=-]", "_", boundary)[:68]
    sep = f"--{boundary}\r\n".encode("ascii")
    return (head + _header("Content-Type", f'multipart/alternative; boundary="{boundary}"')
            + b"\r\n" + sep + _part("text/plain", rendered.text) + sep
            + _part("text/html", rendered.html) + f"--{boundary}--\r\n".encode("ascii"))
