"""Every id a key binding of the app has, so that `[keys]` in config.toml naming one that does
not exist (a typo: `queue.makr`) stops the app with the id named, as an unknown setting does,
where Textual's keymap ignored it without a word."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from pathlib import Path

from textual.binding import Binding
from textual.dom import DOMNode

from store.errors import ConfigError


@functools.cache
def known() -> frozenset[str]:
    """The ids of the bindings of every screen, dialog and widget of tui (the command line's
    modules aside: they draw nothing)."""
    root = Path(__file__).parent  # every module: some folders are namespace packages
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[1] != "cli" and parts[-1] != "__init__":
            importlib.import_module(".".join(parts))
    ids: set[str] = set()
    seen: set[type] = set()
    todo: list[type] = [DOMNode]
    while todo:
        sub: type
        for sub in todo.pop().__subclasses__():
            if sub in seen:
                continue
            seen.add(sub)
            todo.append(sub)
            if sub.__module__.startswith("tui."):
                ids.update(b.id for b in vars(sub).get("BINDINGS", ())
                           if isinstance(b, Binding) and b.id)
    return frozenset(ids)


def check(keys: Mapping[str, str]) -> None:
    """Refuse a remap whose binding id no binding has, naming it and where ids are shown."""
    unknown = sorted(set(keys) - known())
    if unknown:
        raise ConfigError(f"[keys] {unknown[0]!r}: no key of the app has that id (`?` in the "
                          "app shows each key's id, like queue.mark); correct or remove it")
