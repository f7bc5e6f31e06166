"""The layout of harness/ (harness/__init__.py is the map): the import graph of every module
under harness/ and reference/, read from the syntax tree (module-level and function-level
imports alike, relative imports resolved), must have no circle and no import from a
lower layer into a higher one; the modules that run inside the confined worker import
only the stdlib, numpy, torch and each other.

Each rule is also tried on a graph that breaks it (the import circle and the upward
imports of the flat harness/ before the layout), so that none of them passes for want of
anything to find."""
import ast
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "reference")

# Layer of each module prefix, the longest prefix wins. A module may import its own layer
# and the layers listed for it, nothing else of harness/ or reference/.
LAYER_OF = {
    "harness": "top", "harness.errors": "errors", "harness.api": "api",
    "reference": "reference", "harness.judge": "judge", "harness.confine": "confine",
    "harness.grade": "grade", "harness.batch": "top",
}
MAY_IMPORT = {
    "errors": set(),
    "api": set(),
    "reference": {"errors", "api"},
    "judge": {"errors", "api", "reference"},
    "confine": {"errors", "api"},
    "grade": {"errors", "api", "reference", "judge", "confine"},
    "top": {"errors", "api", "reference", "judge", "confine", "grade"},
}
# What runs inside the confined worker (confine/script.py pastes them into one script).
WORKER_SIDE = ("harness.confine.worker_main", "harness.confine.zygote_main")
WORKER_MAY_IMPORT = {"numpy", "torch"}  # besides the stdlib and one another


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, known: Set[str], root: Path = ROOT) -> List[Tuple[str, int]]:
    """(imported module, line) for every import statement anywhere in the file, `from P
    import x` resolved to the module P.x where that is a module, relative imports made
    absolute."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.append((sub if sub in known else source, node.lineno))
    return found


def graph_of(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> Dict[str, Dict[str, int]]:
    """module -> {module of harness/ or reference/ it imports: line}."""
    files = {module_name(p, root): p for pkg in packages for p in sorted((root / pkg).rglob("*.py"))}
    graph = {}
    for name, path in files.items():
        edges = {}
        for target, line in imports_of(path, set(files), root):
            while target and target not in files:  # `import harness.x.y` names harness.x.y
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.setdefault(target, line)
        graph[name] = edges
    return graph


def layer(module: str) -> Optional[str]:
    best = max((p for p in LAYER_OF if module == p or module.startswith(p + ".")), key=len, default=None)
    return LAYER_OF[best] if best else None


def cycles(graph: Dict[str, Dict[str, int]]) -> List[List[str]]:
    """One circle per strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def upward(graph: Dict[str, Dict[str, int]]) -> List[str]:
    """Every import of a layer its importer may not import."""
    bad = []
    for source, edges in sorted(graph.items()):
        mine = layer(source)
        for target, line in sorted(edges.items()):
            theirs = layer(target)
            if mine is None or theirs is None or theirs == mine:
                continue
            if theirs not in MAY_IMPORT[mine]:
                bad.append(f"{source} (line {line}) imports {target}: {mine} may not import {theirs}")
    return bad


def worker_side_violations(root: Path = ROOT) -> List[str]:
    """Imports of the worker-side modules (and of the harness modules they import) that
    are neither the stdlib, numpy, torch, nor another worker-side module."""
    files = {module_name(p, root): p for pkg in PACKAGES for p in (root / pkg).rglob("*.py")}
    stdlib = set(sys.stdlib_module_names)
    bad, todo, seen = [], list(WORKER_SIDE), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for target, line in imports_of(files[name], set(files), root):
            top = target.split(".")[0]
            if target in files and target.startswith("harness.confine."):
                todo.append(target)  # itself worker side now: its imports are checked too
            elif top in stdlib or top in WORKER_MAY_IMPORT:
                continue
            else:
                bad.append(f"{name} (line {line}) imports {target}")
    return bad


# ---------------------------------------------------------------- the rules, on this tree

def test_no_import_circle():
    found = cycles(graph_of())
    assert not found, "import circles (module-level and function-level imports alike):\n" + \
        "\n".join(" <-> ".join(c) for c in found)


def test_no_import_from_a_lower_layer_into_a_higher_one():
    bad = upward(graph_of())
    assert not bad, "\n".join(bad)


def test_every_module_has_a_layer():
    graph = graph_of()
    assert [m for m in graph if layer(m) is None] == []
    assert {"harness.judge.compare", "harness.confine.worker", "harness.grade.plugin",
            "harness.grade.batch.session"} <= set(graph)  # the walk does see the sub-packages


def test_the_worker_side_imports_only_the_stdlib_numpy_and_torch():
    assert worker_side_violations() == []


def test_the_worker_script_holds_every_harness_module_its_entry_points_import():
    """script.py strips the worker side's harness imports and pastes the modules in
    instead: each must be one of those it pastes, or the worker fails at its first name."""
    from harness.confine import script
    files = {module_name(p): p for p in (ROOT / "harness").rglob("*.py")}
    pasted = {f"harness.confine.{Path(n).stem}" for n in script.INSIDE}
    for entry in WORKER_SIDE:
        own = {t for t, _ in imports_of(files[entry], set(files)) if t.startswith("harness")}
        assert own <= pasted, f"{entry} imports {sorted(own - pasted)}, which the worker's script lacks"


def test_the_root_conftest_only_loads_the_plugin():
    tree = ast.parse((ROOT / "conftest.py").read_text())
    statements = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    assert len(statements) == 1 and ast.unparse(statements[0]) == "pytest_plugins = ['harness.grade.plugin']"


# ---------------------------------------------------------------- the rules can fail

def _tree(tmp_path: Path, files: Dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for pkg in ("harness", "reference"):
        (tmp_path / pkg).mkdir(exist_ok=True)
        (tmp_path / pkg / "__init__.py").touch()
    return tmp_path


def test_a_function_level_import_circle_is_found(tmp_path):
    """The circle of the flat harness/: subject -> worker -> zygote -> worker -> subject,
    hidden in function-level imports."""
    root = _tree(tmp_path, {
        "harness/confine/__init__.py": "",
        "harness/confine/subject.py": "def open_subject():\n    from harness.confine.worker import W\n",
        "harness/confine/worker.py": "from harness.confine import zygote\nfrom harness.confine.subject import S\n",
        "harness/confine/zygote.py": "def source():\n    from harness.confine.worker import worker_source\n",
    })
    assert cycles(graph_of(root)) == [["harness.confine.subject", "harness.confine.worker",
                                       "harness.confine.zygote"]]


def test_a_relative_import_is_resolved(tmp_path):
    root = _tree(tmp_path, {
        "harness/judge/__init__.py": "",
        "harness/judge/a.py": "def f():\n    from . import b\n",
        "harness/judge/b.py": "from .a import f\n",
        "harness/judge/c.py": "from .. import errors\nfrom ..confine import worker\n",
        "harness/errors.py": "", "harness/confine/__init__.py": "", "harness/confine/worker.py": "",
    })
    graph = graph_of(root)
    assert graph["harness.judge.a"] == {"harness.judge.b": 2}
    assert set(graph["harness.judge.c"]) == {"harness.errors", "harness.confine.worker"}
    assert cycles(graph) == [["harness.judge.a", "harness.judge.b"]]


def test_an_upward_import_is_found(tmp_path):
    """As report and policy imported subject for its exceptions: judge -> confine; and
    confine -> grade, reference -> judge."""
    root = _tree(tmp_path, {
        "harness/judge/__init__.py": "", "harness/confine/__init__.py": "", "harness/grade/__init__.py": "",
        "harness/judge/policy.py": "from harness.confine.subject import SubmissionError\n",
        "harness/confine/subject.py": "def f():\n    import harness.grade.report\n",
        "harness/grade/report.py": "from harness.judge import policy\nfrom harness.confine import subject\n",
        "reference/losses.py": "from harness.judge import policy\n",
    })
    assert upward(graph_of(root)) == [
        "harness.confine.subject (line 2) imports harness.grade.report: confine may not import grade",
        "harness.judge.policy (line 1) imports harness.confine.subject: judge may not import confine",
        "reference.losses (line 1) imports harness.judge.policy: reference may not import judge",
    ]


def test_a_worker_side_import_of_the_harness_is_found(tmp_path, monkeypatch):
    root = _tree(tmp_path, {
        "harness/confine/__init__.py": "",
        "harness/confine/worker_main.py": "import json, torch\nfrom harness.confine.wire import send\n",
        "harness/confine/wire.py": "import numpy\ndef f():\n    from harness.judge import compare\n",
        "harness/confine/zygote_main.py": "import os\nimport hypothesis\n",
        "harness/judge/__init__.py": "", "harness/judge/compare.py": "",
    })
    assert sorted(worker_side_violations(root)) == [
        "harness.confine.wire (line 3) imports harness.judge.compare",
        "harness.confine.zygote_main (line 2) imports hypothesis",
    ]
