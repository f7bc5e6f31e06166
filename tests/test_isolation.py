"""The isolation levels (harness/confine/sandbox.py) and their fallbacks, each tried for real:
- this machine: bubblewrap works, so the default is "sandbox";
- no bwrap, as root: the worker drops to an unprivileged user;
- no bwrap and not root: a plain process, and --isolation=require refuses (exit 2).

"No bwrap" is HARNESS_BWRAP= (empty). An unprivileged user must be able to run the
grader's Python: where it lives under a folder closed to others (pyenv under a 0700
/root, as here), the fallback tests run in a mount namespace of their own in which that
folder is opened (0711) and the Python's folder bound back, as a Docker image with its
Python in /usr would have it. The harness itself sees no namespace then. Graded as that
user (not root), the harness runs from a copy of the checkout that user owns, in a 0700
home of its own (private_checkout), as a grader who is not root has it: this checkout may
lie where that user cannot look (a `mktemp -d` folder, /root).
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
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="not root: only root can drop to another user "
                                "(the unprivileged-user level; the tests' grading as that user)")


def answer_key_attack(key: Path) -> str:
    """answer_key_by_absolute_path.py, pointed at `key`."""
    text = (HOSTILE / "answer_key_by_absolute_path.py").read_text()
    default = '"/autograder/source/implementations/linear_classifier.py"'
    assert default in text
    return text.replace(default, repr(str(key)))


def _closed_ancestor(path: str):
    """The highest folder above `path` that others cannot enter, and the child leading down."""
    folder = sandbox.closed_folder(Path(path).parent)
    if folder is None:
        return None
    return str(folder), Path(path).resolve().relative_to(folder).parts[0]


# What a grading reads of a checkout is all of it but its history and caches (bytecode kept).
NOT_COPIED = shutil.ignore_patterns(".git", ".hypothesis", ".pytest_cache", "*.egg-info")


def private_checkout(home: Path, owner=None) -> Path:
    """A copy of this checkout at `home`/with space/checkout, `home` made 0700 as a home
    folder or `mktemp -d` makes one; all of it owned by uid/gid `owner` if given (a user's
    own checkout, which only that user can reach)."""
    home.mkdir(mode=0o700, exist_ok=True)
    home.chmod(0o700)
    tree = home / "with space" / "checkout"
    shutil.copytree(ROOT, tree, symlinks=True, ignore=NOT_COPIED)
    if owner is not None:
        for p in (home, *home.rglob("*")):
            os.lchown(p, owner, owner)
    return tree


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


def _grade(tmp_path, impl, *extra, user=False, env=None, checkout=ROOT, as_docker=True):
    """(exit status, report or None, output) of one grading, as docs/students.md's command,
    from `checkout` (a copy: private_checkout). user=True: as the unprivileged user, from a
    copy of its own in a 0700 home (this checkout's folders may be closed to that user: a
    clone in a `mktemp -d` folder, under /root), `impl` that copy's file if it is one of ours.
    as_docker=False: this machine's Python as it is, where the unprivileged user may not reach it."""
    # pytest's tmp_path, and TMPDIR itself where it is private, are closed to others
    out = Path(tempfile.mkdtemp(prefix="lc-isolation-", dir=sandbox.workers_tempdir()))
    out.chmod(0o777)
    if user:  # that user's own checkout and temp folder: root's may be closed to it
        env = dict(env or {}, TMPDIR=str(out))
        checkout = private_checkout(out / "home", owner=sandbox.NOBODY)
        if Path(impl).resolve().is_relative_to(ROOT):
            impl = checkout / Path(impl).resolve().relative_to(ROOT)
    report = out / "report.json"
    cmd = [sys.executable, "-m", "pytest", "properties", "-q", "-p", "no:cacheprovider",
           "--hypothesis-profile=ci", "--impl", str(impl), "--report", str(report)] + list(extra)
    if as_docker:
        cmd = _as_a_docker_grader(cmd, user=user)
    proc = subprocess.run(cmd, cwd=checkout, capture_output=True, text=True, timeout=900,
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
