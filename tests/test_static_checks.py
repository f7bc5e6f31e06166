"""The syntax-tree view of vectorization (harness/judge/static_checks.py): what it flags and
what it leaves alone. The zoo and the hostile set check it on whole files."""
import textwrap

import pytest

from harness.judge.static_checks import vectorization_findings

NAME = "svm_loss_vectorized"


def findings(body: str, extra: str = ""):
    source = textwrap.dedent(extra) + "\n" + f"def {NAME}(W, X, y, reg):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    return [f.what for f in vectorization_findings(source, NAME)]


@pytest.mark.parametrize("body", [
    "for i in range(X.shape[0]):\n    pass\n",
    "num_train = X.shape[0]\nfor i in range(num_train):\n    pass\n",
    "num_train, dim = X.shape\nfor i in range(num_train):\n    pass\n",
    "N = len(y)\ni = 0\nwhile i < N:\n    i += 1\n",
    "for row in X:\n    pass\n",
    "for x_i, y_i in zip(X, y):\n    pass\n",
    "for i, label in enumerate(y.tolist()):\n    pass\n",
    "losses = [X[i].sum() for i in range(X.size(0))]\n",
    "total = sum(1 for _ in range(y.numel()))\n",
])
def test_loops_over_examples_are_found(body):
    assert findings(body), body


@pytest.mark.parametrize("body", [
    "for j in range(W.shape[1]):\n    pass\n",                         # over classes
    "for X_b, y_b in zip(X.split(4096), y.split(4096)):\n    pass\n",  # over row blocks
    "pieces = [(X, y)]\nfor X_b, y_b in pieces:\n    pass\n",
    "scores = X @ W\nreturn scores.sum(), W\n",
    "for k in range(3):\n    pass\n",
])
def test_other_loops_are_left_alone(body):
    assert not findings(body), body


def test_a_call_of_the_naive_loss_is_found_through_helpers_and_threads():
    helpers = """
    import threading
    def svm_loss_naive(W, X, y, reg):
        return 0, W
    def _work(out, *args):
        out.append(svm_loss_naive(*args))
    """
    body = "out = []\nt = threading.Thread(target=_work, args=(out, W, X, y, reg))\nt.start(); t.join()\nreturn out[0]\n"
    assert any("svm_loss_naive" in f for f in findings(body, helpers))


def test_a_loop_in_a_reached_helper_is_found():
    helpers = """
    def _rows(X_batch):
        for i in range(X_batch.shape[0]):
            pass
    """
    assert findings("_rows(X)\n", helpers)


def test_source_that_does_not_parse_or_defines_it_otherwise_gives_nothing():
    assert vectorization_findings("def broken(:\n", NAME) == []
    assert vectorization_findings(f"{NAME} = lambda W, X, y, reg: (0, W)\n", NAME) == []
