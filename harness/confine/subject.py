"""The adapter to the module under test: every property reaches the submission here.

Two ways to run it, with one interface:
- `WorkerSubject` (the default): the submission runs in a separate, isolated
  worker process (harness/confine/worker.py); only plain data comes back.
- `InProcessSubject` (`--in-process`): imports it into the harness's own process;
  faster to debug, but a hostile file could reach the harness.

Properties only use the methods of `Subject` below, never the module itself.
"""
import contextlib
import importlib.util
import random
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, List, Optional

import torch

from harness.api import NAMES
from harness.confine import locate
from harness.confine.worker_main import describe
from harness.errors import HarnessInputError, MissingName, SubmissionError

SHIPPED = locate.shipped()  # the full tree only: the student edition ships no solution


def check_file(path: Optional[str]) -> Path:
    """The file to grade, or a one-line HarnessInputError."""
    if not path and not SHIPPED.exists():
        raise HarnessInputError("give the file to grade: --impl PATH/linear_classifier.py (this "
                                "installation ships no implementation of its own)")
    file = Path(path).expanduser() if path else SHIPPED
    if not file.exists():
        raise HarnessInputError(f"no such file: {file}")
    if file.is_dir():
        raise HarnessInputError(f"{file} is a folder; give the path of linear_classifier.py")
    try:
        compile(file.read_bytes(), str(file), "exec")
    except (SyntaxError, ValueError, UnicodeDecodeError) as exc:
        raise HarnessInputError(f"{file} is not a Python file that compiles: "
                                f"{type(exc).__name__}: {exc}") from None
    return file.resolve()


class Subject:
    """What every property may ask of the module under test."""

    path: Path
    shipped: bool
    names: List[str]
    printed: str = ""          # what the last call printed (the first few KiB)
    progress_lines: list = []  # its lines holding a digit, from its first use of a stand-in on
    args_after: list = []      # the last call's arguments, as they were after it
    aliases: list = []         # [result index, argument index] sharing memory
    touched = None             # a set while a property runs: the names it asked for (the verdict cache's record)
    timed = 0                  # timed calls so far (a verdict that rests on one is not cached)

    def touch(self, *names: str) -> None:
        if self.touched is not None:
            self.touched.update(names)

    def has(self, name: str) -> bool:
        self.touch(name)
        return name in self.names

    def require(self, name: str) -> None:
        if not self.has(name):
            raise MissingName(name, self.path)

    def missing(self):
        return [n for n in NAMES if not self.has(n)]

    def unavailable(self, name: str) -> Optional[str]:
        """Why calls of `name` would fail at once without running (None: they would run)."""
        return None

    def seed_next(self, seed: int) -> None:
        """The submission's `random` and torch generators (and numpy's, in the worker) are
        seeded with `seed` before its next request runs (each property starts from the same
        state, whatever ran before)."""
        self.reset_seed(seed)

    def close(self):
        pass

    # Stand-ins: harness-side objects handed to the submission. Calls and attribute reads
    # of a stand-in are answered here, in the harness, so its records cannot be forged.
    def stand_in(self, obj):
        """`obj`, made usable by the submission (an argument, a replaced global); returned
        by the submission, it comes back as `obj` itself. Not for plain data."""
        return obj

    def keep(self, value):
        """Plain data (a tensor, a dict of tensors) placed on the submission's side once;
        the result, passed as an argument, names it there without sending it again."""
        return value

    def replacing(self, name: str, value):
        """A context manager: the submission's module global `name` is `value` (e.g. a
        stand-in) inside the block."""
        raise NotImplementedError

    def spy(self, kind: str, **kwargs):
        """A spy of harness/confine/spies.py, handed over as a stand-in."""
        from harness.confine import spies
        return self.stand_in(getattr(spies, kind)(**kwargs))

    def constant_loss(self):
        """A loss_func answering (0.5, zeros like W) to every call, placed on the submission's
        side: no round trip a call, so only for what the submission's side reports anyway
        (what it printed). Its first call starts `progress_lines`, as a stand-in's first use does."""
        return lambda W, X_batch, y_batch, reg: (torch.tensor(0.5, dtype=W.dtype, device=W.device),
                                                torch.zeros_like(W))

    def spy_state(self, spy) -> dict:
        return spy.state()

    def scratch(self, name: str) -> str:
        """A path the submission may write (save/load), in a folder it can reach."""
        if not hasattr(self, "_scratch"):
            self._scratch = tempfile.mkdtemp(prefix="lc-scratch-")
        return str(Path(self._scratch) / name)


# ---------------------------------------------------------------- in-process

def _describe(what, exc, submission_file):
    return f"{what} raised {describe(exc, submission_file)}"  # as the worker describes it


class InProcessSubject(Subject):
    def __init__(self, path: Optional[str] = None):
        self.path = check_file(path)
        self.shipped = self.path == SHIPPED
        name = f"submission_{abs(hash(str(self.path)))}"
        spec = importlib.util.spec_from_file_location(name, self.path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit too: a submission that exits at import
            del sys.modules[name]
            line = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
            raise HarnessInputError(f"{self.path} raised on import: {line}") from None
        self.module = module
        self.names = [n for n in dir(module) if callable(getattr(module, n, None))]

    def _run(self, what, fn, args, kwargs):
        import contextlib
        import io
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(buffer):
                result = fn(*args, **kwargs)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit, or an `assert` of its own: an error of the call
            raise SubmissionError(_describe(what, exc, str(self.path))) from exc
        finally:
            self.printed = buffer.getvalue()[:4096]
            self.progress_lines = [l[:200] for l in buffer.getvalue().splitlines()
                                   if any(ch.isdigit() for ch in l)][:50]
        self.args_after = list(args)
        items = result if type(result) is tuple else (result,)
        self.aliases = [[i, j] for i, r in enumerate(items) if type(r) is torch.Tensor
                        for j, a in enumerate(args) if type(a) is torch.Tensor
                        and r.untyped_storage().data_ptr() == a.untyped_storage().data_ptr()]
        return result

    def call(self, name: str, *args, **kwargs) -> Any:
        self.require(name)
        return self._run(f"{name}(...)", getattr(self.module, name), args, kwargs)

    def count_work(self, name: str, *args):
        from harness.confine.counting import counting
        self.require(name)
        with counting(str(self.path)) as work:
            self.call(name, *args)
        return work

    def time_call(self, name: str, *args) -> float:
        import time
        self.timed += 1
        start = time.perf_counter()
        self.call(name, *args)
        return time.perf_counter() - start

    def new(self, class_name: str, *args, **kwargs):
        self.require(class_name)
        return self._run(f"{class_name}()", getattr(self.module, class_name), args, kwargs)

    def method(self, obj, method: str, *args, **kwargs) -> Any:
        fn = getattr(obj, method, None)
        if not callable(fn):
            raise AssertionError(f"{type(obj).__name__}: has no method `{method}` (SPEC.md, Classes)")
        return self._run(f"{type(obj).__name__}.{method}(...)", fn, args, kwargs)

    def attribute(self, obj, attr: str) -> Any:
        if not hasattr(obj, attr):
            raise AssertionError(f"{type(obj).__name__}: has no attribute `{attr}`")
        return getattr(obj, attr)

    def set_attribute(self, obj, attr: str, value) -> None:
        setattr(obj, attr, value)

    def is_subclass(self, a: str, b: str) -> bool:
        self.touch(a, b)
        A, B = getattr(self.module, a), getattr(self.module, b)
        return isinstance(A, type) and isinstance(B, type) and issubclass(A, B)

    def reset_seed(self, seed: int) -> None:
        random.seed(seed)
        torch.manual_seed(seed)

    @contextlib.contextmanager
    def replacing(self, name: str, value):
        self.touch(name)
        missing = object()
        old = self.module.__dict__.get(name, missing)
        self.module.__dict__[name] = value
        try:
            yield
        finally:
            if old is missing:
                self.module.__dict__.pop(name, None)
            else:
                self.module.__dict__[name] = old


def load_module(path: Optional[str] = None):
    """Import a file in this process (the benchmarks time code here, not in a worker)."""
    return InProcessSubject(path).module
