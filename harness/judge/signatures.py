"""The API's signatures and defaults (SPEC.md, "Signatures and defaults"), and reading
them from a submission's syntax tree.

The file is parsed with `ast` in the harness process: nothing of the submission runs,
so a default can be read even where calling the function would not show it. Type hints
(the Winter 2022 style) are ignored; names, order and default values count.
"""
import ast
import functools
import math
from pathlib import Path
from typing import Dict, List, Optional, Tuple

_LOSS = "W, X, y, reg"
_TRAIN_DEFAULTS = "learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, verbose=False"

# API name -> {method ("" for a function) -> the course's parameter list}.
SIGNATURES: Dict[str, Dict[str, str]] = {
    "svm_loss_naive": {"": _LOSS},
    "svm_loss_vectorized": {"": _LOSS},
    "softmax_loss_naive": {"": _LOSS},
    "softmax_loss_vectorized": {"": _LOSS},
    "sample_batch": {"": "X, y, num_train, batch_size"},
    "train_linear_classifier": {"": f"loss_func, W, X, y, {_TRAIN_DEFAULTS}"},
    "predict_linear_classifier": {"": "W, X"},
    "svm_get_search_params": {"": ""},
    "softmax_get_search_params": {"": ""},
    "test_one_param_set": {"": "cls, data_dict, lr, reg, num_iters=2000"},
    "LinearClassifier": {"train": f"self, X_train, y_train, {_TRAIN_DEFAULTS}", "predict": "self, X",
                         "save": "self, path", "load": "self, path"},
    # The subclasses inherit train, predict, save and load: those are judged under
    # LinearClassifier, and under a subclass only where it defines its own.
    "LinearSVM": {"loss": "self, W, X_batch, y_batch, reg"},
    "Softmax": {"loss": "self, W, X_batch, y_batch, reg"},
}
INHERITED = ("train", "predict", "save", "load")

_MISSING = object()


def _constant(node: ast.AST, names: Dict[str, ast.AST], depth=0):
    """The value of a constant expression (literals, +-*/ ** of them, a module-level
    name bound to one); _MISSING when it is not one."""
    if depth > 20:
        return _MISSING
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in names:
        return _constant(names[node.id], names, depth + 1)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _constant(node.operand, names, depth + 1)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v if isinstance(node.op, ast.USub) else +v
        return _MISSING
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
        a, b = _constant(node.left, names, depth + 1), _constant(node.right, names, depth + 1)
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)):
            if isinstance(node.op, ast.Pow) and abs(b) > 64:
                return _MISSING
            try:
                return {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                        ast.Div: lambda: a / b, ast.Pow: lambda: a ** b}[type(node.op)]()
            except (ZeroDivisionError, OverflowError):
                return _MISSING
    return _MISSING


class Param:
    def __init__(self, name: str, default=_MISSING, source: str = ""):
        self.name, self.default, self.source = name, default, source

    @property
    def has_default(self):
        return self.source != ""


def _params(fn: ast.FunctionDef, names) -> Tuple[List[Param], List[Param], bool]:
    """(positional parameters, keyword-only parameters, takes *args or **kwargs)."""
    a = fn.args
    positional = a.posonlyargs + a.args
    pos_defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    pos = [Param(p.arg, _constant(d, names) if d is not None else _MISSING, ast.unparse(d) if d is not None else "")
           for p, d in zip(positional, pos_defaults)]
    kw = [Param(p.arg, _constant(d, names) if d is not None else _MISSING, ast.unparse(d) if d is not None else "")
          for p, d in zip(a.kwonlyargs, a.kw_defaults)]
    return pos, kw, bool(a.vararg or a.kwarg)


@functools.lru_cache(maxsize=None)
def _spec(params: str):
    fn = ast.parse(f"def f({params}): pass").body[0]
    return _params(fn, {})[0]


def _same(want, got) -> bool:
    """A default equal to the course's, of a type that behaves alike: an int where the
    course has an int (range(num_iters)), a bool or 0/1 for verbose, a number for a float."""
    if isinstance(want, bool):
        return got is want or (type(got) is int and got == int(want))
    if isinstance(want, int):
        return type(got) is int and got == want
    if isinstance(want, float):
        return type(got) in (int, float) and math.isclose(got, want, rel_tol=1e-12, abs_tol=0.0)
    return got == want


def check(fn: ast.FunctionDef, spec: str, names) -> Tuple[List[str], List[str]]:
    """(problems, notes) of one function against the course's parameter list."""
    want = _spec(spec)
    pos, kw, star = _params(fn, names)
    problems, notes = [], []
    got_names = [p.name for p in pos[:len(want)]]
    if got_names != [p.name for p in want]:
        problems.append(f"parameters must start ({', '.join(p.name for p in want)}), in this order;"
                        f" got ({', '.join(p.name for p in pos)})")
        return problems, notes
    for extra in pos[len(want):] + kw:
        if not extra.has_default:
            problems.append(f"has a parameter `{extra.name}` the course does not pass (it needs a default)")
    for w, g in zip(want, pos):
        if w.has_default and not g.has_default:
            problems.append(f"`{w.name}` must default to {w.source} (the notebook relies on it); it has no default")
        elif w.has_default and g.default is _MISSING:
            notes.append(f"the default of `{w.name}` is `{g.source}`, not a constant: not checked")
        elif w.has_default and not _same(w.default, g.default):
            problems.append(f"`{w.name}` must default to {w.source}; got {w.name}={g.source}")
        elif not w.has_default and g.has_default:
            problems.append(f"`{w.name}` must be a required parameter (the course gives it no default);"
                            f" got {w.name}={g.source}")
    del star  # *args / **kwargs beside the course's parameters change nothing the notebook does
    return problems, notes


def _defs(body) -> Dict[str, ast.AST]:
    """The last binding of each name by def/class at this level (inside if/try blocks too)."""
    found = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] = node
        elif isinstance(node, ast.If):
            found.update(_defs(node.body))
            found.update(_defs(node.orelse))
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                found.update(_defs(block))
    return found


def _module_constants(tree: ast.Module) -> Dict[str, ast.AST]:
    return {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


@functools.lru_cache(maxsize=4)
def _parse(source: bytes) -> ast.Module:
    """One parse of a file for its 13 names (the tree is only read)."""
    return ast.parse(source)


def judge(path: Path, name: str) -> Tuple[List[str], List[str]]:
    """(problems, notes) of API name `name` in the file `path`."""
    tree = _parse(Path(path).read_bytes())
    top, names = _defs(tree.body), _module_constants(tree)
    node = top.get(name)
    if node is None:
        return [], [f"`{name}` is not defined by a def or class statement: its signature is not checked"]
    problems, notes = [], []
    methods = _defs(node.body) if isinstance(node, ast.ClassDef) else {}
    own = dict(SIGNATURES[name])
    if isinstance(node, ast.ClassDef) and name != "LinearClassifier":
        own.update({m: SIGNATURES["LinearClassifier"][m] for m in INHERITED if m in methods})
    for method, spec in own.items():
        fn = node if method == "" else methods.get(method)
        where = name if method == "" else f"{name}.{method}"
        if fn is None:
            notes.append(f"{where} is not defined in the class body: its signature is not checked")
            continue
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            problems.append(f"{where} must be a function")
            continue
        p, n = check(fn, spec, names)
        problems += [f"{where}: {text}" for text in p]
        notes += [f"{where}: {text}" for text in n]
    return problems, notes


def expected(name: str) -> str:
    """The course's signatures of one API name, for messages."""
    return "; ".join(f"{name}({spec})" if method == "" else f"{name}.{method}({spec})"
                     for method, spec in SIGNATURES[name].items())

