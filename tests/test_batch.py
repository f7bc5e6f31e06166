"""Batch grading (harness/grade/batch/): `--impl FOLDER` or `--impl 'GLOB'`, --report-dir,
--jobs; the per-submission reports, the class summary and the exit status."""
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.grade import batch
from harness.api import NAMES
from harness.confine import locate
from harness.confine.subject import SHIPPED
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
    environment = dict(os.environ)
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
    assert sorted(p.name for p in reports.glob("*.json") if p.name != batch.MANIFEST) == ["alice.json", "bob.json", "carol.json"]
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


def test_batch_summary_html_draws_the_class(graded_class):
    """summary.html (harness/grade/batch/summary_html.py) for a real batch: both charts,
    the failing function's bar at 2 of 3, carol's named mistake."""
    page = (graded_class["reports"] / "summary.html").read_text()
    assert "2 of 3</b> submissions pass" in page and page.count("<svg") == 2
    assert "svm_loss_vectorized" in page and "2/3 (67%)" in page
    carol = json.loads((graded_class["reports"] / "carol.json").read_text())
    for mistake in carol["functions"]["svm_loss_vectorized"].get("mistakes", []):
        assert mistake in page


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
    assert sorted(p.name for p in reports.glob("*.json") if p.name != batch.MANIFEST) == ["x1.json", "x2.json"]
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


@pytest.mark.slow
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
    assert cmd[:4] == [sys.executable, "-m", "pytest", "properties"] and "-q" in cmd
    assert cmd[3:3 + len(locate.PYTEST_ARGS)] == list(locate.PYTEST_ARGS)  # the cheap flags, as check's
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
    try:
        graded = grader.grade(batch.Submission("x", tmp_path / "x.py"))
    finally:
        grader.close()
    assert graded.report["verdict"] == "fail"
    assert "batch grading failed for this submission" in graded.report["output"]
    assert json.loads((tmp_path / "not-made-yet" / "x.json").read_text())["verdict"] == "fail"


# ---------------------------------------------------------------- the fork server

@pytest.mark.slow
def test_a_forked_grading_run_reports_what_a_subprocess_reports(tmp_path, monkeypatch):
    """The fork server (harness/grade/batch/forkserver.py) is a faster way to run the same command:
    the reports agree, messages and repros included, for a file that fails and passes."""
    sub = batch.Submission("bea", tmp_path / "bea.py")
    sub.path.write_text(PARTIAL)
    reports = {}
    for mode in ("1", "0"):
        monkeypatch.setenv("HARNESS_BATCH_FORK", mode)
        (tmp_path / f"out{mode}").mkdir()
        grader = batch.Grader(tmp_path / f"out{mode}")
        graded = grader.grade(sub)
        grader.close()
        assert (graded.cpu_seconds is not None) == (mode == "1")
        reports[mode] = graded.report
    assert reports["1"]["verdict"] == "fail"
    assert reports["1"]["functions"] == reports["0"]["functions"]
    assert [t["status"] for t in reports["1"]["tests"]] == [t["status"] for t in reports["0"]["tests"]]


def test_the_fork_server_imports_no_test_module():
    """@given binds the Hypothesis settings in force when it decorates: a test module
    imported before the grading run loads its profile would keep the default one (not
    derandomized). The server imports the helpers and the conftests, never a test_ module."""
    code = ("import sys; from harness.grade.batch import forkserver; forkserver._preload(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.startswith('properties.test_')))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
    assert "properties.strategies" in subprocess.run(
        [sys.executable, "-c", code.replace("startswith('properties.test_')", "startswith('properties.')"),
         str(ROOT)], cwd=ROOT, capture_output=True, text=True, timeout=300).stdout


@pytest.mark.slow
def test_the_time_limit_kills_a_forked_run_and_its_worker(tmp_path):
    """A forked run past the batch's limit is killed with everything it started (its
    worker, which hangs here in a call), and gets the timed-out report."""
    path = tmp_path / "hang.py"
    path.write_text(PARTIAL + "\n\ndef svm_loss_naive(W, X, y, reg):\n    while True:\n        pass\n")
    grader = batch.Grader(tmp_path, timeout=8)
    try:
        assert grader._fork_server(dict(os.environ)) is not None
        before = set(batch._descendants(os.getpid()))
        graded = grader.grade(batch.Submission("hang", path))
        assert graded.returncode is None
        assert all("timed out" in f["messages"][0] for f in graded.report["functions"].values())
        deadline = time.monotonic() + 10
        while set(batch._descendants(os.getpid())) - before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not set(batch._descendants(os.getpid())) - before  # nothing of the run is left
    finally:
        grader.close()


def test_batch_mode_forks_its_workers_from_one_zygote(tmp_path, monkeypatch):
    """prepare() starts the worker zygote (harness/confine/zygote.py) and names it to every grading
    run: the workers' CPU then shows in the zygote's, which reaped them. With
    HARNESS_WORKER_ZYGOTE=0 there is none and each run starts its workers fresh."""
    grader = batch.Grader(tmp_path)
    try:
        grader.prepare()
        assert grader._zygote is not None
        before = grader._zygote.cpu_seconds()
        graded = grader.grade(batch.Submission("ada", write_correct(tmp_path / "ada.py")))
        assert graded.report["verdict"] == "pass"
        assert grader._zygote.cpu_seconds() - before > 0.2  # a worker's calls, at least
    finally:
        grader.close()
    # Off in the grading runs' own environment (as tests/test_hostile.py grades with fresh
    # workers), then in the batch's.
    grader = batch.Grader(tmp_path / "fresh-extra", extra_env={"HARNESS_WORKER_ZYGOTE": "0"})
    try:
        assert grader.env()[batch.zygote.ENV] == "0"
        assert grader._zygote is None
    finally:
        grader.close()
    monkeypatch.setenv("HARNESS_WORKER_ZYGOTE", "0")
    grader = batch.Grader(tmp_path / "fresh")
    try:
        assert batch.zygote.ENV not in grader.env() or grader.env()[batch.zygote.ENV] == "0"
        assert grader._zygote is None
    finally:
        grader.close()


# ---------------------------------------------------------------- shards, merge, progress

# One function that fails (a single learning rate), one that passes, eleven missing.
PARTIAL = '''
def svm_get_search_params():
    return [1e-3], [1e-4, 1e-3]


def softmax_get_search_params():
    return [1e-3, 1e-2], [1e-4, 1e-3]
'''


def forty_file_class(folder: Path) -> Path:
    """40 submissions that make every kind of row -- a pass (a copy of the shipped file),
    a mix of fail, pass and missing, everything missing, an error at import, two names
    that collide (eve, eve-2) -- and 34 files that do not compile, which grade in about
    2 CPU-seconds each (no worker starts)."""
    write_correct(folder / "ada.py")
    (folder / "bea.py").write_text(PARTIAL)
    (folder / "cy.py").write_text("")
    (folder / "dee.py").write_text("raise ImportError('no module named eecs598')\n")
    (folder / "eve").mkdir()
    (folder / "eve" / "linear_classifier.py").write_text("def svm_loss_naive(W, X, y, reg:\n")
    (folder / "eve.py").write_text("def svm_loss_naive(W, X, y, reg:\n")
    for k in range(34):
        (folder / f"s{k:02d}.py").write_text(f"def sample_batch(X, y, num_train, batch_size):  # {k}\n"
                                             f"    return X[:batch_size], y[:batch_size\n")
    return folder


def without_seconds(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def table_rows(md: Path):
    return [line for line in md.read_text().splitlines() if line.startswith("| ")]


@pytest.mark.slow
def test_four_shards_merged_give_the_unsharded_summary(tmp_path):
    """The issue's check: a 40-file class graded whole, and as 4 shards then merged, gives
    the same summary row for row (all but the seconds each took) and the same reports.
    Cost: 80 gradings, about 200 CPU-seconds (under 2 minutes on 2 idle cores)."""
    subs = forty_file_class(tmp_path / "class")
    whole = tmp_path / "whole"
    rc, out = run_batch("--impl", subs, "--report-dir", whole, "--jobs", 2)
    assert rc == 1, out[-3000:]
    shard_dirs, graded = [], []
    for k in range(1, 5):
        folder = tmp_path / f"shard-{k}"
        rc_k, out_k = run_batch("--impl", subs, "--shard", f"{k}/4", "--report-dir", folder, "--jobs", 2)
        assert rc_k in (0, 1), out_k[-3000:]
        names = [r["submission"] for r in read_csv(folder / "summary.csv")]
        assert all(batch.shard_of(n, 4) == k for n in names)
        assert f"shard {k}/4: {len(names)} of 40 submissions" in out_k
        graded += names
        shard_dirs.append(folder)
    assert sorted(graded) == sorted(r["submission"] for r in read_csv(whole / "summary.csv"))
    assert len(graded) == len(set(graded)) == 40
    merged = tmp_path / "merged"
    proc = subprocess.run([sys.executable, "-m", "harness.batch", "merge", *map(str, shard_dirs),
                           "--report-dir", str(merged)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr   # some submissions fail
    assert "1 of 40 pass" in proc.stdout
    whole_rows, merged_rows = read_csv(whole / "summary.csv"), read_csv(merged / "summary.csv")
    assert without_seconds(merged_rows) == without_seconds(whole_rows)
    assert [r["submission"] for r in whole_rows][:6] == ["ada", "bea", "cy", "dee", "eve", "eve-2"]
    kinds = {r["submission"]: {r[n] for n in NAMES} for r in whole_rows}
    assert kinds["ada"] == {"pass"} and kinds["bea"] == {"pass", "fail", "missing"}
    assert kinds["cy"] == {"missing"} and kinds["dee"] == kinds["s00"] == {"error"}
    assert table_rows(merged / "summary.md") == table_rows(whole / "summary.md")
    what_fails = lambda md: md.read_text().split("## What does not pass", 1)[1]
    assert what_fails(merged / "summary.md") == what_fails(whole / "summary.md")
    for row in whole_rows:
        name = row["submission"]
        a = json.loads((whole / f"{name}.json").read_text())
        b = json.loads((merged / f"{name}.json").read_text())
        assert a == b, name
        assert (merged / f"{name}.log").is_file()


def _fake_shard(folder: Path, shard, names, class_size, profile="ci"):
    """A report folder as a shard run leaves it, without grading anything."""
    folder.mkdir(parents=True)
    graded = []
    for name in names:
        sub = batch.Submission(name, folder / f"{name}.py")
        report = batch.error_report(sub.path, "harness: cannot verify: not graded here")
        (folder / f"{name}.json").write_text(json.dumps(report))
        graded.append(batch.Graded(sub, report, 2, 1.0))
    positions = {n: int(n[1:]) for n in names}
    batch.write_manifest(folder, graded, positions, class_size, shard, "subs", profile, "course")
    return folder


def test_merge_refuses_what_is_not_every_shard_of_one_class(tmp_path, capsys):
    one = _fake_shard(tmp_path / "1", batch.Shard(1, 3), ["s0", "s3"], 5)
    two = _fake_shard(tmp_path / "2", batch.Shard(2, 3), ["s1", "s4"], 5)
    three = _fake_shard(tmp_path / "3", batch.Shard(3, 3), ["s2"], 5)
    out = tmp_path / "out"
    assert batch.main(["merge", str(one), str(two), "--report-dir", str(out)]) == 2
    assert "shard 3/3 missing" in capsys.readouterr().err and not out.exists()
    assert batch.main(["merge", str(one), str(two), str(one), "--report-dir", str(out)]) == 2
    assert "given twice" in capsys.readouterr().err
    other = _fake_shard(tmp_path / "other", batch.Shard(3, 3), ["s2"], 5, profile="thorough")
    assert batch.main(["merge", str(one), str(two), str(other), "--report-dir", str(out)]) == 2
    assert "differ in profile" in capsys.readouterr().err
    assert batch.main(["merge", str(one), str(tmp_path), "--report-dir", str(out)]) == 2
    assert "holds no .batch.json" in capsys.readouterr().err
    (three / "s2.json").unlink()
    assert batch.main(["merge", str(one), str(two), str(three), "--report-dir", str(out)]) == 2
    assert "s2.json: missing" in capsys.readouterr().err


def test_merge_orders_rows_as_the_whole_class_and_needs_no_torch(tmp_path):
    folders = [_fake_shard(tmp_path / "b", batch.Shard(2, 2), ["s1", "s2"], 4),
               _fake_shard(tmp_path / "a", batch.Shard(1, 2), ["s0", "s3"], 4)]
    out = tmp_path / "out"
    script = ("import sys\nfrom harness.grade import batch\n"
              f"status = batch.main(['merge', {str(folders[0])!r}, {str(folders[1])!r}, "
              f"'--report-dir', {str(out)!r}])\n"
              "assert 'torch' not in sys.modules, 'merge imported torch'\n"
              "sys.exit(status)\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert [r["submission"] for r in read_csv(out / "summary.csv")] == ["s0", "s1", "s2", "s3"]
    manifest = json.loads((out / batch.MANIFEST).read_text())
    assert manifest["shard"] is None and manifest["class_size"] == 4
    assert sorted(p.name for p in out.glob("s*.json")) == ["s0.json", "s1.json", "s2.json", "s3.json"]
    # a merged folder is a whole class: merging it again gives it back
    assert batch.main(["merge", str(out), "--report-dir", str(tmp_path / "again")]) == 1
    assert read_csv(tmp_path / "again" / "summary.csv") == read_csv(out / "summary.csv")


def test_parse_shard():
    assert batch.parse_shard("2/4") == batch.Shard(2, 4) and str(batch.Shard(2, 4)) == "2/4"
    assert batch.parse_shard("1/1") == (1, 1)
    for bad in ("0/4", "5/4", "4", "a/b", "-1/2", "1/0", ""):
        with pytest.raises(Exception, match="K/N"):
            batch.parse_shard(bad)


def test_shards_are_stable_and_even():
    # Pinned: a change of the hash would move students between shards across re-runs.
    assert [batch.shard_of(n, 4) for n in ("alice", "bob", "eve-2", "s00")] == [4, 3, 1, 4]
    names = [f"student{i}" for i in range(1000)]
    subs = [batch.Submission(n, Path(f"/x/{n}.py")) for n in names]
    slices = [batch.in_shard(subs, batch.Shard(k, 4)) for k in range(1, 5)]
    assert sorted(s.name for part in slices for s in part) == sorted(names)  # each exactly once
    assert all(200 <= len(part) <= 300 for part in slices)
    # adding students to the class moves nobody else
    fewer = batch.in_shard(subs[::3], batch.Shard(2, 4))
    assert fewer == [s for s in slices[1] if s in subs[::3]]
    assert batch.in_shard(subs, None) == subs


def _graded(name, verdict, seconds):
    report = batch.error_report(Path(f"/x/{name}.py"), "x")
    report["verdict"] = verdict
    return batch.Graded(batch.Submission(name, Path(f"/x/{name}.py")), report, 0, seconds)


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_in_ci_prints_one_line_per_submission():
    lines, clock = [], _Clock()
    progress = batch.Progress(4, 2, lambda text, **markup: lines.append(text), None, clock)
    clock.now = 10
    progress.graded(_graded("ann", "pass", 10.0))
    progress.tick()   # nothing: no in-place line outside a terminal
    clock.now = 20
    progress.graded(_graded("ben", "fail", 20.0))
    assert lines == ["[1/4] 1 pass, 0 fail | 10s, about 15s left | ann: pass 0/13 (10 s)",
                     "[2/4] 1 pass, 1 fail | 20s, about 15s left | ben: FAIL 0/13 (20 s)"]
    progress.close()
    assert len(lines) == 2


def test_progress_on_a_terminal_rewrites_one_line():
    lines, screen, clock = [], [], _Clock()
    progress = batch.Progress(3, 1, lambda text, **markup: lines.append(text), screen.append, clock)
    clock.now = 2
    progress.tick()
    assert screen[-1] == "[0/3] 0 pass, 0 fail | 2s, time left unknown yet"
    clock.now = 100
    progress.graded(_graded("ann", "pass", 100.0))
    assert screen[-1] == "[1/3] 1 pass, 0 fail | 1m40s, about 3m20s left" and lines == []
    progress.graded(_graded("ben", "fail", 100.0))   # a failure stays above the line
    assert lines == ["ben: FAIL 0/13 (100 s)"] and screen[-1].startswith("[2/3] 1 pass, 1 fail")
    progress.graded(_graded("cy", "pass", 100.0))
    progress.close()
    assert screen[-1] == "[3/3] 2 pass, 1 fail | 1m40s, done"


@pytest.mark.slow
def test_an_empty_shard_is_not_an_error(tmp_path):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "s00.py").write_text("def f(:\n")   # s00 is in shard 4 of 4
    rc, out = run_batch("--impl", tmp_path / "subs", "--shard", "1/4", "--report-dir", tmp_path / "out")
    assert rc == 0, out[-3000:]
    assert "no submission of this class falls in shard 1/4" in out
    assert read_csv(tmp_path / "out" / "summary.csv") == []
    manifest = json.loads((tmp_path / "out" / batch.MANIFEST).read_text())
    assert manifest["shard"] == [1, 4] and manifest["class_size"] == 1 and manifest["submissions"] == []


def test_shard_needs_batch_mode(tmp_path):
    rc, out = run_batch("--impl", write_correct(tmp_path / "one.py"), "--shard", "1/2")
    assert rc != 0 and "--shard K/N is for batch mode" in out
