"""Dependencies point one way: importing store and mailer never pulls in Textual."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str) -> list[str]:
    """Every module of a package that exists today (others are still being written)."""
    path = ROOT / package
    if not (path / "__init__.py").exists():
        return []
    return [package] + [f"{package}.{m.name}" for m in pkgutil.iter_modules([str(path)])]


def test_store_and_mailer_do_not_import_textual() -> None:
    modules = _modules("store") + _modules("mailer")
    assert "store.orders" in modules and "store.customers" in modules
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "", f"store/mailer imported {out.stdout.strip()}"


def test_store_does_not_import_mailer() -> None:
    script = (
        "import importlib, sys\n"
        f"for name in {_modules('store')!r}:\n"
        "    importlib.import_module(name)\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'mailer')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "", f"store imported {out.stdout.strip()}"


def test_store_has_no_import_cycle() -> None:
    """One idea per module, each importing only the ideas below it: no module of store is
    reachable from a module it imports (grimp is the graph import-linter builds)."""
    import grimp

    graph = grimp.build_graph("store")
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported != module and graph.chain_exists(importer=imported, imported=module):
                cycles.append(f"{module} <-> {imported}")
    assert not cycles, f"import cycles in store: {cycles}"


def test_the_command_line_does_not_load_the_http_stack() -> None:
    """`backroom serve` imports uvicorn (and uvicorn the web app) inside the command: every
    other command starts without FastAPI, pydantic, uvicorn or pycountry (~150 ms)."""
    script = (
        "import sys\n"
        "import tui.cli\n"
        "heavy = ('fastapi', 'starlette', 'pydantic', 'uvicorn', 'web', 'pycountry', 'httpx')\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "", f"the CLI imported {out.stdout.strip()}"


def test_web_imports_neither_the_app_nor_the_mailer() -> None:
    modules = _modules("web")
    assert "web.app" in modules and "web.orders" in modules
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui', 'mailer'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "", f"web imported {out.stdout.strip()}"
