"""`backroom mail check`: render every template with sample data, report by file and line."""

from __future__ import annotations

from mailer import context as ctxmod
from mailer.render import EVENTS, Renderer, RenderError
from store import workflow as wfmod
from store.config import Config


def check_templates(config: Config, renderer: Renderer | None = None) -> tuple[list[str], int]:
    """Errors as "file:line: message" lines, and how many event/language pairs rendered.
    Events are the shipped ones plus any a config workflow names."""
    renderer = renderer or Renderer(str(config.get("mail", "templates_dir")) or None)
    workflow = wfmod.from_config(config.workflow, config.source)
    problems: list[str] = []
    rendered = 0
    events = list(EVENTS) + sorted({s.mail for s in workflow.statuses.values()
                                    if s.mail and s.mail not in EVENTS})
    for language in renderer.languages():
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
                renderer.render(event, language, ctxmod.sample(event, config, workflow))
                rendered += 1
            except RenderError as exc:
                problems.append(str(exc))
    return problems, rendered
