"""The warm single-file command (`python -m harness check FILE`, harness/warm.py): runs
after the first are forked from one grading server, and give the fresh command's
verdicts; the server answers only through a folder closed to others, and leaves nothing
when it ends."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from harness.grade import warm
from tests.harness_run import ROOT

WRONG = ROOT / "tests" / "zoo" / "wrong" / "svm_vec_reg_grad_not_doubled.py"


@pytest.fixture
def state():
    """A folder of its own for the servers (short: a socket's address holds 107 bytes)."""
    folder = tempfile.mkdtemp(prefix="lc-warm-test-", dir="/tmp")
    yield Path(folder)
    subprocess.run([sys.executable, "-m", "harness", "stop"], cwd=ROOT, capture_output=True, timeout=60,
                   env=dict(os.environ, **{warm.DIR_ENV: folder}))
    shutil.rmtree(folder, ignore_errors=True)


def check(state, *args, idle="60", cwd=ROOT):
    env = dict(os.environ, **{warm.DIR_ENV: str(state), warm.IDLE_ENV: idle, "PYTHONPATH": str(ROOT)})
    return subprocess.run([sys.executable, "-m", "harness", "check", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def judged(report_path):
    report = json.loads(Path(report_path).read_text())
    return report["verdict"], {n: (f["status"], f.get("mistakes")) for n, f in report["functions"].items()}


def test_later_runs_fork_from_one_server_and_judge_as_a_fresh_run(state, tmp_path):
    runs = [check(state, WRONG, "--report", tmp_path / f"warm{i}.json") for i in range(2)]
    fresh = check(state, WRONG, "--report", tmp_path / "fresh.json", "--fresh")
    for done in runs + [fresh]:
        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
        assert "verdict: FAIL" in done.stdout and "grading in a fresh process" not in done.stderr
    assert "warnings summary" not in runs[1].stdout
    servers = list(state.glob("*.sock"))
    assert len(servers) == 1, servers  # the second run found the first one's server
    verdict, functions = judged(tmp_path / "warm1.json")
    assert (verdict, functions) == judged(tmp_path / "fresh.json") == judged(tmp_path / "warm0.json")
    assert functions["svm_loss_vectorized"] == ("fail", ["reg-grad-not-doubled"])
    stopped = subprocess.run([sys.executable, "-m", "harness", "stop"], cwd=ROOT, capture_output=True, text=True,
                             env=dict(os.environ, **{warm.DIR_ENV: str(state)}), timeout=60)
    assert stopped.stdout.strip() == "stopped 1 grading server"
    deadline = time.monotonic() + 30
    while list(state.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not list(state.iterdir()), "the server left its socket or log"


@pytest.mark.slow
def test_an_idle_server_exits_and_a_relative_path_is_the_callers(state, tmp_path):
    shutil.copy(WRONG, tmp_path / "linear_classifier.py")
    done = check(state, "linear_classifier.py", "--report=report.json", idle="1", cwd=tmp_path)
    assert done.returncode == 1 and "verdict: FAIL" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    assert judged(tmp_path / "report.json")[1]["svm_loss_vectorized"] == ("fail", ["reg-grad-not-doubled"])
    deadline = time.monotonic() + 60
    while list(state.glob("*.sock")) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not list(state.glob("*.sock")), "an idle server did not exit"


@pytest.mark.slow
def test_a_folder_open_to_others_is_refused_and_the_run_is_fresh(state, tmp_path):
    state.chmod(0o755)
    done = check(state, WRONG, "--report", tmp_path / "r.json")
    assert done.returncode == 1 and "verdict: FAIL" in done.stdout
    assert "grading in a fresh process" in done.stderr and "closed to others" in done.stderr
    assert not list(state.glob("*.sock"))


def test_paths_are_made_absolute_against_the_callers_folder():
    assert warm.absolute(["--impl", "a.py", "--report=r.json", "--strict", "--e2e-plot", "~/p.png"], "/home/s") == [
        "--impl", "/home/s/a.py", "--report=/home/s/r.json", "--strict", "--e2e-plot",
        os.path.expanduser("~/p.png")]


def test_a_changed_source_or_environment_is_another_server(monkeypatch):
    first = warm.key()
    monkeypatch.setenv("HARNESS_SOMETHING", "1")
    assert warm.key() != first
    monkeypatch.delenv("HARNESS_SOMETHING")
    assert warm.key() == first
    monkeypatch.setenv("UNRELATED_VARIABLE", "1")
    assert warm.key() == first
