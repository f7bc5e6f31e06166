"""The adapter to the module under test: every property reaches the submission here.

It runs the submission in-process. Properties never touch the module object:
they ask `subject.call(name, ...)`, `subject.new(name)` and `subject.method(obj,
...)`, so the isolation work can move all of this into a worker process by
replacing this file alone.
"""
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Optional

from harness.api import NAMES

SHIPPED = Path(__file__).resolve().parent.parent / "implementations" / "linear_classifier.py"


class HarnessInputError(Exception):
    """The file given to the harness cannot be graded at all (one line for the user)."""


class MissingName(AssertionError):
    """The submission does not define a name of the API."""

    def __init__(self, name: str, path: Path):
        super().__init__(f"{name}: missing: {path.name} defines no `{name}` (SPEC.md lists it)")
        self.name = name


class SubmissionError(Exception):
    """The submission raised while the harness called it."""

    def __init__(self, what: str, exc: BaseException):
        tb = traceback.extract_tb(exc.__traceback__)
        # The innermost frames that belong to the submission say where it broke.
        own = [f for f in tb if f.filename == SubmissionError.submission_file] or tb[-1:]
        where = "".join(f"\n    at {Path(f.filename).name}:{f.lineno} in {f.name}: {f.line}"
                        for f in own[-3:])
        super().__init__(f"{what} raised {type(exc).__name__}: {exc}{where}")
        self.original = exc

    submission_file = ""


def load_module(path: Optional[str]):
    """Import the file at `path` (default: the shipped implementation) as a fresh module."""
    file = Path(path).expanduser() if path else SHIPPED
    if not file.exists():
        raise HarnessInputError(f"no such file: {file}")
    if file.is_dir():
        raise HarnessInputError(f"{file} is a folder; give the path of linear_classifier.py")
    try:
        source = file.read_bytes()
        compile(source, str(file), "exec")
    except (SyntaxError, ValueError, UnicodeDecodeError) as exc:
        raise HarnessInputError(f"{file} is not a Python file that compiles: "
                                f"{type(exc).__name__}: {exc}") from None
    name = f"submission_{abs(hash(str(file.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too: a submission that exits at import
        del sys.modules[name]
        line = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
        raise HarnessInputError(f"{file} raised on import: {line}") from None
    SubmissionError.submission_file = str(file.resolve())
    return module


class Subject:
    """The module under test, reached by name."""

    def __init__(self, path: Optional[str] = None):
        self.module = load_module(path)
        self.path = Path(self.module.__file__)
        self.shipped = self.path.resolve() == SHIPPED

    def has(self, name: str) -> bool:
        return callable(getattr(self.module, name, None))

    def require(self, name: str) -> None:
        if not self.has(name):
            raise MissingName(name, self.path)

    def missing(self):
        return [n for n in NAMES if not self.has(n)]

    def function(self, name: str):
        """The callable itself, for code that must pass it on (e.g. a loss to train with)."""
        self.require(name)
        return getattr(self.module, name)

    def call(self, name: str, *args, **kwargs) -> Any:
        fn = self.function(name)
        return _guarded(f"{name}(...)", fn, *args, **kwargs)

    def new(self, class_name: str, *args, **kwargs):
        cls = self.function(class_name)
        return _guarded(f"{class_name}()", cls, *args, **kwargs)

    def method(self, obj, method: str, *args, **kwargs) -> Any:
        owner = type(obj).__name__
        fn = getattr(obj, method, None)
        if not callable(fn):
            raise AssertionError(f"{owner}: has no method `{method}` (SPEC.md, Classes)")
        return _guarded(f"{owner}.{method}(...)", fn, *args, **kwargs)

    def attribute(self, obj, attr: str) -> Any:
        if not hasattr(obj, attr):
            raise AssertionError(f"{type(obj).__name__}: has no attribute `{attr}`")
        return getattr(obj, attr)

    def set_attribute(self, obj, attr: str, value) -> None:
        setattr(obj, attr, value)


def _guarded(what, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit, or an `assert` of its own: an error of the call
        raise SubmissionError(what, exc) from exc


def repo_root() -> Path:
    return Path(os.path.dirname(os.path.abspath(__file__))).parent
