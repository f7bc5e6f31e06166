"""The harness's interface (SPEC.md): exit status, the report, bad input, policies."""

import pytest

from harness.api import NAMES
from harness.confine.subject import SHIPPED
from tests.harness_run import assert_report_shape, verify

def shipped_with(tmp_path, old, new, name="linear_classifier.py"):
    source = SHIPPED.read_text()
    assert old in source, f"the shipped implementation no longer contains {old!r}"
    path = tmp_path / name
    path.write_text(source.replace(old, new))
    return path


def test_shipped_implementation_passes(tmp_path):
    run = verify(None, tmp_path / "r.json")
    assert run.returncode == 0, run.output[-3000:]
    assert run.report["verdict"] == "pass"
    assert run.report["score"] == run.report["max_score"] == float(len(NAMES))
    assert_report_shape(run.report)


@pytest.mark.parametrize("content, expected", [
    (None, "no such file"),
    (b"\x00\x01 not python", "is not a Python file"),
    (b"raise ImportError('no module named eecs598')\n", "raised on import: ImportError"),
    (b"import sys\nsys.exit(0)\n", "raised on import: SystemExit"),
], ids=["missing-file", "not-python", "raises-on-import", "exits-on-import"])
def test_bad_input_is_one_line_and_a_failing_verdict(tmp_path, content, expected):
    path = tmp_path / "linear_classifier.py"
    if content is not None:
        path.write_bytes(content)
    run = verify(path, tmp_path / "r.json")
    assert run.returncode == 2
    assert "Traceback" not in run.output
    lines = [line for line in run.output.splitlines() if "harness: cannot verify" in line]
    assert len(lines) == 1 and expected in lines[0], run.output
    assert run.report["verdict"] == "fail"
    assert {f["status"] for f in run.report["functions"].values()} == {"error"}
    assert_report_shape(run.report)


@pytest.mark.slow
def test_a_missing_name_fails_only_its_own_tests(tmp_path):
    path = shipped_with(tmp_path, "def svm_get_search_params():", "def svm_get_search_params_typo():")
    run = verify(path, tmp_path / "r.json")
    assert run.returncode == 1 and run.report["verdict"] == "fail"
    statuses = {n: f["status"] for n, f in run.report["functions"].items()}
    assert statuses.pop("svm_get_search_params") == "missing"
    assert set(statuses.values()) == {"pass"}, statuses


@pytest.mark.slow
def test_float32_breakage_warns_under_course_policy_and_fails_under_strict(tmp_path):
    """A hard-coded .double(): right in float64, the wrong dtype for float32 inputs."""
    path = tmp_path / "linear_classifier.py"
    path.write_text(SHIPPED.read_text() + (
        "\n\n_exact = svm_loss_vectorized\n\n\n"
        "def svm_loss_vectorized(W, X, y, reg):\n"
        "    return _exact(W.double(), X.double(), y, reg)\n"))
    course = verify(path, tmp_path / "course.json", "-k", "svm_loss_vectorized")
    entry = course.report["functions"]["svm_loss_vectorized"]
    assert entry["status"] == "pass", entry
    assert any("float32" in m and "--strict" in m for m in entry["messages"]), entry
    strict = verify(path, tmp_path / "strict.json", "-k", "svm_loss_vectorized", "--strict")
    assert strict.report["functions"]["svm_loss_vectorized"]["status"] == "fail"
    assert strict.returncode != 0
