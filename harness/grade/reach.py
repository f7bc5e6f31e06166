"""What each name of a submission depends on, read from its syntax tree, for the verdict
cache (harness/grade/cache.py): a name's verdict may be reused only while everything it
reaches is unchanged, and only where everything it reaches is visible here.

A name's reach is its own definition and, transitively, every module-level definition,
class, import and constant that the definition names (calls, bases, defaults,
decorators, globals). Its digest is the reach's syntax trees without positions: a
comment, or a function added above it, leaves the digest as it was.

Two things the digest cannot see:
- a file whose module-level code does more than define (`uncacheable`): code run at
  import may change anything, so no name of that file is reused;
- a name whose reach keeps state between calls or reads the world (`afresh`): a
  `global` statement, a mutable module-level value, a mutable default, class-level
  state, an assignment into a module-level object, a file or path of its own, a module
  outside SAFE_MODULES (os, time, ...), a generator seeded from the operating system,
  torch's process-wide settings, eval/exec/globals/getattr and the like. That name is judged every run.
"""
import ast
import hashlib
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

# Modules whose use within a function has no effect the digest misses: computation only.
SAFE_MODULES = frozenset({
    "torch", "numpy", "random", "math", "cmath", "statistics", "abc", "typing", "collections",
    "itertools", "functools", "operator", "copy", "numbers", "dataclasses", "enum", "string",
    "re", "heapq", "bisect", "fractions", "decimal", "__future__", "warnings", "textwrap",
})
# Builtins that read or change what the digest cannot see (the module's namespace, files,
# the process), or that differ from process to process (hash, id).
UNSAFE_BUILTINS = frozenset({
    "eval", "exec", "compile", "__import__", "globals", "locals", "vars", "getattr", "setattr",
    "delattr", "input", "breakpoint", "hash", "id", "memoryview", "exit", "quit",
})
# Calls that take a path: allowed on a path the caller passed in (a local name), never on
# a constant or a module-level one.
PATH_CALLS = frozenset({"open", "save", "load"})
# Called with no seed, these seed from the operating system (numpy's, torch's and Python's
# global generators are seeded at the start of every property: harness/grade/plugin.py).
OS_SEEDED = frozenset({"seed", "default_rng", "RandomState", "SeedSequence", "Random", "SystemRandom"})
FINE_DECORATORS = frozenset({"staticmethod", "classmethod", "property", "abstractmethod", "no_grad",
                             "inference_mode", "enable_grad", "setter", "getter", "deleter"})
MUTABLE_NODES = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp, ast.Call)


CONSTANT_PARTS = (ast.Constant, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Tuple,
                  ast.List, ast.Set, ast.Dict, ast.Name, ast.Attribute, ast.operator, ast.unaryop, ast.boolop,
                  ast.cmpop, ast.expr_context)


def _literal(node: ast.AST) -> bool:
    """A value computed from constants and names alone (`4 << 20`, `torch.float64`): no
    call, no subscript, nothing that runs code of its own."""
    return all(isinstance(n, CONSTANT_PARTS) for n in ast.walk(node))


def _mutable(node: ast.AST) -> bool:
    return any(isinstance(n, (ast.List, ast.Dict, ast.Set)) for n in ast.walk(node))


def _is_main_guard(node: ast.AST) -> bool:
    """`if __name__ == "__main__":` -- never true in the worker (the module is linear_classifier)."""
    test = getattr(node, "test", None)
    return (isinstance(node, ast.If) and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == "__main__")


def _chain(node: ast.AST) -> List[str]:
    """`a.b.c` -> ["a", "b", "c"]; [] for anything not a plain chain of names."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):  # torch.no_grad() as a decorator
        return _chain(node.func)
    return [node.id, *reversed(parts)] if isinstance(node, ast.Name) else []


def _root_name(node: ast.AST) -> Optional[str]:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


class Source:
    """One submission file's module-level bindings, and the reach of each name."""

    def __init__(self, path: Path, text: Optional[str] = None):
        self.path = Path(path)
        self.text = self.path.read_text() if text is None else text
        self.tree = ast.parse(self.text, str(self.path))
        self.bindings: Dict[str, List[ast.AST]] = {}
        self.modules: Dict[str, str] = {}   # a module-level name bound by import -> its module
        self.uncacheable: Optional[str] = None
        for node in self.tree.body:
            self._bind(node)

    # ------------------------------------------------------------ module level

    def _bind(self, node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.bindings.setdefault(node.name, []).append(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    self._refuse(node, "a star import")
                    continue
                bound = alias.asname or alias.name.split(".")[0]
                module = (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
                if getattr(node, "level", 0):
                    module = "." * node.level + module
                self.bindings.setdefault(bound, []).append(node)
                self.modules[bound] = module
                if self._local_module(module):
                    self._refuse(node, f"an import of {module}, a file beside it")
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Attribute)
              and isinstance(node.targets[0].value, ast.Name) and _literal(node.value)
              and any(isinstance(b, (ast.FunctionDef, ast.ClassDef)) for b in self.bindings.get(node.targets[0].value.id, ()))):
            # `test_one_param_set.__test__ = False`: part of that function's reach
            self.bindings[node.targets[0].value.id].append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _literal(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not all(isinstance(t, ast.Name) for t in targets):
                self._refuse(node, "an assignment into an object")
            for target in targets:
                if isinstance(target, ast.Name):
                    self.bindings.setdefault(target.id, []).append(node)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) or isinstance(node, ast.Pass):
            pass  # a docstring
        elif _is_main_guard(node):
            pass
        else:
            self._refuse(node, f"module-level code ({type(node).__name__.lower()})")

    def _refuse(self, node: ast.AST, what: str) -> None:
        if self.uncacheable is None:
            self.uncacheable = f"line {node.lineno}: {what}, which runs at import"

    def _local_module(self, module: str) -> bool:
        """A module the submission's folder itself holds (the worker imports from there)."""
        if module.startswith("."):
            return True
        top = module.split(".")[0]
        folder = self.path.parent
        return top == self.path.stem or (folder / f"{top}.py").exists() or (folder / top).is_dir()

    # ------------------------------------------------------------ reach

    def closure(self, names: Iterable[str]) -> List[Tuple[str, ast.AST]]:
        """(name, binding node) for every module-level binding the names reach, in a
        fixed order (breadth first from the sorted names)."""
        todo, seen, out = sorted(set(names)), set(), []
        while todo:
            name = todo.pop(0)
            if name in seen:
                continue
            seen.add(name)
            for node in self.bindings.get(name, ()):
                out.append((name, node))
                free = sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name)} & self.bindings.keys() - seen)
                todo.extend(free)
        return out

    def digest(self, names: Iterable[str]) -> str:
        """The reach of `names`, without positions: equal while nothing they reach changed."""
        h = hashlib.sha256()
        names = sorted(set(names))
        for name in names:
            h.update(f"{name}:{'bound' if name in self.bindings else 'absent'}\0".encode())
        for name, node in self.closure(names):
            h.update(f"{name}\0{ast.dump(node)}\0".encode())
        return h.hexdigest()

    def positions(self, names: Iterable[str]) -> str:
        """Where the reach of `names` sits in the file: for verdicts whose messages cite lines."""
        spots = [f"{name}:{node.lineno}-{node.end_lineno}" for name, node in self.closure(names)]
        return hashlib.sha256(" ".join(spots).encode()).hexdigest()

    def afresh(self, names: Iterable[str]) -> Optional[str]:
        """Why the verdict of what reaches `names` cannot be reused (None: it can)."""
        for name, node in self.closure(names):
            why = self._state_or_world(node)
            if why:
                return f"{name} {why}"
        return None

    def _state_or_world(self, top: ast.AST) -> Optional[str]:
        if isinstance(top, (ast.Import, ast.ImportFrom)):
            modules = [self.modules.get(a.asname or a.name.split(".")[0], "") for a in top.names]
            unsafe = [m for m in modules if m.split(".")[0] not in SAFE_MODULES]
            return f"uses {unsafe[0]}" if unsafe else None
        if isinstance(top, (ast.Assign, ast.AnnAssign)):
            return "is a mutable module-level value" if _mutable(top.value) else None
        # names the definition binds itself (arguments, assignments): `id = torch.randint(...)`
        # is a local variable, not the builtin
        own = {n.id for n in ast.walk(top) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        own |= {a.arg for n in ast.walk(top) if isinstance(n, ast.arguments)
                for a in [*n.posonlyargs, *n.args, *n.kwonlyargs, n.vararg, n.kwarg] if a is not None}
        for node in ast.walk(top):
            if isinstance(node, ast.Global):
                return "writes a module-level name (global)"
            if isinstance(node, (ast.Import, ast.ImportFrom)):  # every name of `import math, os`
                modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                for module in modules:
                    if getattr(node, "level", 0) or module.split(".")[0] not in SAFE_MODULES or self._local_module(module):
                        return f"imports {module or '.'}"
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if not (isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Pass))
                            or isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                            or isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None
                            and _literal(stmt.value) and not _mutable(stmt.value)):
                        return f"keeps class-level state (line {stmt.lineno})"
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for deco in node.decorator_list:
                    chain = _chain(deco)
                    if not chain or chain[-1] not in FINE_DECORATORS:
                        return f"has a decorator ({ast.unparse(deco)}) that may keep state"
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                defaults = [*node.args.defaults, *[d for d in node.args.kw_defaults if d is not None]]
                if any(isinstance(d, MUTABLE_NODES) for d in defaults):
                    return "has a mutable default argument"
            if (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in UNSAFE_BUILTINS
                    and node.id not in self.bindings and node.id not in own):
                return f"calls {node.id}()"
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for target in targets:
                    if not isinstance(target, ast.Name) and _root_name(target) in self.bindings:
                        return f"assigns into the module-level {_root_name(target)}"
            if isinstance(node, ast.Call):
                why = self._call(node)
                if why:
                    return why
        return None

    def _call(self, node: ast.Call) -> Optional[str]:
        chain = _chain(node.func)
        if not chain:
            return None
        module = self.modules.get(chain[0], "").split(".")[0]
        if chain[-1] in PATH_CALLS and (chain == ["open"] or module in ("torch", "numpy")):
            at = 1 if chain[-1] == "save" and module == "torch" else 0  # torch.save(obj, path)
            path = node.args[at] if len(node.args) > at else None
            if not (isinstance(path, ast.Name) and path.id not in self.bindings):
                return f"calls {'.'.join(chain)}() on a path of its own"
        if chain[-1] in OS_SEEDED and (module in ("numpy", "torch", "random") or chain == [chain[-1]]) and not (
                node.args or node.keywords) or chain[-1] == "SystemRandom":
            return f"calls {'.'.join(chain)}() with no seed: a seed from the operating system"
        if module == "torch" and len(chain) > 1 and (chain[1].startswith("set_") or chain[1] in (
                "use_deterministic_algorithms", "backends", "hub")):
            return f"calls {'.'.join(chain)}(), which changes the process"
        return None
