"""`from harness import check` in a notebook: a real notebook run by a real Jupyter kernel
(nbclient, ipykernel), as a student's Colab or Jupyter cell runs it, and the outputs it
displays."""
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

from tests.harness_run import ROOT

WRONG = ROOT / "tests" / "zoo" / "wrong" / "svm_vec_reg_grad_not_doubled.py"
RIGHT = ROOT / "tests" / "zoo" / "right" / "onehot_gather_logsoftmax.py"


def run_notebook(cells, tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return notebook


def displayed(cell, mime):
    return "".join(output.get("data", {}).get(mime, "") for output in cell.outputs
                   if output.output_type in ("execute_result", "display_data"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One notebook, as a student writes it: the harness on the path, a check per cell."""
    assert WRONG.exists() and RIGHT.exists()
    return run_notebook([f"import sys; sys.path.insert(0, {str(ROOT)!r})",
                         f"from harness import check\nresult = check({str(WRONG)!r})\nresult",
                         "print(result.verdict, result.passed)"], tmp_path_factory.mktemp("nb"))


def test_a_wrong_file_shows_the_verdict_table_message_and_repro(graded):
    page = displayed(graded.cells[1], "text/html")
    assert "FAIL" in page and "<table>" in page
    assert "svm_loss_vectorized" in page and ">fail<" in page
    assert "repro" in page and "PATH = " in page            # the repro, ready to paste
    assert "<script" not in page
    text = displayed(graded.cells[1], "text/plain")
    assert "verdict: FAIL" in text                             # the text view, for a plain frontend
    assert "".join(o.get("text", "") for o in graded.cells[2].outputs).strip() == "fail False"


@pytest.mark.slow
def test_a_correct_file_passes_in_a_notebook(tmp_path):
    notebook = run_notebook([f"import sys; sys.path.insert(0, {str(ROOT)!r})",
                             f"from harness import check\ncheck({str(RIGHT)!r})"], tmp_path)
    page = displayed(notebook.cells[1], "text/html")
    assert "PASS" in page and ">fail<" not in page


def test_outside_a_notebook_check_prints_the_text_view(tmp_path):
    """A script: no display, so check() prints what the single-file command would."""
    import subprocess
    script = f"from harness import check\nr = check({str(WRONG)!r})\nassert not r.passed\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "verdict: FAIL" in done.stdout and "svm_loss_vectorized" in done.stdout
    assert "<table>" not in done.stdout


def test_a_missing_file_is_a_clear_error():
    from harness import check
    with pytest.raises(FileNotFoundError, match="no file"):
        check(str(Path("/nonexistent/linear_classifier.py")))
