"""Issue 10: the app asks the store. The rule sentences live in store/rules.py; no screen,
dialog or command writes one of them again (a copy would drift from the rule it quotes)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _literals(path: Path) -> list[str]:
    """Every string literal of a module, the literal parts of f-strings included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def _rule_fragments() -> set[str]:
    """The words of store.rules' sentences: each literal of four words or more (shorter
    ones, like "order ", say nothing of a rule)."""
    return {text.strip(" :;()") for text in _literals(ROOT / "store" / "rules.py")
            if len(text.split()) >= 5 and not text.startswith(("Why", "What", "The", "How"))}


def test_the_rule_sentences_are_written_once_in_the_store() -> None:
    fragments = _rule_fragments()
    assert any("cancel or archive it instead" in f for f in fragments)  # the probe works
    copies = [f"{path.relative_to(ROOT)}: {fragment!r}"
              for path in sorted((ROOT / "tui").rglob("*.py"))
              for text in _literals(path)
              for fragment in fragments if fragment in text]
    assert copies == [], "rule sentences written again outside store/rules.py"
