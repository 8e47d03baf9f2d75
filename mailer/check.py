"""`backroom mail check`: render every template with sample data, report by file and line.

Beyond "does it render", the check reads what came out: a text part must have one thing per
line (no sentence running into the next, no include glued to text), and an HTML part must be
well-formed HTML5 with no `<style>` block left, only absolute links and images with alt text.
Each template is rendered with the shop's settings and, if some brand settings are empty,
once more with them filled, so the logo, footer and pay button are checked too."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import html5lib
from html5lib.constants import E as HTML5_ERRORS

from mailer import context as ctxmod
from mailer import replies
from mailer.render import EVENTS, Renderer, RenderError
from mailer.source import glued_includes
from store import workflow as wfmod
from store.config import Config

# Brand settings filled in when the shop left them empty, so every branch of the layout
# (logo, footer line, social links, pay button) is rendered and checked.
FULL_BRAND = {
    "logo_url": "https://shop.example.com/logo.png",
    "footer_line": "My Shop SARL, 1 Rue de la Paix, 75002 Paris. RCS Paris 123 456 789",
    "social_links": ["https://www.instagram.com/myshop", "https://mastodon.social/@myshop"],
    "payment_url": "https://shop.example.com/pay/{code}",
}
# What a link in a mail may start with: an absolute address (a mail has no base URL).
# http:// too, as shop.storefront_url may be one (the config allows it; links to it are
# in every mail).
ABSOLUTE = ("https://", "http://", "mailto:")
_LINKS = re.compile(r"(?:https?|mailto|tel|ftp):\S+|\S+@\S+\.\w+")
_RENDERED_LINE = re.compile(r"rendered line \d+")  # the same fault in both brand variants
_JOIN = re.compile(r"[.!?;:](?=[^\W\d_])")


def check_templates(config: Config, renderer: Renderer | None = None) -> tuple[list[str], int]:
    """Errors as "file:line: message" lines, and how many event/language pairs rendered.
    Events are the shipped ones plus any a config workflow names."""
    renderer = renderer or Renderer(str(config.get("mail", "templates_dir")) or None)
    workflow = wfmod.from_config(config.workflow, config.source)
    problems: list[str] = []
    rendered = 0
    events = list(EVENTS) + sorted({s.mail for s in workflow.statuses.values()
                                    if s.mail and s.mail not in EVENTS})
    variants = [config]
    empty = {key: value for key, value in FULL_BRAND.items() if not config.get("shop", key)}
    if empty:
        variants.append(config.with_values("shop", **empty))
    languages = renderer.languages()
    for language in languages:
        for event in events:
            try:
                found = renderer.language_for(event, language, language)
            except RenderError as exc:
                problems.append(str(exc))
                continue
            if found != language:
                problems.append(f"{language}/{event}.txt: missing (falls back to {found})")
                continue
            try:
                for variant in variants:
                    context = ctxmod.sample(event, variant, workflow)
                    mail = renderer.render(event, language, context)
                    faults = text_problems(mail.text, f"{language}/{event}.txt",
                                           _sample_values(context))
                    faults += html_problems(mail.html, f"{language}/{event}.html")
                    seen = {_RENDERED_LINE.sub("", p) for p in problems}
                    faults = list(dict.fromkeys(faults))  # a link in the header and the foot
                    problems += [p for p in faults if _RENDERED_LINE.sub("", p) not in seen]
                rendered += 1
            except RenderError as exc:
                problems.append(str(exc))
    problems += source_problems(renderer, config, workflow, languages)
    problems += reply_problems(config.get("mail", "templates_dir"))
    return problems, rendered


def reply_problems(templates_dir: Any) -> list[str]:
    """Saved replies (mailer.replies) that cannot be read, or name a merge field that is not
    one of replies.FIELDS: "file:line: unknown merge field {x}"."""
    problems: list[str] = []
    for directory in replies.reply_directories(str(templates_dir or "")):
        for path in sorted(directory.glob("*.txt")) if directory.is_dir() else []:
            try:
                replies.read_reply(path)
                text = path.read_text(encoding="utf-8")
            except (ValueError, OSError, UnicodeDecodeError) as exc:
                problems.append(str(exc))
                continue
            for number, line in enumerate(text.splitlines(), 1):
                problems += [f"{path}:{number}: unknown merge field {{{name}}} (fields: "
                             f"{', '.join('{' + f + '}' for f in replies.FIELDS)})"
                             for name in replies.unknown_fields(line)]
    return problems


def text_problems(text: str, where: str, values: Iterable[str] = ()) -> list[str]:
    """Lines of a rendered text part where two things run together: a sentence or a label
    straight into the next one ("on its way.Tracking number"), or a sample value glued to
    the word or number beside it ("6A123Your order"). Links and addresses are left aside."""
    problems = []
    values = [v for v in values if len(v) >= 3]
    for number, line in enumerate(text.split("\n"), 1):
        plain = _LINKS.sub(" ", line)
        joined = next((m for m in _JOIN.finditer(plain) if _runs_on(plain, m.start())), None)
        glued = None if joined else _glued(plain, values)
        if joined is not None or glued is not None:
            at = joined.start() if joined is not None else (glued or 0)
            excerpt = plain[max(at - 25, 0):at + 25].strip()
            problems.append(f"{where}: rendered line {number} runs two things together "
                            f"(…{excerpt}…): put each on a line of its own")
    return problems


def _runs_on(line: str, at: int) -> bool:
    """A sign at `at` that ends a sentence and a capital right after it, no space between;
    initials such as "U.S." are not sentences."""
    if not line[at + 1].isupper() or at == 0 or line[at - 1].isspace():
        return False
    word = line[:at].rsplit(None, 1)[-1]
    return len(word) > 1 and "." not in word


def _glued(line: str, values: list[str]) -> int | None:
    """Where a sample value touches a letter or digit on either side, if anywhere."""
    for value in values:
        start = line.find(value)
        while start >= 0:
            end = start + len(value)
            before = line[start - 1] if start else " "
            after = line[end] if end < len(line) else " "
            if (value[0].isalnum() and before.isalnum()) or (value[-1].isalnum()
                                                              and after.isalnum()):
                return start
            start = line.find(value, end)
    return None


def _sample_values(context: Mapping[str, Any]) -> Iterator[str]:
    """Strings of the sample data that cannot be ordinary words (they hold a digit or @)."""
    stack: list[Any] = [context]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
        elif isinstance(value, str) and "\n" not in value and \
                any(c.isdigit() or c == "@" for c in value) and "://" not in value:
            yield value


def html_problems(html: str, where: str) -> list[str]:
    """An HTML part's faults: HTML5 parse errors (unclosed or misnested tags), a `<style>`
    block left (Gmail and Outlook drop them), links that are not absolute, images without
    alt text, no `lang` on the document."""
    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    document = parser.parse(html)
    problems = []
    for (line, _column), code, data in parser.errors:
        message = HTML5_ERRORS.get(code, code)
        try:
            message = message % (data or {})
        except (KeyError, TypeError, ValueError):
            pass
        problems.append(f"{where}: rendered line {line}: HTML: {message}")
    if document.find(".//style") is not None:
        problems.append(f"{where}: a <style> block is left (mail clients drop it)")
    if not document.get("lang"):
        problems.append(f"{where}: <html> has no lang attribute")
    for element in document.iter():
        for attribute in ("href", "src"):
            link = element.get(attribute)
            if link is not None and not link.strip().lower().startswith(ABSOLUTE):
                problems.append(f"{where}: <{element.tag} {attribute}=\"{link[:80]}\"> is not "
                                "an absolute link (https://, http:// or mailto:)")
        if element.tag == "img" and element.get("alt") is None:
            problems.append(f"{where}: <img src=\"{element.get('src', '')[:80]}\"> has no alt")
    return problems


def source_problems(renderer: Renderer, config: Config, workflow: wfmod.Workflow,
                    languages: Iterable[str]) -> list[str]:
    """Text templates whose layout would glue lines: an `{% include %}` sharing its line
    with text, or a part whose output does not end with a line break."""
    problems = []
    loader = renderer.env.loader
    names = loader.list_templates() if loader else []
    wanted = tuple(f"{language}/" for language in languages)
    for name in names:
        if not name.endswith(".txt") or not name.startswith(wanted):
            continue
        source, filename, _ = loader.get_source(renderer.env, name)  # type: ignore[union-attr]
        for line in glued_includes(source):
            problems.append(f"{filename or name}:{line}: an include shares its line with "
                            "other text; put it on a line of its own")
        if name.rsplit("/", 1)[-1].startswith("_"):
            language = name.split("/", 1)[0]
            context = ctxmod.sample("order_placed", config, workflow)
            try:
                output = renderer.render_part(name, language, context)
            except RenderError as exc:
                problems.append(str(exc))
                continue
            if output and not output.endswith("\n"):
                problems.append(f"{filename or name}: its output does not end with a line "
                                "break, so the text after it runs into its last line")
    return problems
