"""Batch grading (harness/batch.py): `--impl FOLDER` or `--impl 'GLOB'`, --report-dir,
--jobs; the per-submission reports, the class summary and the exit status."""
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import batch
from harness.api import NAMES
from harness.subject import SHIPPED
from tests.harness_run import assert_report_shape

ROOT = Path(__file__).resolve().parent.parent

# The wrong copy: the shipped source with one function redefined at its end (the
# shipped losses change; the appended definition shadows whatever they are).
WRONG_SVM_VECTORIZED = '''

def svm_loss_vectorized(W, X, y, reg):
    """The bug: the data loss and its gradient are summed, not averaged (no / num_train)."""
    num_train = X.shape[0]
    rows = torch.arange(num_train, device=X.device)
    scores = X.mm(W)
    margins = (scores - scores[rows, y].unsqueeze(1) + 1).clamp(min=0)
    margins[rows, y] = 0
    loss = margins.sum() + reg * torch.sum(W * W)
    mask = (margins > 0).to(X.dtype)
    mask[rows, y] = -mask.sum(dim=1)
    dW = X.t().mm(mask) + 2 * reg * W
    return loss, dW
'''


def write_correct(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SHIPPED.read_text())
    return path


def write_wrong(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SHIPPED.read_text() + WRONG_SVM_VECTORIZED)
    return path


def pytest_cmd(*args):
    return [sys.executable, "-m", "pytest", "properties", "-p", "no:cacheprovider", *map(str, args)]


def run_batch(*args, cwd=ROOT, env=None, timeout=900):
    environment = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    environment.pop(batch.TIMEOUT_ENV, None)
    environment.update(env or {})
    proc = subprocess.run(pytest_cmd(*args), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=environment)
    return proc.returncode, proc.stdout + proc.stderr


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- one class, graded once

@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """2 correct copies + 1 wrong copy, a folder of per-student folders and loose files."""
    base = tmp_path_factory.mktemp("batch")
    subs = base / "submissions"
    write_correct(subs / "alice" / "linear_classifier.py")   # named by its folder
    write_correct(subs / "bob.py")                           # named by its stem
    write_wrong(subs / "carol" / "linear_classifier.py")
    (subs / "notes.txt").write_text("not a submission\n")
    (subs / "__init__.py").write_text("")                    # skipped: dunder
    (subs / "dave").mkdir()
    (subs / "dave" / "helper.py").write_text("x = 1\n")      # skipped, with a note
    reports = base / "reports"
    start = time.monotonic()
    rc, out = run_batch("--impl", subs, "--report-dir", reports, "--jobs", 2)
    return dict(subs=subs, reports=reports, rc=rc, out=out, seconds=time.monotonic() - start)


def test_batch_exit_status_is_1_when_one_submission_fails(graded_class):
    assert graded_class["rc"] == 1, graded_class["out"][-4000:]


def test_batch_writes_one_report_per_submission(graded_class):
    reports = graded_class["reports"]
    assert sorted(p.name for p in reports.glob("*.json")) == ["alice.json", "bob.json", "carol.json"]
    verdicts = {}
    for name in ("alice", "bob", "carol"):
        report = json.loads((reports / f"{name}.json").read_text())
        assert_report_shape(report)
        verdicts[name] = report["verdict"]
    assert verdicts == {"alice": "pass", "bob": "pass", "carol": "fail"}, graded_class["out"][-4000:]
    carol = json.loads((reports / "carol.json").read_text())
    assert carol["functions"]["svm_loss_vectorized"]["status"] == "fail"
    assert carol["functions"]["svm_loss_naive"]["status"] == "pass"
    assert carol["score"] < carol["max_score"]
    alice = json.loads((reports / "alice.json").read_text())
    assert alice["score"] == alice["max_score"] == float(len(NAMES))
    assert Path(alice["module"]).name == "linear_classifier.py"


def test_batch_summary_csv(graded_class):
    rows = read_csv(graded_class["reports"] / "summary.csv")
    assert [r["submission"] for r in rows] == ["alice", "bob", "carol"]
    header = list(rows[0])
    assert header[:4] == ["submission", "verdict", "score", "max_score"]
    assert header[4:4 + len(NAMES)] == list(NAMES)  # one column per API name, in order
    for row in rows:
        report = json.loads((graded_class["reports"] / f"{row['submission']}.json").read_text())
        assert row["verdict"] == report["verdict"]
        assert float(row["score"]) == report["score"]
        assert float(row["max_score"]) == report["max_score"]
        assert {n: row[n] for n in NAMES} == {n: report["functions"][n]["status"] for n in NAMES}
    assert rows[2]["svm_loss_vectorized"] == "fail" and rows[2]["verdict"] == "fail"
    assert Path(rows[1]["file"]).name == "bob.py"


def test_batch_summary_md(graded_class):
    text = (graded_class["reports"] / "summary.md").read_text()
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert table[0].split(" | ")[:3] == ["| submission", "verdict", "score"]
    assert all(n in table[0] for n in NAMES)
    assert [line.split(" | ")[0] for line in table[1:]] == ["| alice", "| bob", "| carol"]
    assert "2 of 3 submissions pass" in text
    details = text.split("## What does not pass", 1)[1]
    assert "### carol" in details and "`svm_loss_vectorized`: fail" in details
    assert "alice" not in details


def test_batch_prints_a_table_and_notes_what_it_skipped(graded_class):
    out = graded_class["out"]
    assert "batch verdict" in out and "2 of 3 pass" in out
    lines = out.splitlines()
    assert any(line.startswith("carol") and "FAIL" in line and "svm_loss_vectorized (fail)" in line
               for line in lines), out[-3000:]
    assert any(line.startswith("alice") and " pass " in line for line in lines)
    assert "dave" in out and "no linear_classifier.py" in out
    assert "notes" not in "".join(p.name for p in graded_class["reports"].iterdir())
    assert "Traceback" not in out


# ---------------------------------------------------------------- a glob, bad input, time limit

def test_batch_accepts_a_glob(tmp_path):
    # Submissions that raise on import are graded in seconds; the glob picks two of three.
    write_correct(tmp_path / "subs" / "y.py")
    for name in ("x1", "x2"):
        (tmp_path / "subs" / f"{name}.py").write_text("raise ImportError('no eecs598')\n")
    reports = tmp_path / "out"
    rc, out = run_batch("--impl", f"{tmp_path}/subs/x*.py", "--report-dir", reports)
    assert rc == 1, out[-4000:]
    assert sorted(p.name for p in reports.glob("*.json")) == ["x1.json", "x2.json"]
    assert [(r["submission"], r["verdict"]) for r in read_csv(reports / "summary.csv")] == [
        ("x1", "fail"), ("x2", "fail")]
    assert "0 of 2 pass" in out and "raised on import" in out


def test_batch_exit_status_is_0_iff_every_verdict_is_pass(tmp_path):
    (tmp_path / "a.py").write_text("")

    class Config:
        def getoption(self, name, default=None):
            return default

    session = batch.BatchSession(Config(), str(tmp_path))
    assert session.exit_status() is None  # not graded (interrupted): pytest's status stands
    sub = session.submissions[0]
    passing = batch.error_report(sub.path, "x")
    passing.update(verdict="pass")
    failing = batch.error_report(sub.path, "x")
    session.graded = [batch.Graded(sub, passing, 0, 1.0)] * 2
    assert session.exit_status() == 0
    session.graded = [batch.Graded(sub, passing, 0, 1.0), batch.Graded(sub, failing, 1, 1.0)]
    assert session.exit_status() == 1
    session.error = "nothing to grade"
    assert session.exit_status() == 2


def test_batch_defaults(tmp_path):
    """No --report-dir: ./reports; no --jobs: the cores; no profile: ci; course policy."""
    (tmp_path / "eve.py").write_text("")

    class Config:
        def getoption(self, name, default=None):
            return default

    session = batch.BatchSession(Config(), str(tmp_path))
    assert session.report_dir == (Path.cwd() / "reports").resolve()
    assert session.profile == "ci" and session.jobs == batch.default_jobs() >= 1
    assert not session.strict and session.timeout == batch.DEFAULT_TIMEOUT_S
    assert [s.name for s in session.submissions] == ["eve"]


def test_batch_with_nothing_to_grade_exits_2(tmp_path):
    (tmp_path / "subs").mkdir()
    rc, out = run_batch("--impl", tmp_path / "subs", "--report-dir", tmp_path / "out")
    assert rc == 2, out[-3000:]
    assert "no submissions in" in out and "Traceback" not in out
    assert not (tmp_path / "out").exists()

    class Config:
        def getoption(self, name, default=None):
            return default

    nothing = batch.BatchSession(Config(), f"{tmp_path}/subs/*.py")
    assert "matches no .py file" in nothing.error and nothing.exit_status() == 2


def test_batch_time_limit_gives_an_error_report(tmp_path):
    write_correct(tmp_path / "subs" / "slow.py")
    reports = tmp_path / "out"
    start = time.monotonic()
    rc, out = run_batch("--impl", tmp_path / "subs", "--report-dir", reports,
                        env={"HARNESS_BATCH_TIMEOUT": "1"})
    assert rc == 1, out[-3000:]
    assert time.monotonic() - start < 120
    report = json.loads((reports / "slow.json").read_text())
    assert_report_shape(report)
    assert report["verdict"] == "fail" and report["score"] == 0.0
    assert {f["status"] for f in report["functions"].values()} == {"error"}
    assert all("timed out" in f["messages"][0] for f in report["functions"].values())
    assert read_csv(reports / "summary.csv")[0]["verdict"] == "fail"


# ---------------------------------------------------------------- units (no grading runs)

def test_is_batch(tmp_path):
    file = write_correct(tmp_path / "linear_classifier.py")
    assert not batch.is_batch(None) and not batch.is_batch(str(file))
    assert batch.is_batch(str(tmp_path)) and batch.is_batch(f"{tmp_path}/*.py")
    assert not batch.is_batch(str(tmp_path / "missing.py"))  # the single-file run says "no such file"


def test_discover_names_and_skips(tmp_path):
    for rel in ("zed.py", "alice/linear_classifier.py", "bob 2.py", "__init__.py", ".hidden.py",
                "__pycache__/linear_classifier.py", "carol/linear_classifier.py", "carol.py",
                "nested/deeper/linear_classifier.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    (tmp_path / "misc").mkdir()
    (tmp_path / "misc" / "x.py").write_text("")
    subs, notes = batch.discover(str(tmp_path))
    assert [(s.name, s.path.relative_to(tmp_path).as_posix()) for s in subs] == [
        ("alice", "alice/linear_classifier.py"), ("bob_2", "bob 2.py"),
        ("carol", "carol/linear_classifier.py"), ("carol-2", "carol.py"), ("zed", "zed.py")]
    assert any("misc" in n for n in notes) and any("nested" in n for n in notes)
    subs, _ = batch.discover(f"{tmp_path}/*")   # a glob may match per-student folders too
    assert [s.name for s in subs] == ["alice", "bob_2", "carol", "carol-2", "zed"]
    subs, _ = batch.discover(f"{tmp_path}/**/linear_classifier.py")
    assert [s.name for s in subs] == ["alice", "carol", "deeper"]


def test_child_command_propagates_policy_and_profile(tmp_path):
    cmd = batch.child_command(Path("/x/a.py"), Path("/r/a.json"))
    assert cmd[:5] == [sys.executable, "-m", "pytest", "properties", "-q"]
    assert "--hypothesis-profile=ci" in cmd and "--strict" not in cmd
    assert cmd[cmd.index("--impl") + 1] == "/x/a.py" and cmd[cmd.index("--report") + 1] == "/r/a.json"
    cmd = batch.child_command(Path("/x/a.py"), Path("/r/a.json"), strict=True, profile="thorough")
    assert "--strict" in cmd and "--hypothesis-profile=thorough" in cmd


def test_a_run_without_a_usable_report_or_with_an_inconsistent_one_is_an_error(tmp_path):
    grader = batch.Grader(tmp_path)
    sub = batch.Submission("x", tmp_path / "x.py")
    missing = grader._judge(sub, tmp_path / "none.json", 3, "INTERNALERROR> boom")
    assert missing["verdict"] == "fail"
    assert {f["status"] for f in missing["functions"].values()} == {"error"}
    assert "status 3" in missing["output"] and "boom" in missing["output"]
    good = batch.error_report(sub.path, "x")
    good.update(verdict="pass")
    path = tmp_path / "r.json"
    path.write_text(json.dumps(good))
    assert grader._judge(sub, path, 0, "")["verdict"] == "pass"
    lying = grader._judge(sub, path, 1, "")  # a pass verdict needs exit status 0 too
    assert lying["verdict"] == "fail" and "although its report says pass" in lying["output"]
    path.write_text("{not json")
    assert "unreadable report" in grader._judge(sub, path, 1, "")["output"]


def test_killing_a_grading_run_kills_its_whole_tree(tmp_path):
    """The time limit kills the run and what it started, even a process that left the
    group with setsid (as a sandboxed worker may)."""
    script = ("import subprocess, sys, time\n"
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'],"
              " start_new_session=True)\n"
              "print(p.pid, flush=True)\n"
              "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    grandchild = int(proc.stdout.readline())
    batch._kill_group(proc)
    proc.wait(timeout=30)

    def alive(pid):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state != "Z"

    deadline = time.monotonic() + 10
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(grandchild)


def test_a_failure_of_the_batch_machinery_is_that_submissions_error(tmp_path):
    grader = batch.Grader(tmp_path / "not-made-yet")  # the log cannot be opened there
    graded = grader.grade(batch.Submission("x", tmp_path / "x.py"))
    assert graded.report["verdict"] == "fail"
    assert "batch grading failed for this submission" in graded.report["output"]
    assert json.loads((tmp_path / "not-made-yet" / "x.json").read_text())["verdict"] == "fail"
