"""The ready-made integrations: Gradescope's run_autograder and the GitHub Actions
workflow that grades submissions/."""
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.api import NAMES
from tests.test_isolation import _as_a_docker_grader, answer_key_attack
from tests.test_batch import assert_report_shape, read_csv, write_correct, write_wrong

ROOT = Path(__file__).resolve().parent.parent
RUN_AUTOGRADER = ROOT / "integrations" / "gradescope" / "run_autograder"
SETUP_SH = ROOT / "integrations" / "gradescope" / "setup.sh"
WORKFLOW = ROOT / ".github" / "workflows" / "grade-submissions.yml"
GRADE_COMMAND = ("python -m pytest properties --impl submissions "
                 "--shard ${{ matrix.shard }}/${{ env.SHARDS }} --report-dir reports --isolation=require")
MERGE_COMMAND = "python -m harness.batch merge shards/* --report-dir reports"


# ---------------------------------------------------------------- Gradescope

def autograder_root(tmp_path: Path, source: Path = ROOT) -> Path:
    """A folder laid out like Gradescope's /autograder, the harness as its source."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "source").symlink_to(source, target_is_directory=True)
    return root


def start_autograder(root: Path, wrap=lambda cmd: cmd, **env) -> subprocess.Popen:
    # HARNESS_PROTECT_SOURCE=0: `source` is a link to this checkout, whose modes stay as
    # they are; the answer-key test below grades with a copy that the script closes.
    environment = dict(os.environ, AUTOGRADER_ROOT=str(root), HARNESS_PYTHON=sys.executable,
                       PYTHONDONTWRITEBYTECODE="1", HARNESS_PROTECT_SOURCE="0")
    environment.update(env)
    return subprocess.Popen(wrap(["bash", str(RUN_AUTOGRADER)]), env=environment, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish(proc: subprocess.Popen, root: Path, timeout=900) -> dict:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]  # Gradescope reads results.json, not the status
    results = root / "results" / "results.json"
    assert results.is_file(), out[-3000:]
    data = json.loads(results.read_text())
    assert isinstance(data["score"], float)
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output"}
        assert test["status"] in ("passed", "failed")
    data["_output"] = out
    return data


def test_scripts_are_executable_bash():
    for script in (RUN_AUTOGRADER, SETUP_SH):
        assert os.access(script, os.X_OK), f"{script} is not executable"
        assert script.read_text().startswith("#!/usr/bin/env bash")
        subprocess.run(["bash", "-n", str(script)], check=True)


def test_run_autograder_grades_a_correct_and_a_wrong_submission(tmp_path):
    # The two gradings run at once (each takes 10-25 s on one core).
    good, bad = autograder_root(tmp_path / "good"), autograder_root(tmp_path / "bad")
    write_correct(good / "submission" / "linear_classifier.py")
    write_wrong(bad / "submission" / "linear_classifier.py")
    procs = [start_autograder(good), start_autograder(bad)]
    good_results, bad_results = (finish(p, r) for p, r in zip(procs, (good, bad)))
    assert_report_shape(good_results)
    assert good_results["verdict"] == "pass", good_results["_output"][-3000:]
    assert good_results["score"] == good_results["max_score"] == float(len(NAMES))
    assert_report_shape(bad_results)
    assert bad_results["verdict"] == "fail"
    assert bad_results["functions"]["svm_loss_vectorized"]["status"] == "fail"
    assert 0 < bad_results["score"] < bad_results["max_score"]
    failed = {t["name"] for t in bad_results["tests"] if t["status"] == "failed"}
    assert "svm_loss_vectorized" in failed


def test_run_autograder_a_submission_that_raises_on_import(tmp_path):
    root = autograder_root(tmp_path)
    (root / "submission" / "linear_classifier.py").write_text(
        "raise ImportError('No module named eecs598')\n")
    results = finish(start_autograder(root), root)
    assert_report_shape(results)
    assert results["score"] == 0.0 and results["verdict"] == "fail"
    assert "raised on import: ImportError" in results["output"]
    assert {f["status"] for f in results["functions"].values()} == {"error"}


@pytest.mark.slow
def test_run_autograder_finds_the_file_in_a_zipped_folder_and_reports_a_missing_one(tmp_path):
    root = autograder_root(tmp_path)
    nested = root / "submission" / "A2" / "linear_classifier.py"
    nested.parent.mkdir()
    nested.write_text("import sys\nsys.exit(3)\n")
    results = finish(start_autograder(root), root)
    assert results["module"].endswith("A2/linear_classifier.py")
    assert "raised on import: SystemExit" in results["output"]
    nested.unlink()  # nothing uploaded under that name: the harness says "no such file"
    results = finish(start_autograder(root), root)
    assert results["score"] == 0.0 and "no such file" in results["output"]


@pytest.mark.parametrize("breakage", ["no-source", "not-a-harness", "no-python"])
def test_run_autograder_always_leaves_a_results_json(tmp_path, breakage):
    empty = tmp_path / "empty-source"
    empty.mkdir()
    root = autograder_root(tmp_path, source=empty)
    write_correct(root / "submission" / "linear_classifier.py")
    env = {}
    if breakage == "no-source":
        env["HARNESS_SOURCE"] = str(tmp_path / "does-not-exist")
    elif breakage == "no-python":
        env["HARNESS_PYTHON"] = str(tmp_path / "no-such-python")
        env["HARNESS_SOURCE"] = str(ROOT)
    results = finish(start_autograder(root, **env), root)
    assert results["score"] == 0.0 and results["verdict"] == "fail"
    assert results["output"].startswith("The autograder could not grade this submission")
    assert results["tests"][0]["status"] == "failed"
    expected = {"no-source": "does not exist", "not-a-harness": "exited with status 4",
                "no-python": "without a usable report"}[breakage]
    assert expected in results["output"], results["output"]


def test_run_autograder_time_limit(tmp_path):
    root = autograder_root(tmp_path)
    write_correct(root / "submission" / "linear_classifier.py")
    results = finish(start_autograder(root, HARNESS_TIMEOUT="1"), root)
    assert results["score"] == 0.0 and "took longer than 1 s" in results["output"]


HARNESS_FILES = ("conftest.py", "tox.ini", "requirements.txt", "harness", "properties", "reference",
                 "implementations")


@pytest.mark.slow
def test_run_autograder_fails_a_submission_that_loads_the_answer_key(tmp_path):
    """A submission that loads source/implementations/linear_classifier.py by its absolute
    path: in the sandbox (this machine's default) the source is not mounted; as the
    unprivileged user of the fallback (no bwrap), run_autograder has closed it. The control
    run, a plain root process, shows the attack works where nothing stops it."""
    runs = {}
    # Not root (a GitHub runner): no user to drop to, and run_autograder closes nothing (root's
    # step only); the sandbox and the control run are this test's then.
    as_root = os.geteuid() == 0
    for isolation in ("sandbox", "unprivileged-user", "process") if as_root else ("sandbox", "process"):
        root = tmp_path / isolation / "autograder"
        (root / "submission").mkdir(parents=True)
        (root / "source").mkdir()
        for name in HARNESS_FILES:
            copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
            copy(ROOT / name, root / "source" / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                                         if (ROOT / name).is_dir() else {}))
        key = root / "source" / "implementations" / "linear_classifier.py"
        (root / "submission" / "linear_classifier.py").write_text(answer_key_attack(key))
        env = {"HARNESS_PROTECT_SOURCE": "1"}
        wrap = lambda cmd: cmd
        if isolation == "unprivileged-user":
            env["HARNESS_BWRAP"] = ""
            wrap = _as_a_docker_grader
        elif isolation == "process":
            env["HARNESS_ISOLATION"] = "process"
        runs[isolation] = (root, start_autograder(root, wrap=wrap, **env))
    for isolation, (root, proc) in runs.items():
        results = finish(proc, root)
        assert results.get("isolation") == isolation, results["_output"][-3000:]
        vectorized = results["functions"]["svm_loss_vectorized"]["status"]
        if isolation == "process":
            assert vectorized == "pass", "the control: a plain process reads the key"
        else:
            assert vectorized == "fail" and results["score"] < results["max_score"], results["_output"][-3000:]
            if as_root:
                assert (root / "source").stat().st_mode & 0o077 == 0, "run_autograder did not close the source"


def test_run_autograder_refuses_to_grade_without_isolation(tmp_path):
    """No bwrap and not root (a plain process at best): --isolation=require, the
    script's default, gives score 0 and the reason rather than an unconfined grading."""
    root = autograder_root(tmp_path)
    write_correct(root / "submission" / "linear_classifier.py")
    results = finish(start_autograder(root, HARNESS_BWRAP="", HARNESS_SANDBOX_UID="0",
                                      HARNESS_SANDBOX_GID="0"), root)
    assert results["score"] == 0.0 and "--isolation=require" in results["output"], results["output"]


# ---------------------------------------------------------------- GitHub Actions

def workflow():
    text = WORKFLOW.read_text()
    try:
        import yaml
    except ImportError:
        return text, None
    data = yaml.safe_load(text)
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return text, data


def test_workflow_has_the_required_steps():
    text, data = workflow()
    if data is None:  # no PyYAML: check the text
        for needle in ("on:", "push:", "pull_request:", "actions/setup-python", '"3.11"',
                       "pip install -r requirements.txt", GRADE_COMMAND, "actions/upload-artifact",
                       "path: reports/", "matrix:", "shard: [1, 2, 3, 4]", 'SHARDS: "4"',
                       "fail-fast: false", "needs: grade", "actions/download-artifact",
                       "pattern: grading-reports-shard-*", MERGE_COMMAND, "GITHUB_STEP_SUMMARY"):
            assert needle in text, needle
        return
    assert {"push", "pull_request"} <= set(data["on"])
    steps = data["jobs"]["grade"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    setup = steps[[u.startswith("actions/setup-python") for u in uses].index(True)]
    assert str(setup["with"]["python-version"]) == "3.11"
    runs = [s.get("run", "") for s in steps]
    assert any("pip install -r requirements.txt" in r for r in runs)
    grade = next(s for s in steps if GRADE_COMMAND in s.get("run", ""))
    assert grade["run"].strip() == GRADE_COMMAND
    assert not grade.get("continue-on-error"), "a failing submission must fail the job"
    upload = steps[[u.startswith("actions/upload-artifact") for u in uses].index(True)]
    assert upload["with"]["path"].rstrip("/") == "reports"
    assert "always()" in upload.get("if", ""), "the reports are uploaded when grading fails too"
    assert uses.index(upload["uses"]) > steps.index(grade)
    assert data["jobs"]["grade"]["strategy"]["fail-fast"] is False
    shards = data["jobs"]["grade"]["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(data["env"]["SHARDS"]) + 1))
    merge = data["jobs"]["merge"]
    assert merge["needs"] == "grade" and "always()" in merge["if"]
    merge_runs = [s.get("run", "") for s in merge["steps"]]
    assert any(r.strip() == MERGE_COMMAND for r in merge_runs)
    assert any("GITHUB_STEP_SUMMARY" in r for r in merge_runs)


@pytest.mark.slow
def test_workflow_command_grades_submissions_and_fails_on_a_failing_one(tmp_path):
    """Run the workflow's own command in a checkout-like folder with a submissions/."""
    text, data = workflow()
    if data is not None:
        command = next(s["run"] for s in data["jobs"]["grade"]["steps"] if GRADE_COMMAND in s.get("run", ""))
    else:
        command = GRADE_COMMAND
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("conftest.py", "tox.ini", "harness", "properties", "implementations", "requirements.txt"):
        (checkout / name).symlink_to(ROOT / name)
    subs = checkout / "submissions"
    subs.mkdir()
    # Submissions that fail at import are graded in seconds.
    (subs / "mallory.py").write_text("raise RuntimeError('not started')\n")
    (subs / "trent").mkdir()
    (subs / "trent" / "linear_classifier.py").write_text("import sys\nsys.exit(0)\n")
    env = dict(os.environ)
    # The matrix: each shard job grades into reports/, uploaded as its own artifact; the
    # merge job downloads them all into shards/<artifact>/ and merges them.
    for k in (1, 2):
        shard = command.replace("${{ matrix.shard }}", str(k)).replace("${{ env.SHARDS }}", "2")
        args = shlex.split(shard)
        assert args[:3] == ["python", "-m", "pytest"]
        proc = subprocess.run([sys.executable, *args[1:], "-p", "no:cacheprovider"], cwd=checkout,
                              capture_output=True, text=True, timeout=600, env=env)
        out = proc.stdout + proc.stderr
        assert proc.returncode in (0, 1), out[-3000:]
        (checkout / "shards").mkdir(exist_ok=True)
        (checkout / "reports").rename(checkout / "shards" / f"grading-reports-shard-{k}")
    proc = subprocess.run(MERGE_COMMAND.replace("python", shlex.quote(sys.executable), 1), shell=True,
                          cwd=checkout, capture_output=True, text=True, timeout=300, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    reports = checkout / "reports"
    assert sorted(p.name for p in reports.glob("*.json")) == [".batch.json", "mallory.json", "trent.json"]
    rows = read_csv(reports / "summary.csv")
    assert [(r["submission"], r["verdict"]) for r in rows] == [("mallory", "fail"), ("trent", "fail")]
    assert (reports / "summary.md").is_file()
