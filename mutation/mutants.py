"""The mutants of the mutation run: made by cosmic-ray's operators, stored as line edits.

A mutant is one change of `mutation/linear_classifier.py` (a plain correct solution):
an operator, a constant, a comparison, a default, ... changed once. cosmic-ray
(requirements-mutation.txt) finds them; each is kept as the lines it replaces, so the
committed CI sample (`sample.json`) applies without cosmic-ray and notices when the
subject file changed under it.
"""
import ast
import difflib
import json
from pathlib import Path
from typing import List, NamedTuple, Tuple

HERE = Path(__file__).resolve().parent
SUBJECT = HERE / "linear_classifier.py"
SAMPLE = HERE / "sample.json"
EQUIVALENTS = HERE / "equivalents.txt"

# Binary operators replaced by bitwise or shift operators only raise TypeError on
# float tensors: every such mutant crashes at once, whatever the suite checks. They
# cost a harness start each and measure nothing, so the run leaves them out.
SKIPPED_TARGETS = ("BitAnd", "BitOr", "BitXor", "LShift", "RShift")


class Mutant(NamedTuple):
    id: str            # "operator:occurrence", cosmic-ray's own numbering
    start: int         # first line replaced (1-based)
    before: Tuple[str, ...]
    after: Tuple[str, ...]

    def source(self, original: str) -> str:
        lines = original.splitlines(keepends=True)
        got = tuple(lines[self.start - 1:self.start - 1 + len(self.before)])
        if got != self.before:
            raise ValueError(f"mutant {self.id} is stale: line {self.start} of {SUBJECT.name} is "
                             f"{''.join(got).strip()!r}, the mutant expects {''.join(self.before).strip()!r}")
        return "".join(lines[:self.start - 1]) + "".join(self.after) + "".join(
            lines[self.start - 1 + len(self.before):])

    def change(self) -> str:
        """One line: what the mutant changed ("  a + b  ->  a - b")."""
        return f"{' '.join(s.strip() for s in self.before)}  ->  {' '.join(s.strip() for s in self.after)}"

    def as_json(self) -> dict:
        return {"id": self.id, "start": self.start, "before": list(self.before), "after": list(self.after)}

    @classmethod
    def from_json(cls, d: dict) -> "Mutant":
        return cls(d["id"], d["start"], tuple(d["before"]), tuple(d["after"]))


def _edit(mid: str, original: str, mutated: str) -> Mutant:
    a, b = original.splitlines(keepends=True), mutated.splitlines(keepends=True)
    ops = [op for op in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if op[0] != "equal"]
    i1, i2, j1, j2 = ops[0][1], ops[-1][2], ops[0][3], ops[-1][4]
    return Mutant(mid, i1 + 1, tuple(a[i1:i2]), tuple(b[j1:j2]))


def enumerate_mutants(path: Path = SUBJECT) -> List[Mutant]:
    """Every mutant cosmic-ray's core operators make of the file (those that take no
    arguments), less SKIPPED_TARGETS, in a fixed order."""
    from cosmic_ray import plugins
    from cosmic_ray.ast import ast_nodes, get_ast_from_path
    from cosmic_ray.mutating import mutate_code

    original = path.read_text()
    mutants = []
    for name in sorted(plugins.operator_names()):
        if not name.startswith("core/") or name.split("_")[-1] in SKIPPED_TARGETS:
            continue
        operator_class = plugins.get_operator(name)
        if operator_class.arguments():
            continue
        operator = operator_class()
        count = sum(len(list(operator.mutation_positions(node))) for node in ast_nodes(get_ast_from_path(path)))
        for occurrence in range(count):
            mutated = mutate_code(original, operator, occurrence)
            if mutated is not None and mutated != original:
                mutants.append(_edit(f"{name}:{occurrence}", original, mutated))
    return mutants


def enclosing_name(source: str, line: int) -> str:
    """The top-level function or class holding `line` ("" at module level)."""
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if first <= line <= node.end_lineno:
                return node.name
    return ""


class Triage(NamedTuple):
    kind: str      # "equivalent" (left out of the score) or "accepted" (a known survivor, counted)
    change: str    # the mutant's change, to notice a stale entry
    reason: str


def load_triage(path: Path = EQUIVALENTS) -> dict:
    """equivalents.txt: `ID | kind | change | reason` per line; '#' starts a comment."""
    triage = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" | ")]
        if len(parts) != 4 or parts[1] not in ("equivalent", "accepted") or not parts[3]:
            raise ValueError(f"{path.name}:{number}: expected `ID | equivalent|accepted | change | reason`")
        triage[parts[0]] = Triage(parts[1], parts[2], parts[3])
    return triage


def load_sample(path: Path = SAMPLE) -> List[Mutant]:
    return [Mutant.from_json(d) for d in json.loads(path.read_text())["mutants"]]
