"""Rendering outbox rows into messages: sandboxed Jinja2 templates, Babel formatting, caps.

Templates are files `<language>/<event>.txt` and `<language>/<event>.html`; the text part
starts with a `Subject: ...` line and a blank line. A directory in config (mail.templates_dir)
overrides the shipped files one by one."""

from __future__ import annotations

import datetime as dt
import functools
import operator
import os
import posixpath
import re
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from pathlib import Path
from types import FunctionType
from typing import Any

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, get_currency_precision
from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    nodes,
    select_autoescape,
)
from jinja2.compiler import CodeGenerator, Frame
from jinja2.ext import Extension
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from mailer.inline import InlineError, inline, remask, style_blocks, style_line
from mailer.source import TYPOGRAPHY, mask, standalone_lines, typography

SHIPPED_DIR = Path(__file__).parent / "templates"
LANGUAGES = ("en", "fr")
CUSTOMER_EVENTS = (
    "order_placed", "awaiting_verification", "payment_received", "shipped", "completed",
    "cancelled", "refunded", "customer_note", "account_confirm", "one_off", "newsletter_confirm",
)
MERCHANT_EVENTS = ("merchant_new_order", "merchant_account_deleted", "merchant_webhook_disabled",
                   "merchant_mail_stuck")
EVENTS = CUSTOMER_EVENTS + MERCHANT_EVENTS
MAX_OUTPUT = 1_000_000  # characters per part: a mail is never megabytes of text
MAX_SECONDS = 2.0
RELOAD_SECONDS = 1.0  # how stale an edited template may be before the worker sees it
_DICT_ATTRS = frozenset(dir(dict))


class RenderError(Exception):
    """A template could not be rendered; `where` names the file and line when known."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.message = message
        self.where = where


class TemplateLimit(SecurityError):
    """A template went over the size or time cap."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    language: str


class _Budget:
    """The deadline and size cap of one render; checked from the sandbox hooks."""

    def __init__(self, seconds: float, size: int) -> None:
        self.deadline = time.monotonic() + seconds
        self.size = size

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimit(f"the template took longer than {MAX_SECONDS:g} s to render")


_BINOPS = {"+": operator.add, "*": operator.mul, "**": operator.pow}


class _CappedCodeGenerator(CodeGenerator):
    """Compiles `a ~ b` through MailEnvironment.capped: the sandbox checks binary operators
    but not `~`, and thirty `{% set a = a ~ a %}` would build gigabytes before the output cap
    ever saw them."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.capped(")
        super().visit_Concat(node, frame)
        self.write(")")


class MailEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus caps on output size, on big operands and on time."""

    intercepted_binops = frozenset(_BINOPS)
    code_generator_class = _CappedCodeGenerator
    _local = threading.local()  # one budget per rendering thread

    @property
    def budget(self) -> _Budget | None:
        return getattr(self._local, "budget", None)

    @budget.setter
    def budget(self, value: _Budget | None) -> None:
        self._local.budget = value

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        self._tick()
        if op == "**" and isinstance(right, int) and abs(right) > 64:
            raise TemplateLimit("exponent too large in a template")
        if op == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int):
                    if len(seq) * count > MAX_OUTPUT:
                        raise TemplateLimit(f"a template built a value over {MAX_OUTPUT} chars")
        result = _BINOPS[op](left, right) if op in _BINOPS else super().call_binop(
            context, op, left, right)
        if isinstance(result, str | list) and len(result) > MAX_OUTPUT:
            raise TemplateLimit(f"a template built a value over {MAX_OUTPUT} characters")
        return result

    def capped(self, value: Any) -> Any:
        """The result of a `~`, refused once it is longer than a whole mail may be."""
        self._tick()
        if len(value) > MAX_OUTPUT:
            raise TemplateLimit(f"a template built a value over {MAX_OUTPUT:,} characters")
        return value

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals as one plain dict, not Jinja's ChainMap over the
        environment's: every render and include copies them, and a ChainMap copies at
        Python speed (a third of an empty template's cost). The environment's globals are
        all set before the first template loads, so the snapshot misses nothing."""
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        """`order.code` on a plain dict: the item, without first failing an attribute lookup.

        Same answer as the sandbox's: a dict has no attribute of that name (only the names
        in dir(dict), which still go the sandbox's way), so it would fall back to the item."""
        if type(obj) is dict and attribute not in _DICT_ATTRS:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        self._tick()
        if type(__obj) is FunctionType and __obj in _TRUSTED:
            # our own formatting helpers: plain functions, safe, no context to pass
            if kwargs:
                kwargs.pop("_loop_vars", None)
                kwargs.pop("_block_vars", None)
            return __obj(*args, **kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def _tick(self) -> None:
        budget: _Budget | None = getattr(self._local, "budget", None)
        if budget is not None and time.monotonic() > budget.deadline:
            budget.tick()  # raises


_BLANKS = re.compile(r"[ \t\r\n\f\v]+")
_SUBJECT = re.compile(r"\A\s*subject:", re.IGNORECASE)
_TEXT_BETWEEN_TAGS = re.compile(r"(<!--.*?-->|<[A-Za-z/!][^>]*>)", re.DOTALL)


class SourceRules(Extension):
    """What every template's source becomes as it loads (once, not per mail): a line holding
    only tags vanishes with its line break and every other line break stays (see
    mailer/source.py), the language's typography in the template's own text, and in HTML
    the `<style>` of the language's `_layout.html` and of the file itself inlined into its
    tags (mailer/inline.py): Gmail and Outlook drop `<style>` blocks."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        source = source.replace("\r\n", "\n").replace("\r", "\n")
        masked = mask(source)
        if masked is None:  # an unclosed tag: Jinja reports it with its line
            return source
        name = name or ""
        language = name.split("/", 1)[0] if "/" in name else ""
        is_html = name.endswith((".html", ".htm"))
        text = masked.text
        if is_html:
            css = style_blocks(text)
            layout = f"{language}/_layout.html"
            if language and name != layout:
                source_css, where = self._layout_css(layout)
                try:
                    masked, shared = remask(masked, source_css)
                except InlineError as exc:  # the layout's fault: named, with its line
                    raise TemplateSyntaxError(str(exc), where[1], layout, where[0]) from None
                css = shared + "\n" + css
            try:
                text = inline(masked, css)
            except InlineError as exc:
                raise TemplateSyntaxError(str(exc), exc.lineno, name, filename) from None
        if language in TYPOGRAPHY:
            text = _typeset(language, text, is_html)
        return masked.unmask(standalone_lines(masked, text))

    def _layout_css(self, layout: str) -> tuple[str, tuple[str | None, int]]:
        """The CSS of the language's layout, which every HTML file of the language shares,
        and where it is written (file, line). The layout is loaded too, so that
        Renderer.refresh sees it change and recompiles the files that inlined its CSS."""
        loader = self.environment.loader
        try:
            source, filename, _ = loader.get_source(self.environment, layout) if loader \
                else ("", None, None)
            self.environment.get_template(layout)
        except TemplateNotFound:
            return "", (None, 1)
        except TemplateSyntaxError:
            pass  # reported when a mail renders it
        return style_blocks(source), (filename, style_line(source))


def _typeset(language: str, text: str, is_html: bool) -> str:
    """Typography on the template's own text: not in tags, not on a `Subject:` keyword."""
    if not is_html:
        head = _SUBJECT.match(text)
        cut = head.end() if head else 0
        return text[:cut] + typography(language, text[cut:])
    pieces = _TEXT_BETWEEN_TAGS.split(text)
    return "".join(piece if i % 2 else typography(language, piece)
                   for i, piece in enumerate(pieces))


def _safe_range(env: MailEnvironment) -> Any:
    def ranged(*args: int) -> Iterator[int]:
        values = range(*args)
        if len(values) > 100_000:
            raise TemplateLimit("range() too large in a template")
        for value in values:
            env._tick()
            yield value
    return ranged


@functools.lru_cache(maxsize=64)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language or "en")
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def money(amount: Any, currency: str, language: str) -> str:
    """Integer minor units as the language writes money (1999 EUR: "€19.99", "19,99 €")."""
    if amount is None or amount == "":
        return ""
    return _money(int(amount), str(currency), str(language))


@functools.lru_cache(maxsize=4096)
def _money(amount: int, currency: str, language: str) -> str:
    digits = get_currency_precision(currency)
    value = Decimal(int(amount)).scaleb(-digits)
    return str(format_currency(value, currency, locale=_locale(language)))


def _as_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


class Renderer:
    """Loads templates (config directory first, then the shipped ones) and renders mails."""

    def __init__(self, templates_dir: str | Path | None = None, *,
                 max_output: int = MAX_OUTPUT, max_seconds: float = MAX_SECONDS) -> None:
        dirs = [str(templates_dir)] if templates_dir else []
        dirs.append(str(SHIPPED_DIR))
        self.dirs = dirs
        self.max_output = max_output
        self.max_seconds = max_seconds
        self.env = MailEnvironment(
            loader=ChoiceLoader([FileSystemLoader(d) for d in dirs]),
            autoescape=select_autoescape(["html"], default_for_string=False),
            undefined=StrictUndefined,
            trim_blocks=False,  # SourceRules removes lines that hold only tags, nothing else
            lstrip_blocks=False,
            keep_trailing_newline=True,
            extensions=[SourceRules],
            auto_reload=False,  # looked at once a second by refresh(), not on every include
        )
        self.env.globals["range"] = _safe_range(self.env)
        self._found: dict[tuple[str, str, str], str] = {}  # language_for's answers
        self._checked = time.monotonic()

    def refresh(self) -> None:
        """Pick up template edits (at most RELOAD_SECONDS late): drop every compiled template
        if one of them changed on disk or is now served from another directory (an override
        added or removed), and forget which languages exist.

        Jinja's auto_reload would stat each template and include on every render (a batch
        of mails renders thousands a second), and never noticed a new override file."""
        now = time.monotonic()
        if now - self._checked < RELOAD_SECONDS:
            return
        self._checked = now
        self._found.clear()
        cache = self.env.cache
        if cache is not None and any(self._stale(t) for t in list(cache.values())):
            cache.clear()

    def _stale(self, template: Template) -> bool:
        if not template.is_up_to_date:
            return True
        if template.name is None:
            return False
        pieces = split_template_path(template.name)
        for directory in self.dirs:  # the first that has the file serves it
            filename = posixpath.join(directory, *pieces)
            if os.path.isfile(filename):
                return os.path.normpath(filename) != template.filename
        return True

    def languages(self) -> list[str]:
        found = set(LANGUAGES)
        for d in self.dirs:
            path = Path(d)
            if path.is_dir():
                found.update(p.name for p in path.iterdir() if p.is_dir() and len(p.name) <= 5)
        return sorted(found)

    def language_for(self, event: str, wanted: str, default: str) -> str:
        """The customer's language if its templates exist, else the shop's, else English."""
        key = (event, wanted, default)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = self._language_for(event, wanted, default)
        return found

    def _language_for(self, event: str, wanted: str, default: str) -> str:
        for language in (wanted, default, "en"):
            try:
                self.env.get_template(f"{language}/{event}.txt")
                return language
            except TemplateNotFound:
                continue
            except TemplateError:
                return language
        raise RenderError(f"no template for the event {event!r} (looked for en/{event}.txt)")

    def _render_file(self, name: str, context: dict[str, Any]) -> str:
        try:
            template = self.env.get_template(name)
        except TemplateNotFound:
            raise RenderError(f"missing template {name}") from None
        except TemplateSyntaxError as exc:
            raise RenderError(exc.message or str(exc), f"{exc.filename or name}:{exc.lineno}") \
                from None
        budget = _Budget(self.max_seconds, self.max_output)
        self.env.budget = budget
        size = 0
        parts: list[str] = []
        # shared: `context` already holds the globals (see _context); not copied once more
        chunks = template.root_render_func(template.new_context(context, shared=True))
        try:
            while True:  # 64 chunks at a time: the caps are checked without a Python step each
                try:
                    block = list(islice(chunks, 64))
                except Exception:
                    self.env.handle_exception()  # re-raised with template file and line
                if not block:
                    break
                size += sum(map(len, block))
                if size > self.max_output:
                    raise TemplateLimit(
                        f"the template renders over {self.max_output:,} characters")
                budget.tick()
                parts += block
        except TemplateLimit as exc:
            raise RenderError(f"refused: {exc}", _where(exc, template.filename or name)) from None
        except SecurityError as exc:
            raise RenderError(f"refused by the sandbox: {exc}",
                              _where(exc, template.filename or name)) from None
        except TemplateError as exc:
            raise RenderError(str(exc), _where(exc, template.filename or name)) from None
        except Exception as exc:
            raise RenderError(f"{type(exc).__name__}: {exc}",
                              _where(exc, template.filename or name)) from None
        finally:
            self.env.budget = None
        return "".join(parts)

    def _context(self, context: Mapping[str, Any], language: str) -> dict[str, Any]:
        """What a template sees: the globals, the mail's variables and the language's
        formatting helpers, in one dict that both parts share (read-only to templates)."""
        ctx = {**self.env.globals, **context, **_helpers(language)}
        ctx["language"] = language
        return ctx

    def render_part(self, name: str, language: str, context: Mapping[str, Any]) -> str:
        """One template file alone (a shared part such as `en/_footer.txt`), for checks."""
        self.refresh()
        return self._render_file(name, self._context(context, language))

    def render(self, event: str, language: str, context: Mapping[str, Any],
               default_language: str = "en") -> Rendered:
        """Subject, text and HTML of one mail; raises RenderError naming file and line."""
        self.refresh()
        language = self.language_for(event, language, default_language)
        ctx = self._context(context, language)
        text = self._render_file(f"{language}/{event}.txt", ctx)
        html = self._render_file(f"{language}/{event}.html", ctx)
        first, _, body = text.lstrip("\n").partition("\n")
        if not first.lower().startswith("subject:"):
            raise RenderError("the text part must start with a 'Subject: ...' line",
                              f"{language}/{event}.txt:1")
        # runs of ASCII blanks become one space; a no-break space is typography and stays
        subject = _BLANKS.sub(" ", first.split(":", 1)[1]).strip(" ")
        if not subject:
            raise RenderError("the subject line is empty", f"{language}/{event}.txt:1")
        return Rendered(subject[:250], body.lstrip("\n"), html, language)


def _where(exc: BaseException, fallback: str) -> str:
    """file:line of the template frame where the error happened (Jinja rewrites tracebacks)."""
    lineno = getattr(exc, "lineno", None)
    filename = getattr(exc, "filename", None)
    if lineno and filename:
        return f"{filename}:{lineno}"
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith((".txt", ".html")):
            return f"{frame.filename}:{frame.lineno}"
    return fallback


_TRUSTED: set[FunctionType] = set()  # the helpers below: called without the sandbox's checks


@functools.cache  # one per template language: a handful
def _helpers(language: str) -> dict[str, Any]:
    """Formatting functions bound to the mail's language (money, dates, numbers); made once
    per language, and what they format is cached: a batch repeats the same dates and sums."""
    def fmt_money(amount: Any, currency: str = "EUR") -> str:
        return money(amount, currency, language)

    def fmt_date(value: Any, format: str = "long") -> str:
        when = _as_datetime(value)
        return _format_date(when.date(), format, language) if when else ""

    def fmt_datetime(value: Any, format: str = "medium") -> str:
        when = _as_datetime(value)
        return _format_datetime(when, format, language) if when else ""

    def fmt_number(value: Any) -> str:
        return str(format_decimal(value, locale=_locale(language)))

    helpers = {"money": fmt_money, "date": fmt_date, "datetime": fmt_datetime,
               "number": fmt_number}
    _TRUSTED.update(helpers.values())  # type: ignore[arg-type]
    return helpers


@functools.lru_cache(maxsize=4096)
def _format_date(when: dt.date, format: str, language: str) -> str:
    return str(format_date(when, format=format, locale=_locale(language)))


@functools.lru_cache(maxsize=4096)
def _format_datetime(when: dt.datetime, format: str, language: str) -> str:
    return str(format_datetime(when, format=format, locale=_locale(language)))
