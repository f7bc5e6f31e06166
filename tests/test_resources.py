"""Resources a submission may use (SPEC.md; harness/confine/limits.py): each attack of
tests/resource_attacks/ is graded, single-file and in a batch beside a correct classmate,
while a sampler watches the machine: the disk used under the workers' folders, the
memory (the grading's processes' proportional share, and tmpfs pages), and the number of
the grading's processes. Each attack must fail with its limit named, stay within the
bounds below, and leave no process, file or cgroup behind; the classmate must pass.
Headers of the attack files:
    # limit: disk | processes | time | isolation
    # blamed: NAME | all | none
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import torch

from harness.confine import limits as bounds, sandbox
from harness.confine.worker import WorkerSubject
from harness.errors import SubmissionError
from harness.api import NAMES
from harness.grade.e2e import OFF_ENV
from tests.harness_run import ROOT, assert_report_shape, tiered, verify
from tests.test_isolation import NO_BWRAP, _as_a_docker_grader, _grade, needs_root  # as a Docker grader (its Python opened to others)
from tests.test_zygote import LEAVES, LOOK

ATTACKS = ROOT / "tests" / "resource_attacks"
CLASSMATE = ROOT / "tests" / "zoo" / "right" / "autograd_builtin_losses.py"
SANDBOX = next((iso for iso in sandbox.available() if iso.level == "sandbox"), None)
needs_sandbox = pytest.mark.skipif(SANDBOX is None, reason="bubblewrap cannot run here")

MiB = 2**20
DISK_BOUND = 256 * MiB        # disk added at the peak
MEMORY_BOUND = 1024 * MiB     # memory beyond a correct file's run, at the peak
PROCESS_BOUND = 64            # the grading's processes alive at once
BUDGET_S = 20                 # --submission-budget for the sleeper: CI stays short
SINGLE_BOUND_S = 120          # an attack's single-file grading
MESSAGES = {"disk": "the disk limit", "processes": "the process limit",
            "time": "the submission's time budget ran out"}


def header(path: Path) -> dict:
    info = {}
    for line in path.read_text().splitlines()[:10]:
        match = re.match(r"# (limit|blamed): (.*)", line)
        if match:
            info[match.group(1)] = match.group(2).strip()
    return info


# ---------------------------------------------------------------- the sampler

def _stat(pid: str):
    """(parent pid, start time) of a process, None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[1]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _shmem() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Shmem:"):
                return int(line.split()[1]) * 1024
    return 0


def _disk_used(path: str) -> int:
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


class Peaks(threading.Thread):
    """Samples, every `every` s until stopped, the grading rooted at `root` (a pid given
    once it runs): its processes (all descendants), their memory, tmpfs pages, the disk."""

    def __init__(self, disk_path: str, every: float = 0.1):
        super().__init__(daemon=True)
        self.disk_path, self.every = disk_path, every
        self.root = None
        self.stopped = threading.Event()
        self.disk0, self.shmem0 = _disk_used(disk_path), _shmem()
        self.disk = self.shmem = self.memory = 0
        self.processes = 0
        self.seen = {}  # pid -> start time: every process of the grading, ever

    def tree(self):
        children = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            got = _stat(pid)
            if got:
                children.setdefault(got[0], []).append((int(pid), got[1]))
        root = _stat(str(self.root))
        found, todo = ({self.root: root[1]} if root else {}), [self.root]
        while todo:
            for pid, start in children.get(todo.pop(), []):
                if pid not in found:
                    found[pid] = start
                    todo.append(pid)
        return found

    def sample(self, with_memory: bool):
        if self.root is None:
            return
        tree = self.tree()
        self.seen.update(tree)
        self.processes = max(self.processes, len(tree))
        self.disk = max(self.disk, _disk_used(self.disk_path) - self.disk0)
        shmem = _shmem() - self.shmem0
        self.shmem = max(self.shmem, shmem)
        if with_memory:
            self.memory = max(self.memory, sum(_pss(p) for p in tree) + max(shmem, 0))

    def run(self):
        n = 0
        while not self.stopped.wait(self.every):
            self.sample(with_memory=n % 4 == 0)  # smaps is dearer: every 4th sample
            n += 1

    def stop(self):
        self.stopped.set()
        self.join()

    def left_behind(self, timeout: float = 10.0):
        """The grading's processes still alive (same pid, same start time) after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            alive = {pid for pid, start in self.seen.items() if (_stat(str(pid)) or (0, None))[1] == start}
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.2)

    def summary(self) -> str:
        return (f"peaks: {self.processes} processes, disk +{self.disk / MiB:.0f} MiB, tmpfs +"
                f"{self.shmem / MiB:.0f} MiB, memory {self.memory / MiB:.0f} MiB")


def watched(run, tmp_path: Path):
    """Run `run(started, env)` (a grading) under a Peaks sampler, with the grading's
    temporary folder (TMPDIR) private to this test; (its result, the peaks, that folder)."""
    private = tmp_path / "tmpdir"
    private.mkdir()
    peaks = Peaks(str(private))
    peaks.start()

    def started(pid):
        peaks.root = pid

    try:
        result = run(started, {"TMPDIR": str(private), OFF_ENV: "0"})
    finally:
        peaks.stop()
    print(peaks.summary())
    return result, peaks, private


def _cgroups_left(pids) -> list:
    """pids cgroups of the harness's (lc-worker-PID-...) made by these processes, still there."""
    left = []
    for top in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup"):
        if os.path.isdir(top):
            for folder, dirs, _ in os.walk(top):
                left += [os.path.join(folder, d) for d in dirs
                         if d.startswith("lc-worker-") and int(d.split("-")[2]) in pids]
    return left


def assert_nothing_left(peaks: Peaks, private: Path):
    assert not peaks.left_behind(), f"processes left behind: {sorted(peaks.left_behind(0))}"
    assert not list(private.iterdir()), f"files left behind: {sorted(private.iterdir())}"
    assert not _cgroups_left(set(peaks.seen)), f"cgroups left behind: {_cgroups_left(set(peaks.seen))}"
    # Beyond the grading's own tree (left_behind): a child that escaped it, adopted by init.
    # Not every such child on the machine: another grading beside this one has its own alive.
    rows = subprocess.run(["ps", "-eo", "stat=,ppid=,comm="], capture_output=True, text=True).stdout.splitlines()
    alive = [r for r in rows if r.split()[1:] == ["1", "lc-attack-fork"] and not r.startswith("Z")]
    assert not alive, f"a fork bomb's children outlived the grading: {len(alive)}"


def unbounded_here(report: dict, path: Path) -> str:
    """Why this attack's limit cannot hold on this machine ('' if it can): a process limit
    without a pids cgroup to make (not root, none delegated: a GitHub runner). The report
    must say so, and a sandboxed worker's processes still die with it."""
    why = bounds.process_bound() if header(path)["limit"] == "processes" else ""
    if why:
        assert report["limits"]["processes"].startswith(f"not enforced ({why})"), report["limits"]
        if report["isolation"] == "sandbox":
            assert "none outlives the worker" in report["limits"]["processes"], report["limits"]
    return why


def assert_attack_failed(report: dict, path: Path):
    """Failed, with the limit named in the blamed function's messages (or in every one's)."""
    info = header(path)
    assert report["verdict"] == "fail", json.dumps(report["functions"], indent=1)[:3000]
    blamed = NAMES if info["blamed"] == "all" else [info["blamed"]]
    for name in blamed:
        entry = report["functions"][name]
        assert entry["status"] == "error", (name, entry)
        assert any(MESSAGES[info["limit"]] in m for m in entry["messages"]), (name, entry["messages"])
    if info["limit"] in ("disk", "processes"):
        limit = f"{bounds.DEFAULT_DISK_MIB} MiB" if info["limit"] == "disk" else f"{bounds.DEFAULT_PROCESSES} processes"
        assert any(limit in m for name in blamed for m in report["functions"][name]["messages"])


def assert_within_bounds(peaks: Peaks, baseline_memory: int):
    assert peaks.disk <= DISK_BOUND, peaks.summary()
    assert peaks.shmem <= DISK_BOUND, peaks.summary()
    assert peaks.processes <= PROCESS_BOUND, peaks.summary()
    assert peaks.memory <= baseline_memory + MEMORY_BOUND, \
        f"{peaks.summary()}; a correct file's run: {baseline_memory / MiB:.0f} MiB"


# ---------------------------------------------------------------- single file

@pytest.fixture(scope="module")
def baseline_memory(tmp_path_factory):
    """A correct file's run, watched as the attacks are: its verdict (pass, with the report's
    limits) and the memory at its peak, what the attacks are measured against."""
    tmp = tmp_path_factory.mktemp("baseline")
    run, peaks, private = watched(lambda started, env: verify(CLASSMATE, tmp / "report.json", started=started,
                                                              env=env), tmp)
    assert run.returncode == 0 and run.report["verdict"] == "pass", run.output[-3000:]
    assert run.report["limits"]["disk_mib"] == bounds.DEFAULT_DISK_MIB
    assert run.report["limits"]["processes_max"] == bounds.DEFAULT_PROCESSES
    assert run.report["limits"]["submission_s"] == bounds.DEFAULT_SUBMISSION_S
    assert_nothing_left(peaks, private)
    return peaks.memory


SINGLE_FILES = ["fill_folder_in_call.py", "fill_tmp_and_shm_at_import.py", "fork_bomb_in_call.py",
                "sleep_in_every_call.py"]
# The fast tier: the fork bomb alone; the full tier, every attack.
SINGLE = tiered([(name,) for name in SINGLE_FILES], SINGLE_FILES, {"fork_bomb_in_call.py"})


@needs_sandbox
@pytest.mark.parametrize("name", SINGLE)
def test_attack_single_file(name, baseline_memory, tmp_path):
    path = ATTACKS / name
    extra = [f"--submission-budget={BUDGET_S}"] if header(path)["limit"] == "time" else []
    run, peaks, private = watched(lambda started, env: verify(path, tmp_path / "report.json", *extra,
                                                              started=started, env=env,
                                                              timeout=SINGLE_BOUND_S + 60), tmp_path)
    assert run.report is not None, run.output[-3000:]
    assert_report_shape(run.report)
    assert run.report["isolation"] == "sandbox"
    why = unbounded_here(run.report, path)
    if why:
        assert_nothing_left(peaks, private)
        pytest.skip(f"processes cannot be bounded here ({why}): the report says so, and none outlived the worker")
    assert run.returncode != 0
    assert "enforced" in run.report["limits"]["disk"]
    assert_attack_failed(run.report, path)
    assert run.seconds <= SINGLE_BOUND_S, f"{run.seconds:.0f} s"
    if header(path)["limit"] == "time":  # the budget, not the functions' budgets, ended it
        assert run.seconds <= BUDGET_S + 40, f"{run.seconds:.0f} s"
    assert_within_bounds(peaks, baseline_memory)
    assert_nothing_left(peaks, private)


# ---------------------------------------------------------------- a batch

@pytest.mark.slow
@needs_sandbox
def test_attacks_in_a_batch_beside_a_classmate(baseline_memory, tmp_path):
    """Every attack, the snooper and a correct classmate in one batch (2 at a time, workers
    forked from the batch's zygote): each attack fails with its limit named, the snooper sees
    nothing of another and passes, the classmate passes, every report and the summary exist."""
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copyfile(CLASSMATE, subs / "classmate.py")
    attacks = sorted(ATTACKS.glob("*.py"))
    for path in attacks:
        shutil.copyfile(path, subs / path.name)
    reports = tmp_path / "reports"
    cmd = [sys.executable, "-m", "pytest", "properties", "-p", "no:cacheprovider", "--impl", str(subs),
           "--report-dir", str(reports), "--jobs", "2", f"--submission-budget={BUDGET_S}"]

    def grade(started, env):
        start = time.monotonic()
        with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=dict(os.environ, **env)) as proc:
            started(proc.pid)
            out, _ = proc.communicate(timeout=600)
        return proc.returncode, out, time.monotonic() - start

    (rc, out, seconds), peaks, private = watched(grade, tmp_path)
    print(f"batch of {len(attacks) + 1}: {seconds:.0f} s")
    assert rc == 1, out[-3000:]
    assert (reports / "summary.csv").exists() and (reports / "summary.md").exists()
    classmate = json.loads((reports / "classmate.json").read_text())
    assert classmate["verdict"] == "pass", json.dumps(classmate["functions"], indent=1)[:3000]
    for path in attacks:
        report = json.loads((reports / f"{path.stem}.json").read_text())
        assert_report_shape(report)
        if unbounded_here(report, path):
            continue  # as the single-file test: the report says so; nothing is left (below)
        if header(path)["limit"] == "isolation":
            assert report["verdict"] == "pass", (path.name, report["functions"]["svm_get_search_params"],
                                                 (reports / f"{path.stem}.log").read_text()[-2000:])
        else:
            assert_attack_failed(report, path)
    # Two gradings at a time, each within the bounds of one (the memory: two correct runs' worth).
    assert peaks.disk <= DISK_BOUND and peaks.shmem <= DISK_BOUND, peaks.summary()
    if not bounds.process_bound():  # unbounded here (no pids cgroup): the fork bomb's report says so
        assert peaks.processes <= PROCESS_BOUND, peaks.summary()
    assert peaks.memory <= 2 * baseline_memory + MEMORY_BOUND, peaks.summary()
    assert_nothing_left(peaks, private)


# ---------------------------------------------------------------- the other levels

@pytest.mark.slow
@needs_root
def test_the_fork_bomb_as_the_unprivileged_user(tmp_path):
    """Root without namespaces (no bwrap): the worker drops to uid 65534, and the pids
    cgroup bounds it all the same; the report says the disk is bounded per file only."""
    path = ATTACKS / "fork_bomb_in_call.py"
    code, report, output = _grade(tmp_path, path, env=NO_BWRAP)
    assert report is not None and report["isolation"] == "unprivileged-user", output[-3000:]
    if "not enforced" in report["limits"]["processes"]:
        pytest.skip(f"no pids cgroup here: {report['limits']['processes']}")
    assert_attack_failed(report, path)
    assert report["limits"]["disk"].startswith("partly"), report["limits"]


@pytest.mark.slow
@needs_root
def test_a_plain_process_says_what_is_not_bounded(tmp_path):
    """Not root, no namespaces: a plain process; no pids cgroup can be made, and the report
    says so (a correct file still passes)."""
    code, report, output = _grade(tmp_path, CLASSMATE, user=True, env=NO_BWRAP)
    assert code == 0 and report["isolation"] == "process", output[-3000:]
    limits = report["limits"]
    assert limits["processes"].startswith("not enforced (") and limits["disk"].startswith("partly"), limits
    assert limits["time"].startswith("enforced"), limits


@pytest.mark.slow
def test_a_daemon_that_leaves_the_session_dies_with_the_cgroup_at_the_process_level(tmp_path):
    """tests/hostile/daemon_escapes_group.py at --isolation=process: its daemon is in a new
    session, out of reach of the process-group kill; the worker's pids cgroup kills it."""
    if bounds.process_bound():
        pytest.skip(f"no pids cgroup here: {bounds.process_bound()}")
    marker = "hostile-daemon-escapes-group"
    run = verify(ROOT / "tests" / "hostile" / "daemon_escapes_group.py", tmp_path / "report.json",
                 "--isolation=process", timeout=300)
    assert run.report is not None and run.report["isolation"] == "process", run.output[-3000:]
    assert run.report["limits"]["processes"].startswith("enforced"), run.report["limits"]
    time.sleep(1)
    left = [pid for pid in filter(str.isdigit, os.listdir("/proc")) if marker in _cmdline(pid)]
    for pid in left:  # this test's own leftovers, so that they do not outlive it either
        os.kill(int(pid), 9)
    assert not left, f"the daemon outlived the grading: {left}"


# A correct file that leaves a file in /tmp at import (test_zygote.LEAVES) and whose
# svm_get_search_params answers wrong (an empty grid) unless it finds a classmate's file
# and reaches neither it nor the classmate's worker (test_zygote.LOOK).
PEEKS = LEAVES + LOOK + r'''
import time as _time
_right_search_params = svm_get_search_params


def svm_get_search_params():
    deadline = _time.monotonic() + 10  # a classmate graded alongside leaves its file soon
    got = _look_at_classmates()
    while not got and _time.monotonic() < deadline:
        _time.sleep(0.2)
        got = _look_at_classmates()
    if not got or "reached" in got.values():
        print("PEEK got:", got)
        return [], []
    return _right_search_params()
'''


@needs_root
@pytest.mark.parametrize("workers", tiered([("forked",), ("fresh",)], ["forked", "fresh"], {"forked"}))
def test_a_batch_as_the_unprivileged_user_keeps_classmates_apart(workers, tmp_path):
    """Root without namespaces (no bwrap), a batch of two, graded together: each
    submission's worker runs as a user of its own (sandbox.batch_ids), forked from the zygote
    or started fresh, so neither reads the file the other leaves in /tmp (0600, its
    owner's) nor signals the other's worker nor reads its /proc entries: both pass."""
    marker = f"lc-peek-{os.getpid()}-{time.monotonic_ns()}"
    out = Path(tempfile.mkdtemp(prefix="lc-resources-", dir=sandbox.workers_tempdir()))
    subs, reports = out / "subs", out / "reports"
    subs.mkdir()
    for name in ("first.py", "second.py"):
        (subs / name).write_text(CLASSMATE.read_text() + PEEKS.replace("MARKER", marker))
    cmd = _as_a_docker_grader([sys.executable, "-m", "pytest", "properties", "-p", "no:cacheprovider",
                               "--impl", str(subs), "--report-dir", str(reports), "--jobs", "2"])
    env = dict(os.environ, **NO_BWRAP,
               **{OFF_ENV: "0", "HARNESS_WORKER_ZYGOTE": "1" if workers == "forked" else "0"})
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
        left = sorted(Path("/tmp").glob(marker + "-*"))
        for name in ("first", "second"):
            report = json.loads((reports / f"{name}.json").read_text())
            assert report["isolation"] == "unprivileged-user", proc.stdout[-3000:]
            assert report["verdict"] == "pass", (name, report["functions"]["svm_get_search_params"],
                                                 (reports / f"{name}.log").read_text()[-2000:])
        owners = {p.stat().st_uid for p in left}
        assert len(left) == 2 and len(owners) == 2 and sandbox.NOBODY not in owners, left
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in left)
        assert proc.returncode == 0, proc.stdout[-3000:]
    finally:
        for p in Path("/tmp").glob(marker + "-*"):
            p.unlink()
        shutil.rmtree(out, ignore_errors=True)


SLOW_LOSS = '''
import time
import torch


def svm_loss_naive(W, X, y, reg):
    time.sleep(0.4)
    return W.new_zeros(()), torch.zeros_like(W)


def predict_linear_classifier(W, X):
    return torch.argmax(X @ W, dim=1)
'''


def test_a_function_past_its_budget_is_not_run_again(tmp_path):
    """--function-budget: once one function's calls have taken more than its budget of worker
    time, it fails at once ("was not run again") and the others still run; a function with
    a budget of its own (as test_one_param_set has) keeps it."""
    path = tmp_path / "linear_classifier.py"
    path.write_text(SLOW_LOSS)
    W, X, y = torch.zeros(3, 2), torch.ones(4, 3), torch.zeros(4, dtype=torch.int64)
    subject = WorkerSubject(str(path), function_budget=1.0)
    try:
        runs = 0
        while True:
            try:
                subject.call("svm_loss_naive", W, X, y, 0.0)
            except SubmissionError as exc:
                assert "was not run again: its calls took more than their budget of 1 s" in str(exc), exc
                break
            runs += 1
            assert runs < 10, "the budget never stopped a 0.4 s function"
        assert 2 <= runs <= 3, runs  # 1 s of 0.4 s calls: the third passes it
        start = time.monotonic()
        with pytest.raises(SubmissionError, match="was not run again"):
            subject.call("svm_loss_naive", W, X, y, 0.0)
        assert time.monotonic() - start < 0.3  # refused here, not run
        assert torch.equal(subject.call("predict_linear_classifier", W, X), torch.zeros(4, dtype=torch.int64))
    finally:
        subject.close()
    subject = WorkerSubject(str(path), function_budget=1.0, budgets={"svm_loss_naive": 60.0})
    try:
        for _ in range(4):
            subject.call("svm_loss_naive", W, X, y, 0.0)
    finally:
        subject.close()
