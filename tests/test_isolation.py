"""The isolation levels (harness/confine/sandbox.py) and their fallbacks, each tried for real:
- this machine: bubblewrap works, so the default is "sandbox";
- no bwrap, as root: the worker drops to an unprivileged user;
- no bwrap and not root: a plain process, and --isolation=require refuses (exit 2).

"No bwrap" is HARNESS_BWRAP= (empty). An unprivileged user must be able to run the
grader's Python: where it lives under a folder closed to others (pyenv under a 0700
/root, as here), the fallback tests run in a mount namespace of their own in which that
folder is opened (0711) and the Python's folder bound back, as a Docker image with its
Python in /usr would have it. The harness itself sees no namespace then.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness.confine import sandbox
from tests.harness_run import ROOT, verify

HOSTILE = ROOT / "tests" / "hostile"
SHIPPED = ROOT / "implementations" / "linear_classifier.py"
NO_BWRAP = {"HARNESS_BWRAP": ""}
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the fallbacks are root's")  # CI runs as root


def answer_key_attack(key: Path) -> str:
    """answer_key_by_absolute_path.py, pointed at `key`."""
    text = (HOSTILE / "answer_key_by_absolute_path.py").read_text()
    default = '"/autograder/source/implementations/linear_classifier.py"'
    assert default in text
    return text.replace(default, repr(str(key)))


def _closed_ancestor(path: str):
    """The highest folder above `path` that others cannot enter, and the child leading down."""
    parts = Path(path).resolve().parts
    for i in range(1, len(parts)):
        folder = Path(*parts[:i])
        if not folder.stat().st_mode & 0o001:
            return str(folder), parts[i]
    return None


def _as_a_docker_grader(command: list, user: bool = False) -> list:
    """`command` where the unprivileged user can run this Python (see the module's doc);
    user=True runs it as that user (the harness not root)."""
    if user:
        command = ["setpriv", f"--reuid={sandbox.NOBODY}", f"--regid={sandbox.NOBODY}", "--clear-groups"] + command
    closed = _closed_ancestor(sys.base_prefix)
    if closed is None:
        return command
    folder, child = closed
    script = (f'keep=$(mktemp -d) && mount --bind {shlex.quote(folder + "/" + child)} "$keep" && '
              f'mount -t tmpfs -o mode=0711 tmpfs {shlex.quote(folder)} && '
              f'mkdir -p {shlex.quote(folder + "/" + child)} && '
              f'mount --move "$keep" {shlex.quote(folder + "/" + child)} && exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"] + command


def _grade(tmp_path, impl, *extra, user=False, env=None):
    """(exit status, report or None, output) of one grading, as docs/students.md's command."""
    # pytest's tmp_path, and TMPDIR itself where it is private, are closed to others
    out = Path(tempfile.mkdtemp(prefix="lc-isolation-", dir=sandbox.workers_tempdir()))
    out.chmod(0o777)
    if user:  # that user's own temp folder: root's may be closed to it
        env = dict(env or {}, TMPDIR=str(out))
    report = out / "report.json"
    cmd = _as_a_docker_grader([sys.executable, "-m", "pytest", "properties", "-q", "-p", "no:cacheprovider",
                               "--hypothesis-profile=ci", "--impl", str(impl), "--report", str(report)]
                              + list(extra), user=user)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, **(env or {})))
    data = json.loads(report.read_text()) if report.exists() else None
    shutil.rmtree(out, ignore_errors=True)
    return proc.returncode, data, proc.stdout + proc.stderr


def test_sandbox_is_available_here():
    """This machine (and CI's) gives bwrap its namespaces: the default is the sandbox."""
    best = sandbox.available()[0]
    assert best.level == "sandbox", f"no sandbox here: {best.why}"


def test_the_report_names_the_isolation(tmp_path):
    code, report, output = _grade(tmp_path, SHIPPED)
    assert code == 0, output[-3000:]
    assert report["isolation"] == "sandbox"
    assert "isolation: sandbox" in output


@pytest.mark.slow
@needs_root
def test_root_without_namespaces_drops_to_an_unprivileged_user(tmp_path):
    """The answer key is readable by root only: the dropped worker cannot copy it."""
    key = tmp_path / "source" / "implementations" / "linear_classifier.py"
    key.parent.mkdir(parents=True)
    key.write_text(SHIPPED.read_text())
    (tmp_path / "source").chmod(0o700)  # as run_autograder closes the harness's source
    attack = tmp_path / "attack.py"
    attack.write_text(answer_key_attack(key))
    code, report, output = _grade(tmp_path, attack, env=NO_BWRAP)
    assert report is not None, output[-3000:]
    assert report["isolation"] == "unprivileged-user", output[-3000:]
    assert code == 1 and report["verdict"] == "fail", output[-3000:]
    assert report["functions"]["svm_loss_vectorized"]["status"] == "fail"
    code, report, output = _grade(tmp_path, SHIPPED, "--isolation=require", env=NO_BWRAP)
    assert code == 0 and report["isolation"] == "unprivileged-user", output[-3000:]


@pytest.mark.slow
@needs_root
def test_neither_runs_a_process_and_require_fails_closed(tmp_path):
    code, report, output = _grade(tmp_path, SHIPPED, user=True, env=NO_BWRAP)
    assert code == 0 and report["isolation"] == "process", output[-3000:]
    code, report, output = _grade(tmp_path, SHIPPED, "--isolation=require", user=True, env=NO_BWRAP)
    assert code == 2, output[-3000:]
    lines = [l for l in output.splitlines() if l.startswith("harness: cannot verify:")]
    assert len(lines) == 1 and "--isolation=require" in lines[0], output[-3000:]
    assert report is not None and report["verdict"] == "fail"
    assert all(f["status"] == "error" for f in report["functions"].values())


def test_a_level_that_is_not_available_is_refused(tmp_path):
    code, report, output = _grade(tmp_path, SHIPPED, "--isolation=sandbox", env=NO_BWRAP)
    assert code == 2 and "--isolation=sandbox is not available here" in output, output[-3000:]
