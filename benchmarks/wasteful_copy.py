"""Write a wasteful copy of the shipped implementation, to prove the counter gate works.

    python benchmarks/wasteful_copy.py /tmp/waste.py          # [--waste both|temporary|product]
    python benchmarks/counters.py --impl /tmp/waste.py        # must exit 1

The copy is the current implementations/linear_classifier.py with the two vectorized
losses redefined at the end to waste, with the same answers: `temporary` keeps one
extra N x C array alive through the call, `product` does one extra product with X
(X @ W, dropped at once), `both` (the default) does the product and keeps its result:
one extra N x C temporary and one extra product with X. Generated, not committed, so
it always wastes on top of the code the gate would see.
"""
import argparse
import sys
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent.parent / "implementations" / "linear_classifier.py"

WASTE = {
    "temporary": "    extra = X.new_zeros(X.shape[0], W.shape[1])  # one extra N x C temporary\n",
    "product": "    (X @ W).sum()  # one extra product with X, dropped at once\n",
    "both": "    extra = X @ W  # one extra product with X, kept: one extra N x C temporary\n",
}

TAIL = '''

# ---------------------------------------------------------------------------------------
# Appended by benchmarks/wasteful_copy.py ({kind}): the same answers, with waste.
_lean_svm_loss_vectorized = svm_loss_vectorized
_lean_softmax_loss_vectorized = softmax_loss_vectorized


def svm_loss_vectorized(W, X, y, reg):
{waste}    return _lean_svm_loss_vectorized(W, X, y, reg)


def softmax_loss_vectorized(W, X, y, reg):
{waste}    return _lean_softmax_loss_vectorized(W, X, y, reg)
'''


def write_wasteful_copy(dest, kind: str = "both", source: Path = SHIPPED) -> Path:
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(Path(source).read_text().rstrip("\n") + "\n"
                    + TAIL.format(kind=kind, waste=WASTE[kind]))
    return dest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dest")
    parser.add_argument("--waste", choices=sorted(WASTE), default="both")
    args = parser.parse_args(argv)
    print(write_wasteful_copy(args.dest, args.waste))
    return 0


if __name__ == "__main__":
    sys.exit(main())
