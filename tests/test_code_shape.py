"""The shape holds: no function of the app's packages grows past what one reading takes in."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("store", "mailer", "documents", "web", "tui")
MOST_LINES = 80  # a function over this is split where a name explains the part
# A migration is a record of what was run on databases in the field: it is never edited.
EXEMPT_FOLDERS = (Path("store/migrations"),)


def _functions(path: Path) -> list[tuple[str, int, int]]:
    """(qualified name, first line, lines) of every function in a module, nested ones too."""
    found: list[tuple[str, int, int]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                end = child.end_lineno or child.lineno
                found.append((prefix + child.name, child.lineno, end - child.lineno + 1))
                walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}{child.name}.")
            else:
                walk(child, prefix)

    walk(ast.parse(path.read_text(encoding="utf-8"), str(path)), "")
    return found


def test_no_function_is_longer_than_80_lines() -> None:
    long = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = path.relative_to(ROOT)
            if any(where.is_relative_to(folder) for folder in EXEMPT_FOLDERS):
                continue
            long += [f"{where}:{line} {name} ({lines} lines)"
                     for name, line, lines in _functions(path) if lines > MOST_LINES]
    assert not long, (f"functions over {MOST_LINES} lines (split each where a name explains "
                      "the part): " + "; ".join(long))


def test_the_measure_counts_what_it_should(tmp_path: Path) -> None:
    """A long method in a class and a long function nested in another are both found."""
    body = "".join(f"    x{n} = {n}\n" for n in range(MOST_LINES))
    source = tmp_path / "sample.py"
    source.write_text("class A:\n    def m(self) -> None:\n"
                      + body.replace("    ", "        ")
                      + "def outer() -> None:\n    def inner() -> None:\n"
                      + body.replace("    ", "        "), encoding="utf-8")
    lengths = {name: lines for name, _line, lines in _functions(source)}
    assert lengths["A.m"] == MOST_LINES + 1
    assert lengths["outer.inner"] == MOST_LINES + 1 and lengths["outer"] == MOST_LINES + 2
