"""What to grade: the submissions under --impl FOLDER or 'GLOB', each with a name safe as a
file name, and the records a graded one leaves (Submission, Graded)."""
import glob
import os
import re
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple


SUBMISSION_FILE = "linear_classifier.py"


class Submission(NamedTuple):
    name: str     # unique, safe as a file name: the report is REPORT_DIR/<name>.json
    path: Path


class Graded(NamedTuple):
    submission: Submission
    report: dict
    returncode: Optional[int]   # None: killed at the time limit
    seconds: float
    # The grading run and a fresh worker (fork server only). A worker forked by the zygote
    # is reaped there: benchmarks/grading_cost.py adds the zygote's CPU.
    cpu_seconds: Optional[float] = None


def is_batch(impl: Optional[str]) -> bool:
    """True when --impl names a folder or a glob pattern rather than one file."""
    if not impl:
        return False
    path = os.path.expanduser(impl)
    if os.path.isfile(path):
        return False
    return os.path.isdir(path) or glob.has_magic(impl)


def _safe(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return name or "submission"


def _raw_name(file: Path) -> str:
    return file.parent.name if file.name == SUBMISSION_FILE and file.parent.name else file.stem


def _named(files: Sequence[Path]) -> List[Submission]:
    """Name each file by its stem, or by its folder when it is linear_classifier.py;
    names that collide get -2, -3, ... in the order of the (sorted) paths."""
    taken: Dict[str, int] = {}
    out = []
    for file in files:
        base = _safe(_raw_name(file))
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}-{n}"
        taken[name.lower()] = 1
        out.append(Submission(name, file))
    return out


def _ignored(path: Path) -> bool:
    return path.name.startswith((".", "__"))


def discover(impl: str) -> Tuple[List[Submission], List[str]]:
    """The submissions that --impl names, and notes about what was skipped.

    A folder: every *.py in it, and every */linear_classifier.py one level down (a
    folder of per-student folders). A glob: every .py file it matches, and
    linear_classifier.py inside every folder it matches. Hidden and dunder names
    (.git, __init__.py, __pycache__) are skipped.
    """
    notes: List[str] = []
    files: List[Path] = []
    folder = Path(os.path.expanduser(impl))
    if folder.is_dir():
        for entry in sorted(folder.iterdir()):
            if _ignored(entry):
                continue
            if entry.is_file() and entry.suffix == ".py":
                files.append(entry)
            elif entry.is_dir():
                if (entry / SUBMISSION_FILE).is_file():
                    files.append(entry / SUBMISSION_FILE)
                else:  # a student's folder without the file should not vanish unnoticed
                    notes.append(f"skipped {entry}/: it has no {SUBMISSION_FILE}")
    else:
        pattern = os.path.expanduser(impl)
        parts = Path(pattern).parts
        fixed = next((i for i, p in enumerate(parts) if glob.has_magic(p)), len(parts))
        prefix = Path(*parts[:fixed]) if fixed else Path(".")
        for match in sorted(glob.glob(pattern, recursive=True)):
            entry = Path(match)
            try:
                own = entry.relative_to(prefix).parts
            except ValueError:
                own = entry.parts
            if any(part.startswith((".", "__")) for part in own):
                continue  # hidden or dunder: .git, __pycache__, __init__.py
            if entry.is_file() and entry.suffix == ".py":
                files.append(entry)
            elif entry.is_dir() and (entry / SUBMISSION_FILE).is_file():
                files.append(entry / SUBMISSION_FILE)
            elif entry.is_dir():
                notes.append(f"skipped {entry}/: it has no {SUBMISSION_FILE}")
    return _named([f.resolve() for f in files]), notes


