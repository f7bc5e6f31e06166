"""The verdict cache of `python -m harness check` (docs/students.md, "The verdict cache"):
a function whose reach is unchanged since a run that judged it is not judged again; its
outcome (status, messages, repro, named mistakes) is that run's.

A cached outcome is the outcome a full run gives, because every input of the judging is
in its key:
- the context (`context_key`): the harness's, the properties' and the oracles' sources,
  Python, torch, Hypothesis, pytest and numpy versions, the device, the policy, the
  isolation level and the limits, the Hypothesis settings (only deterministic ones:
  derandomized, no example database) and the environment they read;
- the function's reach in the file (harness/grade/reach.py), and the reach of every
  other name the properties judging it called (`touched`: LinearSVM's properties call
  svm_loss_vectorized too), recorded as the run judged it;
- where the outcome's messages cite the file, its path, and where they cite its lines,
  the lines its reach sits on.
Each property starts from the same seed, whatever ran before it (harness/grade/plugin.py,
`pytest_runtest_protocol`), so a function's properties give the same results with or
without the others. What the key cannot see is never cached: a file whose module-level
code does more than define, a name whose reach keeps state or reads the world (reach.py),
a function whose failure came from a timed check, and every outcome of a run in which a
worker hung, died or ran out of its time.

A grade is always a full run: the plugin uses the cache only with --verdict-cache (the
check command passes it; --no-cache there judges everything), never in batch mode, with
--e2e, --in-process, or a run that selects part of the suite.

The store is a folder of this user's, closed to others (HARNESS_CACHE_DIR, else
$XDG_CACHE_HOME/lc-harness/verdicts, else ~/.cache/lc-harness/verdicts): one small JSON
file per function and reach, the oldest removed past MAX_FILES. The worker cannot reach
it in a sandbox or as another user; a submission confined only as a process could write
it, as it could write the harness's own files: the cache only serves the student's own
check, never a grade.
"""
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional

from harness.grade import reach
from harness.grade.atomic import write_json
from harness.grade.private import FolderRefused, private_folder

DIR_ENV = "HARNESS_CACHE_DIR"
MAX_FILES = 2000          # about 4 KiB each
VARIANTS = 4              # outcomes kept per function and reach (other paths, other lines)
KEYED_ENV = ("CI", "OMP_NUM_THREADS", "HARNESS_BWRAP", "HARNESS_SANDBOX_UID", "HARNESS_SANDBOX_GID")
KEYED_ENV_PREFIXES = ("HYPOTHESIS_",)
STATUSES = ("pass", "fail", "error", "missing", "not run")
OUTCOME_FIELDS = {"status": str, "messages": list, "judged": int, "repro": (str, type(None)), "mistakes": list}


class CacheOff(Exception):
    """Why this run judges every function (said in the run's cache line)."""


def folder() -> Path:
    """This user's store, created 0700; CacheOff unless it is a folder of this user's
    that nobody else can enter."""
    base = os.environ.get(DIR_ENV)
    if not base:
        cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(cache_home, "lc-harness", "verdicts")
    try:
        return private_folder(base)
    except FolderRefused as exc:
        raise CacheOff(str(exc)) from None


def context_key(root: Path, files, options: dict, env=None) -> str:
    """Everything besides the file that a verdict depends on (`files`: the harness's,
    the properties' and the oracles' sources, under `root`)."""
    import hypothesis
    import numpy
    import pytest
    import torch
    env = os.environ if env is None else env
    h = hashlib.sha256()
    for path in files:
        h.update(f"{path.relative_to(root)}\0".encode() + hashlib.sha256(path.read_bytes()).digest())
    versions = [sys.version, torch.__version__, hypothesis.__version__, pytest.__version__, numpy.__version__]
    device = [torch.cuda.is_available(), torch.cuda.device_count() if torch.cuda.is_available() else 0]
    keyed = sorted((k, v) for k, v in env.items() if k in KEYED_ENV or k.startswith(KEYED_ENV_PREFIXES))
    h.update(json.dumps([versions, device, sorted(options.items()), keyed], default=str).encode())
    return h.hexdigest()


def _cites_lines(text: str, path: Path) -> bool:
    return re.search(rf"\bat {re.escape(path.name)}:\d+", text) is not None


class Plan:
    """What this run reuses and what it judges."""

    def __init__(self):
        self.reused: Dict[str, dict] = {}   # name -> the outcome it had
        self.afresh: Dict[str, str] = {}    # name -> why it is judged every run
        self.judge: List[str] = []          # judged now (afresh included)

    def line(self) -> str:
        """The run's one line about the cache."""
        judged = ", ".join(self.judge) if self.judge else "none"
        text = f"verdict cache: judged now {len(self.judge)} ({judged}), reused {len(self.reused)} unchanged"
        if self.afresh:
            name, why = next(iter(self.afresh.items()))
            more = f" and {len(self.afresh) - 1} more" if len(self.afresh) > 1 else ""
            text += f"; judged every run: {name} ({why}){more}"
        return text + "; --no-cache judges all"


class VerdictCache:
    """The store, for one file and one context."""

    def __init__(self, path: Path, context: str, store: Path):
        self.path = Path(path)
        self.context = context
        self.store = store
        self.source = reach.Source(self.path)
        if self.source.uncacheable:
            raise CacheOff(f"{self.path.name}, {self.source.uncacheable}")

    def _file(self, name: str) -> Path:
        own = self.source.digest([name])
        return self.store / (hashlib.sha256(f"{self.context}\0{name}\0{own}".encode()).hexdigest()[:40] + ".json")

    def _variants(self, name: str) -> list:
        try:
            found = json.loads(self._file(name).read_text())
        except (OSError, ValueError):
            return []
        return found if isinstance(found, list) else []

    def _holds(self, variant) -> Optional[dict]:
        """The variant's outcome if it holds for the file as it is now."""
        if not isinstance(variant, dict):
            return None
        touched, outcome = variant.get("touched"), variant.get("outcome")
        if not (isinstance(touched, list) and all(isinstance(t, str) for t in touched) and isinstance(outcome, dict)
                and all(isinstance(outcome.get(k), t) for k, t in OUTCOME_FIELDS.items())
                and all(isinstance(m, str) for m in outcome["messages"] + outcome["mistakes"])):
            return None
        if outcome["status"] not in STATUSES:
            return None
        if variant.get("reach") != self.source.digest(touched):
            return None
        if variant.get("path") is not None and variant["path"] != str(self.path):
            return None
        if variant.get("lines") is not None and variant["lines"] != self.source.positions(touched):
            return None
        return outcome

    def plan(self, names) -> Plan:
        plan = Plan()
        for name in names:
            why = self.source.afresh([name])
            if why:
                plan.afresh[name] = why
                plan.judge.append(name)
                continue
            outcome = next((o for o in map(self._holds, self._variants(name)) if o is not None), None)
            if outcome is None:
                plan.judge.append(name)
            else:
                plan.reused[name] = outcome
        return plan

    def keep(self, name: str, touched, outcome: dict) -> None:
        """Store `name`'s outcome, judged with `touched` called (its own reach included)."""
        touched = sorted(set(touched) | {name})
        why = self.source.afresh(touched)  # a callee of the properties' that keeps state
        if why:
            return
        text = "\n".join([*outcome["messages"], outcome["repro"] or ""])
        variant = {"touched": touched, "reach": self.source.digest(touched), "outcome": outcome,
                   "path": str(self.path) if str(self.path) in text else None,
                   "lines": self.source.positions(touched) if _cites_lines(text, self.path) else None}
        kept = [v for v in self._variants(name) if isinstance(v, dict)
                and (v.get("path"), v.get("lines"), v.get("reach")) != (variant["path"], variant["lines"], variant["reach"])]
        try:
            write_json(self._file(name), [variant, *kept][:VARIANTS])
        except OSError:
            pass  # a full disk costs the next run its reuse, nothing else

    def prune(self) -> None:
        try:
            files = sorted(self.store.glob("*.json"), key=lambda p: p.stat().st_mtime)
            for old in files[:max(0, len(files) - MAX_FILES)]:
                old.unlink()
        except OSError:
            pass
