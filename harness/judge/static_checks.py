"""What the submission's source says, read by the harness from the file's text.

The worker's counters run beside the submission and can be switched off by it; the
syntax tree cannot. For a vectorized loss this finds, in the function and in every
function of the file it reaches (by name: calls, thread targets, callbacks):
- uses of the naive losses (SPEC.md, Losses: "a vectorized version that calls the naive one is
  wrong");
- loops over examples: `for`/`while`/comprehensions whose count comes from the number of
  rows (`range(X.shape[0])`, `range(num_train)` with `num_train = X.shape[0]`,
  `while i < len(y)`, `for row in X`, `zip(X, y)`, `enumerate(y)`, ...).
Loops over classes or over a few row blocks (`X.split(...)`) are not loops over
examples; the timing check (properties/test_vectorization.py) covers what a reading of
the source cannot.
"""
import ast
from typing import Dict, List, NamedTuple, Set

NAIVE = ("svm_loss_naive", "softmax_loss_naive")
# Parameter names that hold the examples (X, y and their batches) in the course's styles.
DATA_PARAMS = {"X", "y", "x", "X_batch", "y_batch", "X_b", "y_b", "labels", "data", "targets"}
BLOCKS = {"split", "chunk", "tensor_split", "t", "T"}  # iterating these is not per example


class Finding(NamedTuple):
    function: str   # where, in the file
    line: int
    what: str       # one line for the student


def _top_level(tree: ast.Module) -> Dict[str, ast.AST]:
    return {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _names(node) -> Set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | \
           {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


def _reached(functions: Dict[str, ast.AST], start: str) -> List[str]:
    order, todo = [], [start]
    while todo:
        name = todo.pop(0)
        if name in order or name not in functions:
            continue
        order.append(name)
        todo += sorted(_names(functions[name]) & set(functions))
    return order


class _Loops(ast.NodeVisitor):
    """Loops whose trip count is the number of examples, in one function."""

    def __init__(self, fn, data: Set[str]):
        self.data = set(data) | {a.arg for a in fn.args.args if a.arg in DATA_PARAMS}
        self.n_names: Set[str] = set()
        self.found: List[tuple] = []

    # -- what counts the examples
    def _is_count(self, e) -> bool:
        """An expression that is (or is computed from) the number of rows."""
        for n in ast.walk(e):
            if isinstance(n, ast.Name) and n.id in self.n_names:
                return True
            if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Attribute) and n.value.attr == "shape" \
                    and self._is_data(n.value.value) and isinstance(n.slice, ast.Constant) \
                    and (n.slice.value == 0 or (n.slice.value == -1 and self._is_labels(n.value.value))):
                return True
            if isinstance(n, ast.Call):
                f = n.func
                if isinstance(f, ast.Name) and f.id == "len" and n.args and self._is_data(n.args[0]):
                    return True
                if isinstance(f, ast.Attribute) and self._is_data(f.value) and (
                        (f.attr == "size" and n.args and isinstance(n.args[0], ast.Constant) and n.args[0].value == 0)
                        or (f.attr == "numel" and self._is_labels(f.value))):
                    return True
        return False

    def _is_data(self, e) -> bool:
        return isinstance(e, ast.Name) and e.id in self.data

    def _is_labels(self, e) -> bool:
        return isinstance(e, ast.Name) and e.id.lower().startswith(("y", "label", "target"))

    def _over_examples(self, it) -> bool:
        if self._is_data(it):
            return True
        if isinstance(it, ast.Call):
            f = it.func
            if isinstance(f, ast.Name) and f.id == "range":
                return any(self._is_count(a) for a in it.args)
            if isinstance(f, ast.Name) and f.id in ("zip", "enumerate", "reversed", "list", "tuple", "sorted", "iter"):
                return any(self._over_examples(a) for a in it.args)
            if isinstance(f, ast.Attribute) and f.attr in ("tolist", "numpy", "unbind") and self._is_data(f.value):
                return True
        if isinstance(it, ast.IfExp):
            return self._over_examples(it.body) or self._over_examples(it.orelse)
        return False

    # -- the visit
    def visit_Assign(self, node):
        value = node.value
        for target in node.targets:
            if isinstance(target, ast.Name) and self._is_count(value):
                self.n_names.add(target.id)
            if isinstance(target, (ast.Tuple, ast.List)) and target.elts and isinstance(target.elts[0], ast.Name) \
                    and isinstance(value, ast.Attribute) and value.attr == "shape" and self._is_data(value.value):
                self.n_names.add(target.elts[0].id)  # num_train, dim = X.shape
            if isinstance(target, ast.Name) and self._is_data(value):
                self.data.add(target.id)
        self.generic_visit(node)

    def visit_For(self, node):
        if self._over_examples(node.iter):
            self.found.append((node.lineno, f"a `for` loop over the examples: for ... in {ast.unparse(node.iter)[:60]}"))
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def visit_While(self, node):
        if self._is_count(node.test):
            self.found.append((node.lineno, f"a `while` loop over the examples: while {ast.unparse(node.test)[:60]}"))
        self.generic_visit(node)

    def _comprehension(self, node):
        for gen in node.generators:
            if self._over_examples(gen.iter):
                self.found.append((node.lineno, f"a comprehension over the examples: for ... in {ast.unparse(gen.iter)[:60]}"))
        self.generic_visit(node)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


def vectorization_findings(source: str, name: str) -> List[Finding]:
    """Why `name` (a vectorized loss) in this source is not vectorized; [] when nothing is seen."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    functions = _top_level(tree)
    if name not in functions:
        return []  # defined some other way (an assignment, a class): the timing check still runs
    findings = []
    for fn_name in _reached(functions, name):
        fn = functions[fn_name]
        if fn_name in NAIVE:
            findings.append(Finding(fn_name, fn.lineno, f"it uses `{fn_name}`, the naive loop version"))
            continue
        given = {a.arg for a in fn.args.args[1:3]} if fn_name == name else set()  # (W, X, y, reg)
        loops = _Loops(fn, given)
        loops.visit(fn)
        findings += [Finding(fn_name, line, what) for line, what in loops.found]
    return findings


def rebound_parameters(source: str, name: str) -> Set[str]:
    """The parameters of top-level function `name` that its body assigns to (`num_iters = 100`,
    `lr += ...`, a for target) and reads after that: the argument the caller gave no longer
    reaches what follows. (Assigned and never read again, the assignment changes nothing.)"""
    try:
        function = _top_level(ast.parse(source)).get(name)
    except SyntaxError:
        return set()
    if function is None:
        return set()
    args = function.args
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    names = [n for n in ast.walk(function) if isinstance(n, ast.Name) and n.id in params]
    first_store = {}
    for n in names:
        if isinstance(n.ctx, ast.Store):
            first_store[n.id] = min(first_store.get(n.id, n.lineno), n.lineno)
    return {n.id for n in names if isinstance(n.ctx, ast.Load) and n.id in first_store
            and n.lineno > first_store[n.id]}
