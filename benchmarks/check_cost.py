"""Wall and CPU seconds of `python -m harness check FILE` as a student re-runs it, warm, with
the verdict cache (docs/students.md, "The verdict cache"): every function judged
(--no-cache, the baseline), the file unchanged, and the first run after an edit of one
function, for each function of the API in turn.

    sudo python benchmarks/check_cost.py [--runs 10] [FILE]

FILE defaults to the shipped implementation (a correct file). Each edit gives the
function a statement it never had (`_edit_ = N`, a new N each time), so every measured
run after an edit finds nothing of that function's in the store. The CPU is that of every
process involved (client, warm server, grading run, worker zygote, worker): all of them
run in one cpuacct cgroup (v1, or the v2 cpu.stat), which needs root; without it the
figures are wall seconds alone. A private server folder and store, removed at the end.
"""
import argparse
import ast
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.api import NAMES  # noqa: E402


class Cgroup:
    """A cpuacct cgroup this process (and so every process it starts) runs in; None-like
    where none can be made."""

    def __init__(self):
        self.usage = None
        for folder, usage, scale in (("/sys/fs/cgroup/cpuacct", "cpuacct.usage", 1e-9),
                                     ("/sys/fs/cgroup", "cpu.stat", 1e-6)):
            path = Path(folder) / f"check-cost-{os.getpid()}"
            try:
                path.mkdir()
                (path / "cgroup.procs").write_text(str(os.getpid()))
            except OSError:
                continue
            self.path, self.usage, self.scale = path, path / usage, scale
            return

    def close(self):
        if self.usage is None:
            return
        (self.path.parent / "cgroup.procs").write_text(str(os.getpid()))
        for _ in range(50):  # the server it stopped may take a moment to leave
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)

    def cpu(self):
        if self.usage is None:
            return None
        text = self.usage.read_text()
        value = int(text.split()[1]) if text.startswith("usage_usec") else int(text)
        return value * self.scale


def edited(text: str, name: str, n: int) -> str:
    """`text` with `_edit_ = n` put first in the body of the definition of `name`."""
    node = next(d for d in ast.parse(text).body if getattr(d, "name", None) == name)
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and len(node.body) > 1:
        first = node.body[1]  # after the docstring
    lines = text.splitlines(True)
    indent = lines[first.lineno - 1][:first.col_offset]
    lines.insert(first.lineno - 1, f"{indent}_edit_ = {n}\n")
    return "".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, default=ROOT / "implementations" / "linear_classifier.py")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    group = Cgroup()
    tmp = Path(tempfile.mkdtemp(prefix="check-cost-"))
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(HARNESS_WARM_DIR=str(tmp / "warm"), HARNESS_CACHE_DIR=str(tmp / "cache"), HARNESS_WARM_IDLE="300")
    (tmp / "warm").mkdir(mode=0o700)
    student = tmp / "a2" / "linear_classifier.py"
    student.parent.mkdir()
    text = args.file.read_text()
    student.write_text(text)

    def check(*options):
        cpu, start = group.cpu(), time.monotonic()
        done = subprocess.run([sys.executable, "-m", "harness", "check", str(student), *options], cwd=ROOT,
                              env=env, capture_output=True, text=True)
        wall = time.monotonic() - start
        line = next((l for l in done.stdout.splitlines() if l.startswith("verdict cache:")), "")
        return wall, (group.cpu() - cpu if cpu is not None else None), done.returncode, line

    results = {"file": str(args.file), "runs": args.runs, "cpu_counted": group.usage is not None}
    try:
        results["first"] = check()[:2]  # starts the server; judges everything
        unchanged = [check() for _ in range(args.runs)]
        results["unchanged"] = {"wall": statistics.median(u[0] for u in unchanged),
                                "cpu": statistics.median(u[1] for u in unchanged) if group.usage else None,
                                "line": unchanged[-1][3]}
        full = [check("--no-cache") for _ in range(args.runs)]  # every function judged, warm: the baseline
        results["full"] = {"wall": statistics.median(u[0] for u in full),
                           "cpu": statistics.median(u[1] for u in full) if group.usage else None}
        per_name, n = {}, 0
        for name in NAMES:
            runs = []
            for _ in range(args.runs):
                n += 1
                student.write_text(edited(text, name, n))
                runs.append(check())
            per_name[name] = {"wall": statistics.median(r[0] for r in runs),
                              "cpu": statistics.median(r[1] for r in runs) if group.usage else None,
                              "status": sorted({r[2] for r in runs}), "line": runs[-1][3]}
        results["edited"] = per_name
        walls = [v["wall"] for v in per_name.values()]
        results["edited_median_over_names"] = {
            "wall": statistics.median(walls),
            "cpu": statistics.median(v["cpu"] for v in per_name.values()) if group.usage else None}
    finally:
        subprocess.run([sys.executable, "-m", "harness", "stop"], cwd=ROOT, env=env, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        group.close()
    fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    print(f"every function judged (--no-cache): {fmt(results['full']['wall'])} s wall, "
          f"{fmt(results['full']['cpu'])} CPU-s (median of {args.runs})")
    print(f"unchanged file: {fmt(results['unchanged']['wall'])} s wall, {fmt(results['unchanged']['cpu'])} CPU-s "
          f"(median of {args.runs})")
    for name, v in results["edited"].items():
        print(f"edit {name:<26} {fmt(v['wall'])} s wall, {fmt(v['cpu'])} CPU-s  exit {v['status']}  {v['line'][15:90]}")
    m = results["edited_median_over_names"]
    print(f"one function edited, median over the {len(NAMES)} functions: {fmt(m['wall'])} s wall, {fmt(m['cpu'])} CPU-s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
