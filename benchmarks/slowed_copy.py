"""Write a deliberately slowed copy of the shipped implementation, to prove the gate works.

    python benchmarks/slowed_copy.py /tmp/slowed_2x.py      # [--factor 2]
    python benchmarks/gate.py --impl /tmp/slowed_2x.py      # must exit 1

The copy is the current implementations/linear_classifier.py, text for text, with the
two vectorized losses redefined at the end to do their work `factor` times (the answers
are unchanged): exactly a `factor`x slowdown of what the gate times. It is generated,
not committed, so it always slows the code the gate would see, and it is a single
self-contained file, so it loads anywhere a submission does (the harness's isolated
worker too).
"""
import argparse
import sys
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent.parent / "implementations" / "linear_classifier.py"

TAIL = '''

# ---------------------------------------------------------------------------------------
# Appended by benchmarks/slowed_copy.py: a deliberate {factor}x slowdown. Each vectorized
# loss does its work {factor} times and returns the last result (the same answer).
_fast_svm_loss_vectorized = svm_loss_vectorized
_fast_softmax_loss_vectorized = softmax_loss_vectorized


def svm_loss_vectorized(W, X, y, reg):
    for _ in range({factor} - 1):
        _fast_svm_loss_vectorized(W, X, y, reg)
    return _fast_svm_loss_vectorized(W, X, y, reg)


def softmax_loss_vectorized(W, X, y, reg):
    for _ in range({factor} - 1):
        _fast_softmax_loss_vectorized(W, X, y, reg)
    return _fast_softmax_loss_vectorized(W, X, y, reg)
'''


def write_slowed_copy(dest, factor: int = 2, source: Path = SHIPPED) -> Path:
    if factor < 1:
        raise ValueError("factor must be >= 1")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(Path(source).read_text().rstrip("\n") + "\n" + TAIL.format(factor=factor))
    return dest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dest", help="where to write the slowed copy")
    parser.add_argument("--factor", type=int, default=2, help="how many times the work (2)")
    args = parser.parse_args(argv)
    print(write_slowed_copy(args.dest, args.factor))
    return 0


if __name__ == "__main__":
    sys.exit(main())
