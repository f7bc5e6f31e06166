"""CPU-seconds and wall seconds per graded submission, as batch mode grades them
(docs/maintainers.md, "CPU per submission"): one submission at a time, N times each, median.

    python benchmarks/grading_cost.py [--runs 10] [--mode fork|subprocess] [FILE ...]

FILE defaults to the shipped implementation (a correct submission) and
tests/zoo/wrong/softmax_vec_grad_wrong_sign.py (a wrong one). The CPU is that of the
grading run and every process it waited for (the fork server's wait4() in fork mode,
getrusage(RUSAGE_CHILDREN) around each run in subprocess mode), plus what the batch's
worker zygote and the workers it reaped used meanwhile (read from /proc: in a sandbox the
zygote is bwrap's grandchild). What the batch shares -- the zygote and the fork server --
starts once per batch and is reported apart. `--isolation` defaults to process; with the
zygote, `--isolation=sandbox` counts every worker too (without it, a sandboxed fresh
worker is reaped by bwrap's own init and its CPU is missed). Runs an older commit's batch
mode too (copy this file there): `--mode subprocess`.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.grade import batch  # noqa: E402

DEFAULT_FILES = (ROOT / "implementations" / "linear_classifier.py",
                 ROOT / "tests" / "zoo" / "wrong" / "softmax_vec_grad_wrong_sign.py")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, default=list(DEFAULT_FILES))
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--mode", choices=("fork", "subprocess"), default="fork")
    parser.add_argument("--isolation", default="process")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    os.environ["HARNESS_BATCH_FORK"] = "1" if args.mode == "fork" else "0"
    results = {"mode": args.mode, "isolation": args.isolation, "runs": args.runs, "files": {}}
    with tempfile.TemporaryDirectory(prefix="grading-cost-") as tmp:
        grader = batch.Grader(Path(tmp), isolation=args.isolation)
        try:
            start = time.monotonic()
            if hasattr(grader, "prepare"):  # the worker zygote and the fork server, once a batch
                grader.prepare()
            elif args.mode == "fork":
                grader._fork_server(batch.child_env())
            zygote = getattr(grader, "_zygote", None)
            results["shared_start"] = {"wall": time.monotonic() - start,
                                       "zygote": zygote is not None}
            print(f"shared processes started in {results['shared_start']['wall']:.2f} s wall "
                  f"({'with' if zygote else 'without'} a worker zygote)", flush=True)
            zygote_cpu = zygote.cpu_seconds if zygote is not None else (lambda: 0.0)
            for file in args.files:
                cpus, walls, workers, verdicts = [], [], [], set()
                for i in range(args.runs):
                    sub = batch.Submission(f"{file.stem}-{i}", file.resolve())
                    before, zygote_before = _children_cpu(), zygote_cpu()
                    graded = grader.grade(sub)
                    cpu = getattr(graded, "cpu_seconds", None)  # older commits: no fork server
                    cpu = cpu if cpu is not None else _children_cpu() - before
                    forked_workers = zygote_cpu() - zygote_before  # reaped by the zygote
                    workers.append(forked_workers)
                    cpu += forked_workers
                    cpus.append(cpu)
                    walls.append(graded.seconds)
                    verdicts.add(graded.report["verdict"])
                    print(f"{file.name} run {i + 1}: {graded.report['verdict']}, "
                          f"{cpu:.2f} CPU-s ({forked_workers:.2f} of them forked workers'), "
                          f"{graded.seconds:.2f} s wall", flush=True)
                results["files"][str(file)] = {"cpu_median": statistics.median(cpus),
                                               "wall_median": statistics.median(walls),
                                               "forked_workers_median": statistics.median(workers),
                                               "cpu": cpus, "wall": walls, "forked_workers": workers,
                                               "verdicts": sorted(verdicts)}
                print(f"{file.name}: median {statistics.median(cpus):.2f} CPU-s "
                      f"(forked workers {statistics.median(workers):.2f}), "
                      f"{statistics.median(walls):.2f} s wall ({args.runs} runs, {args.mode})",
                      flush=True)
        finally:
            getattr(grader, "close", lambda: None)()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
