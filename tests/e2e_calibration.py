"""Calibrate the end-to-end thresholds (harness/grade/e2e.py): the best validation accuracy of
each correct file's own grid over repeated seeds (data split and training), and the
grids that cannot train. Not a test (pytest does not collect it); run it by hand:

    ../lc-venv/bin/python tests/e2e_calibration.py [--seeds 5] [--num-iters 200]

It imports the files into this process (trusted code: the shipped implementation and
tests/zoo/right/*), which trains exactly as the worker does, only without the wire.
"""
import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.grade import e2e  # noqa: E402
from harness.grade.datasets import digits  # noqa: E402
from harness.confine.subject import InProcessSubject  # noqa: E402

CORRECT = [None] + sorted((ROOT / "tests" / "zoo" / "right").glob("*.py"))
CANNOT_TRAIN = sorted((ROOT / "tests" / "zoo" / "e2e").glob("*.py"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--num-iters", type=int, default=e2e.DIGITS["num_iters"])
    parser.add_argument("--files", nargs="*", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    files = [Path(f) for f in args.files] if args.files else CORRECT + CANNOT_TRAIN
    lowest = {}
    for seed in range(args.seeds):
        data = digits(seed)
        for file in files:
            subject = InProcessSubject(str(file) if file else None)
            for classifier, search in e2e.CLASSIFIERS.items():
                lrs, regs = (e2e.as_list(v) for v in subject.call(search))
                start = time.perf_counter()
                result = e2e.run_grid(subject, classifier, data, data["X_val"], data["y_val"], lrs, regs,
                                      args.num_iters, e2e.DIGITS["thresholds"][classifier], seed=seed)
                name = file.stem if file else "shipped"
                key = (name, classifier)
                lowest[key] = min(lowest.get(key, 1.0), result.best.val_acc if result.best else 0.0)
                print(f"seed {seed} {name:36s} {result.summary()}  [{time.perf_counter() - start:.1f} s]",
                      flush=True)
    print("\nlowest best-of-grid over seeds:")
    for (name, classifier), value in sorted(lowest.items()):
        print(f"  {name:36s} {classifier:10s} {value:.3f}")


if __name__ == "__main__":
    main()
