"""The layout of the package, checked from the source: every module under ``bpviz/`` is parsed with
``ast`` (nothing is imported).

- **No import cycles** among bpviz modules, counting the imports that run when a module is loaded:
  the module body, class bodies and ``if``/``try``/``with`` blocks at that level. An import inside
  a function runs only when the function is called, after both modules are loaded, so it cannot
  take part in a cycle and is left out of (a); it still counts for (b) and (c). Imports under
  ``if TYPE_CHECKING:`` never run and count for nothing.
- **The engine is plain numpy**: nothing under ``bpviz/engine/`` imports Qt, pyqtgraph, processes,
  threads or sockets, at any level.
- **One direction**: engine ← training ← host ← ui ← app and cli. A module imports modules of
  its own layer or the layers before it, never a later one (the engine imports none of the others,
  the ui never imports the command line). Every module must be in ``LAYERS``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bpviz"

# The layers in order; a module belongs to the layer of the longest prefix that matches its name
# (a prefix "a.b" matches "a.b" itself and "a.b.*"; "bpviz", the package's __init__, only itself).
# (bpviz, the package's __init__, sits with the engine)
LAYERS = (
    ("engine", ("bpviz.engine", "bpviz.resources", "bpviz.helptext", "bpviz.lessons", "bpviz")),
    ("training", ("bpviz.training", "bpviz.messages")),
    ("host", ("bpviz.host",)),
    ("ui", ("bpviz.ui",)),
    ("app and cli", ("bpviz.app", "bpviz.cli", "bpviz.__main__", "bpviz.bench",
                     "bpviz.platform_check")),
)
ENGINE_FORBIDDEN = ("PySide6", "pyqtgraph", "shiboken6", "multiprocessing", "threading", "socket",
                    "subprocess", "concurrent")


# -- reading the source ------------------------------------------------------------------------

def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name → file, for every .py file under ``package``."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(body, at_load: bool):
    """(node, loaded when the module loads?) for every import statement in ``body``."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, at_load
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports(node.orelse, at_load)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _imports(getattr(node, "body", []), False)
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    yield from _imports(inner, at_load)


def imports_of(name: str, path: Path, modules: dict[str, Path]):
    """(imported name, loaded when ``name`` loads?) for every import in the file. A bpviz import
    is resolved to the module it names: ``from . import x`` to the submodule x if there is one,
    ``from .m import f`` to module m."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node, at_load in _imports(tree.body, True):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, at_load
            continue
        if node.level:
            base = name.split(".")
            base = base[:len(base) - node.level + (1 if is_package else 0)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module
        for alias in node.names:
            sub = f"{target}.{alias.name}"
            yield (sub if sub in modules else target), at_load


def import_graph(package: Path):
    """(modules, {module: [(imported module, at load)]}) restricted to the package's modules."""
    modules = module_files(package)
    top = package.name
    graph = {name: [(t, load) for t, load in imports_of(name, path, modules)
                    if t == top or t.startswith(top + ".")]
             for name, path in modules.items()}
    return modules, graph


# -- the rules ---------------------------------------------------------------------------------

def cycles(graph) -> list[list[str]]:
    """The import cycles formed by the imports that run at load time, one list per cycle."""
    edges = {m: sorted({t for t, load in deps if load and t in graph and t != m})
             for m, deps in graph.items()}
    found, state, stack = [], {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in edges[m]:
            if state.get(t) == "open":
                found.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = "done"

    for m in sorted(edges):
        if m not in state:
            visit(m)
    return found


def engine_violations(package: Path, known=frozenset()) -> list[str]:
    modules = module_files(package)
    engine = f"{package.name}.engine"
    out = []
    for name, path in modules.items():
        if not (name == engine or name.startswith(engine + ".")) or name in known:
            continue
        for target, _ in imports_of(name, path, modules):
            if target.split(".")[0] in ENGINE_FORBIDDEN:
                out.append(f"{name} imports {target}")
    return out


def layer_of(name: str, layers=LAYERS) -> int | None:
    best = None
    for rank, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if name == prefix or ("." in prefix and name.startswith(prefix + ".")):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    return None if best is None else best[0]


def direction_violations(graph, layers=LAYERS) -> list[str]:
    out = []
    for name, deps in graph.items():
        rank = layer_of(name, layers)
        if rank is None:
            out.append(f"{name} is in no layer: add it to LAYERS")
            continue
        for target, _ in deps:
            other = layer_of(target, layers)
            if other is not None and other > rank:
                out.append(f"{name} ({layers[rank][0]}) imports {target} ({layers[other][0]})")
    return out


# -- the checks on bpviz -----------------------------------------------------------------------

def test_no_import_cycles():
    _, graph = import_graph(PACKAGE)
    assert cycles(graph) == []


def test_the_engine_imports_no_qt_processes_threads_or_sockets():
    assert engine_violations(PACKAGE) == []


def test_imports_go_one_way():
    _, graph = import_graph(PACKAGE)
    assert direction_violations(graph) == []


def test_every_module_is_read():
    modules, graph = import_graph(PACKAGE)
    assert {"bpviz", "bpviz.engine.network", "bpviz.cli", "bpviz.cli.common",
            "bpviz.ui.window.main_window", "bpviz.host"} <= set(modules)
    # the package's own imports are found: relative, absolute, and `from . import module`
    assert ("bpviz.engine.network", True) in graph["bpviz.engine.surface"]
    assert ("bpviz.engine.config", False) in graph["bpviz.cli.train"]


# -- the checks themselves fail on a tree that breaks the rules --------------------------------

def _tree(tmp_path, files: dict[str, str]) -> Path:
    root = tmp_path / "bpviz"
    for rel, text in {"__init__.py": "", "engine/__init__.py": "", "ui/__init__.py": "",
                      "cli/__init__.py": "", **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_a_cycle_is_found_and_a_function_level_import_is_not_one(tmp_path):
    root = _tree(tmp_path, {
        "engine/a.py": "from . import b\n",
        "engine/b.py": "from .c import f\n",
        "engine/c.py": "import bpviz.engine.a\ndef f():\n    from . import b\n",
        "engine/d.py": "def g():\n    from .e import h\n",
        "engine/e.py": "from .d import g\nfrom typing import TYPE_CHECKING\n"
                       "if TYPE_CHECKING:\n    from .f import x\n",
        "engine/f.py": "from .e import h\n",
    })
    _, graph = import_graph(root)
    found = cycles(graph)
    assert len(found) == 1 and set(found[0]) == {"bpviz.engine.a", "bpviz.engine.b",
                                                 "bpviz.engine.c"}


def test_qt_in_the_engine_and_a_backward_import_are_found(tmp_path):
    root = _tree(tmp_path, {
        "engine/x.py": "import numpy\ndef f():\n    from PySide6.QtCore import QObject\n",
        "engine/y.py": "try:\n    import threading\nexcept ImportError:\n    pass\n",
        "ui/view.py": "from ..cli import main\n",
        "cli/run.py": "from ..ui.view import View\nfrom ..engine import x\n",
        "engine/z.py": "from ..ui import view\n",
        "extra.py": "",
    })
    assert sorted(engine_violations(root)) == ["bpviz.engine.x imports PySide6.QtCore",
                                               "bpviz.engine.y imports threading"]
    _, graph = import_graph(root)
    assert sorted(direction_violations(graph)) == [
        "bpviz.engine.z (engine) imports bpviz.ui.view (ui)",
        "bpviz.extra is in no layer: add it to LAYERS",
        "bpviz.ui.view (ui) imports bpviz.cli (app and cli)",
    ]


@pytest.mark.parametrize("name, layer", [("bpviz.engine.trainer", "engine"),
                                         ("bpviz", "engine"), ("bpviz.training", "training"),
                                         ("bpviz.ui.network.view", "ui"),
                                         ("bpviz.cli.snapshot", "app and cli")])
def test_layers(name, layer):
    assert LAYERS[layer_of(name)][0] == layer


# -- no object touches another's private attributes ------------------------------------------

def foreign_private_accesses(package: Path) -> list[str]:
    """Every ``x._name`` in the package where ``x`` is not ``self``, ``cls`` or ``super()``: an
    object reading or writing another object's private attribute ("file:line: x._name")."""
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                continue
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name)
                    and owner.func.id == "super"):
                continue
            found.append(f"{path.relative_to(package.parent)}:{node.lineno}: "
                         f"{ast.unparse(node)}")
    return found


def test_no_module_touches_another_objects_private_attributes():
    assert foreign_private_accesses(PACKAGE) == []


def test_a_foreign_private_access_is_found(tmp_path):
    root = _tree(tmp_path, {
        "ui/a.py": "class A:\n    def f(self, w):\n        self._x = w._saved\n"
                   "        super()._g()\n        w._fill()\n",
    })
    assert foreign_private_accesses(root) == ["bpviz/ui/a.py:3: w._saved",
                                              "bpviz/ui/a.py:5: w._fill"]
