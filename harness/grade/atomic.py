"""Writes a reader never sees half of: next to the destination, then renamed over it
(reports, summaries, the batch manifest). Imports no torch (batch merge uses it)."""
import json
import os
import tempfile
from pathlib import Path


def write_text(path, text: str, prefix: str = ".tmp-", suffix: str = "") -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=str(target.parent))
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json(path, data: dict) -> None:
    """A report: JSON, indented, one final newline."""
    write_text(path, json.dumps(data, indent=2) + "\n", prefix=".report-", suffix=".json")
