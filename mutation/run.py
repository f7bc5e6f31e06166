"""The mutation run: every mutant of mutation/linear_classifier.py through the harness.

    python -m mutation.run [--jobs N] [--timeout S] [--only ID ...] [--rerun-survivors FILE]
    python -m mutation.run --write-sample 30

Each mutant is written to a file of its own and graded by the harness's real entry
point, in a subprocess, `--jobs` at a time:

    python -m pytest properties/test_FAMILY.py properties/... --impl MUTANT --hypothesis-profile ci -x -q

(all property modules, the mutated function's own family first, so a kill comes early;
-x stops at the first failure). A mutant is killed when the harness exits non-zero,
survives when it exits 0, and times out past `--timeout` seconds of wall time.

Triage (mutation/equivalents.txt) lists each survivor as `equivalent` (it behaves as the
original wherever SPEC.md says anything: left out of the score) or `accepted` (a known
survivor, counted against the score). The run exits 1 when a survivor is in neither,
when a listed mutant was killed, or when an entry no longer matches its mutant.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from harness.api import BY_NAME
from mutation.mutants import (EQUIVALENTS, HERE, SAMPLE, SUBJECT, Mutant, enclosing_name,
                              enumerate_mutants, load_triage)

ROOT = HERE.parent
PROPERTIES = ROOT / "properties"
RESULTS = HERE / "results"
# Classes and their methods are judged in test_classes.py; the module-level helpers too.
FAMILY_OF = {name: row.family for name, row in BY_NAME.items()}


def property_files(function: str):
    files = sorted(PROPERTIES.glob("test_*.py"))
    first = PROPERTIES / f"test_{FAMILY_OF.get(function, '')}.py"
    return ([first] if first in files else []) + [f for f in files if f != first]


def command(mutant_path: Path, function: str):
    return ([sys.executable, "-m", "pytest"] + [str(f.relative_to(ROOT)) for f in property_files(function)]
            + ["--impl", str(mutant_path), "--hypothesis-profile", "ci", "-x", "-q", "-p", "no:cacheprovider"])


def outcome(returncode: int) -> str:
    """A mutant graded: killed when the harness exits non-zero, survived when it exits 0."""
    return "survived" if returncode == 0 else "killed"


def grade(mutant: Mutant, original: str, workdir: Path, timeout: float) -> dict:
    """Run the harness on one mutant: {"id", "function", "change", "outcome", "seconds", "failed"}."""
    function = enclosing_name(original, mutant.start)
    folder = workdir / mutant.id.replace("/", "_").replace(":", "_")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "linear_classifier.py"
    path.write_text(mutant.source(original))
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1")
    start = time.monotonic()
    try:
        proc = subprocess.run(command(path, function), cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, env=env)
        result = outcome(proc.returncode)
        failed = next((line.split(" - ")[0] for line in proc.stdout.splitlines()
                       if line.startswith(("FAILED ", "ERROR "))), "")
        if proc.returncode not in (0, 1) and not failed:
            failed = f"exit {proc.returncode}: " + (proc.stdout + proc.stderr).strip().splitlines()[-1][:160] \
                if (proc.stdout + proc.stderr).strip() else f"exit {proc.returncode}"
    except subprocess.TimeoutExpired:
        result, failed = "timed out", ""
    return {"id": mutant.id, "function": function, "change": mutant.change(), "outcome": result,
            "seconds": round(time.monotonic() - start, 1), "failed": failed}


def run_mutants(mutants, jobs: int, timeout: float, progress=None, journal: Path = None):
    """Grade the mutants, `jobs` at a time, in a fixed shuffled order (a run stopped part
    way is a uniform sample); each result is appended to `journal` (JSON lines) as it
    comes, and mutants already there are not run again."""
    original = SUBJECT.read_text()
    done = {}
    if journal is not None and journal.exists():
        done = {r["id"]: r for r in map(json.loads, journal.read_text().splitlines()) if r.get("id")}
    todo = [m for m in mutants if m.id not in done]
    random.Random(498).shuffle(todo)
    results = [done[m.id] for m in mutants if m.id in done]
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp, ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(grade, m, original, Path(tmp), timeout) for m in todo]
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            if journal is not None:
                with journal.open("a") as f:
                    f.write(json.dumps(result) + "\n")
            if progress:
                progress(len(results), len(mutants), result)
    return results


def triage_problems(results, triage, everything: bool):
    """What makes the run fail: untriaged survivors, listed mutants that were killed, stale entries."""
    problems = []
    by_id = {r["id"]: r for r in results}
    for r in results:
        entry = triage.get(r["id"])
        if r["outcome"] == "survived" and entry is None:
            problems.append(f"survivor not triaged: {r['id']} in {r['function']}: {r['change']}")
        if entry is not None and entry.change != r["change"].strip():
            problems.append(f"stale entry {r['id']}: listed as `{entry.change}`, the mutant is `{r['change']}`")
        elif entry is not None and r["outcome"] != "survived":
            problems.append(f"{r['id']} is listed as {entry.kind} but was {r['outcome']}: {r['change']}")
    if everything:
        problems += [f"stale entry {mid}: no such mutant" for mid in triage if mid not in by_id]
    return problems


def table(results, triage) -> str:
    """Per function: mutants, killed, timed out, survived (equivalent / accepted), score."""
    rows = {}
    for r in results:
        kind = triage[r["id"]].kind if r["outcome"] == "survived" and r["id"] in triage else None
        row = rows.setdefault(r["function"] or "(module level)", Counter())
        row["mutants"] += 1
        row[r["outcome"]] += 1
        if kind:
            row[kind] += 1
    total = sum(rows.values(), Counter())

    def line(name, c):
        scored = c["mutants"] - c["equivalent"]
        score = f"{100 * (c['killed'] + c['timed out']) / scored:.1f}%" if scored else "-"
        return (f"| {name} | {c['mutants']} | {c['killed']} | {c['timed out']} | {c['survived']} "
                f"| {c['equivalent']} | {c['accepted']} | {score} |")

    out = ["| function | mutants | killed | timed out | survived | of which equivalent "
           "| of which accepted | score |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    out += [line(name, rows[name]) for name in sorted(rows)]
    out.append(line("**all**", total))
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mutation.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds of wall time per mutant (default 300)")
    parser.add_argument("--only", nargs="*", metavar="ID", help="run these mutants only")
    parser.add_argument("--rerun-survivors", metavar="FILE",
                        help="keep the kills of an earlier results file, run its survivors again")
    parser.add_argument("--out", default=str(RESULTS / "latest.json"))
    parser.add_argument("--journal", metavar="FILE.jsonl",
                        help="append each result here as it comes; a rerun skips the mutants it holds")
    parser.add_argument("--check", metavar="FILE",
                        help="run nothing: the table and the triage of an earlier results file")
    parser.add_argument("--write-sample", type=int, metavar="K",
                        help="write K non-equivalent mutants, drawn with a fixed seed, to sample.json and stop")
    args = parser.parse_args(argv)

    mutants = enumerate_mutants()
    triage = load_triage()
    if args.write_sample:
        pool = [m for m in mutants if m.id not in triage]
        chosen = sorted(random.Random(2026).sample(pool, args.write_sample), key=lambda m: mutants.index(m))
        SAMPLE.write_text(json.dumps({"seed": 2026, "of": len(pool), "mutants": [m.as_json() for m in chosen]},
                                     indent=1) + "\n")
        print(f"{SAMPLE}: {len(chosen)} of {len(pool)} non-triaged mutants")
        return 0

    if args.check:
        text = Path(args.check).read_text()
        results = ([json.loads(line) for line in text.splitlines() if line.strip()]
                   if args.check.endswith(".jsonl") else json.loads(text)["results"])
        problems = triage_problems(results, triage, everything=len(results) == len(mutants))
        print(table(results, triage))
        print(f"\n{len(results)} of {len(mutants)} mutants in {args.check}")
        for p in problems:
            print("TRIAGE:", p)
        return 1 if problems else 0

    earlier = []
    if args.rerun_survivors:
        previous = json.loads(Path(args.rerun_survivors).read_text())["results"]
        again = {r["id"] for r in previous if r["outcome"] != "killed"}
        earlier = [r for r in previous if r["outcome"] == "killed"]
        mutants = [m for m in mutants if m.id in again]
    if args.only:
        mutants = [m for m in mutants if m.id in set(args.only)]
    start = time.monotonic()

    def progress(done, total, r):
        print(f"[{done}/{total}] {r['outcome']:9} {r['seconds']:6.1f}s {r['id']} ({r['function']}): "
              f"{r['change']}", flush=True)

    results = earlier + run_mutants(mutants, args.jobs, args.timeout, progress,
                                    Path(args.journal) if args.journal else None)
    wall = time.monotonic() - start
    everything = not args.only
    problems = triage_problems(results, triage, everything)
    text = table(results, triage)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"command": " ".join(["python -m mutation.run"] + (argv if argv is not None else sys.argv[1:])),
            "jobs": args.jobs, "timeout": args.timeout, "wall_seconds": round(wall),
            "mutants": len(results), "ran_now": len(mutants), "problems": problems}
    out.write_text(json.dumps({"meta": meta, "results": sorted(results, key=lambda r: r["id"])}, indent=1) + "\n")
    out.with_suffix(".md").write_text(text + "\n")
    print()
    print(text)
    print(f"\n{len(mutants)} mutants run in {wall:.0f} s with --jobs {args.jobs}; results: {out}")
    for p in problems:
        print("TRIAGE:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
