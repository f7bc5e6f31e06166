"""Hostile submissions (tests/hostile/): each hides a wrong answer under an attack on
the grader. Every one must get a failing verdict, with a report, in bounded time;
the noisy but correct one must pass with a small report. Each is graded twice, through
batch mode: with its workers started fresh (as the single-file command starts them, and
as a batch does where no zygote can run) and forked from a worker zygote
(harness/confine/zygote.py), as a batch does. The attacks on the grading process itself
(its command line, its environment, its report path, its output) are graded a third
time by the single-file command, in a process of its own (SINGLE_FILE). Headers:
    # expect: fail | pass
    # wrong: NAME[, NAME...] | none
    # graded: forked      (optional: an attack that does not depend on how the worker
                           started is graded forked only)
"""
import os
import socket
import sys
import threading
from pathlib import Path

import pytest

from harness.confine import zygote
from harness.api import NAMES
from tests.harness_run import ROOT, grade_each, grade_in_batch, selected_paths, tiered

HOSTILE = Path(__file__).resolve().parent / "hostile"
FILES = sorted(HOSTILE.glob("*.py"))
CALL_S = 5             # --call-timeout: the properties' calls take milliseconds
TOTAL_S = 60           # --total-timeout: all calls of one submission together
# Per submission: its calls, plus start-up, restarts and the harness's own work. The slowest
# files (copy_shipped, read_answer_key_anywhere) take 20-30 s alone on 2 cores and several
# times that beside other gradings: the allowance is for a loaded machine, the bound is what
# the test guards.
BOUND_S = TOTAL_S + 240
SMALL_REPORT = 256 * 1024


def header(path: Path) -> dict:
    info = {"expect": None, "wrong": [], "fresh": True}
    for line in path.read_text(errors="replace").splitlines()[:15]:
        if line.startswith("# graded: forked"):
            info["fresh"] = False
        elif line.startswith("# expect:"):
            info["expect"] = line.split(":", 1)[1].strip()
        elif line.startswith("# wrong:"):
            names = [n.strip() for n in line.split(":", 1)[1].split(",")]
            info["wrong"] = [n for n in names if n in NAMES]
    return info


# What the attacks of network_localhost.py, proc_environ_of_others.py and
# write_outside_folder.py look for on the grader's side.
LISTENER = ("127.0.0.1", 47311)
CANARY = {"LC_HOSTILE_CANARY": "the grader's environment"}
MARKER = "hostile-wrote-outside-its-folder.txt"


class _Listener(threading.Thread):
    """A helper on the grader's loopback that hands a token to whoever connects."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.create_server(LISTENER, reuse_port=True)  # two test runs at once may both listen
        self.sock.settimeout(0.5)
        self.connections, self.stopped = 0, False

    def run(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                conn.sendall(b"TOKEN\n")

    def stop(self):
        self.stopped = True
        self.join(timeout=5)
        self.sock.close()


@pytest.fixture(scope="session")
def listener():
    helper = _Listener()
    helper.start()
    yield helper
    helper.stop()


LIMITS = ["--call-timeout", str(CALL_S), "--total-timeout", str(TOTAL_S)]
# Graded by the single-file command too: attacks that look for the grading process's command
# line, environment and report path, the correct one that prints, and one attack at import.
SINGLE_FILE = {"sabotage_report_path", "proc_environ_of_others", "noisy_but_correct", "sysexit_at_import"}
CASES = [(p, how) for p in FILES
         for how in (("fresh", "forked") if header(p)["fresh"] else ("forked",))
         + (("single-file",) if p.stem in SINGLE_FILE else ())]


@pytest.fixture(scope="session")
def single_file_runs(request, tmp_path_factory, listener):
    """The single-file command, each in a process of its own, its worker started fresh."""
    return grade_each(selected_paths(request, "test_hostile_submission", how="single-file"),
                      tmp_path_factory.mktemp("hostile-single"), lambda path: LIMITS, timeout=BOUND_S + 60,
                      env=dict(CANARY, **{zygote.ENV: "0"}))


@pytest.fixture(scope="session")
def hostile_runs(request, tmp_path_factory, listener):
    """Batch mode: grading runs forked from its fork server, each worker started fresh."""
    return grade_in_batch(selected_paths(request, "test_hostile_submission", how="fresh"),
                          tmp_path_factory.mktemp("hostile"), extra=LIMITS,
                          env=dict(CANARY, **{zygote.ENV: "0"}), timeout=BOUND_S + 60)


@pytest.fixture(scope="session")
def forked_hostile_runs(request, tmp_path_factory, listener):
    """Batch mode: grading runs forked from its fork server, workers from its worker zygote
    (at this machine's best level)."""
    return grade_in_batch(selected_paths(request, "test_hostile_submission", how="forked"),
                          tmp_path_factory.mktemp("hostile-forked"), extra=LIMITS, env=CANARY,
                          timeout=BOUND_S + 60)


RUNS = {"single-file": "single_file_runs", "fresh": "hostile_runs", "forked": "forked_hostile_runs"}
# The fast tier: an attack at import, each way; the full tier, all.
FAST = {"sysexit_at_import-single-file", "sysexit_at_import-fresh", "sysexit_at_import-forked"}


@pytest.mark.parametrize("path,how", tiered(CASES, [f"{p.stem}-{how}" for p, how in CASES], FAST))
def test_hostile_submission(request, path, how):
    run = request.getfixturevalue(RUNS[how])[path]
    info = header(path)
    assert info["expect"] in ("pass", "fail"), f"{path.name}: header needs '# expect: pass|fail'"
    assert run.report is not None, f"{path.name}: no report\n{run.output[-3000:]}"
    assert run.seconds <= BOUND_S, f"{path.name}: took {run.seconds:.0f} s (bound {BOUND_S} s)"
    report_size = len(str(run.report))
    assert report_size <= SMALL_REPORT, f"{path.name}: report of {report_size} characters"
    statuses = {n: f["status"] for n, f in run.report["functions"].items()}
    if info["expect"] == "pass":
        assert run.returncode == 0 and run.report["verdict"] == "pass", (statuses, run.output[-3000:])
    else:
        assert run.returncode != 0 and run.report["verdict"] == "fail", (statuses, run.output[-3000:])
        for name in info["wrong"]:
            assert statuses[name] != "pass", f"{path.name}: {name} passed; statuses {statuses}"


def _orphans():
    """Processes left behind by a grading: adopted by init, in a worker's folder or named by a file."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == 1 and ("lc-worker-" in cwd or "hostile-" in cmdline):
            found.append(f"{pid}: {cmdline[:120]} (in {cwd})")
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_no_process_outlives_grading(single_file_runs, hostile_runs, forked_hostile_runs):
    assert not _orphans(), "left running after grading:\n" + "\n".join(_orphans())


def _marker_places():
    """Where write_outside_folder.py tries to leave its marker, as the grader sees them."""
    places = {"/tmp", "/var/tmp", "/dev/shm", "/", "/root", os.path.expanduser("~"), str(ROOT),
              os.path.dirname(os.path.abspath(sys.executable))}
    places.update(p for p in sys.path if p and os.path.isdir(p))
    return sorted(places)


def test_no_write_outside_the_workers_folder(single_file_runs, hostile_runs, forked_hostile_runs):
    found = [p for p in _marker_places() if os.path.exists(os.path.join(p, MARKER))]
    assert not found, f"write_outside_folder.py left {MARKER} in {found}"


def test_no_connection_reached_the_graders_loopback(single_file_runs, hostile_runs, forked_hostile_runs, listener):
    assert listener.connections == 0, f"{listener.connections} connection(s) from a submission reached {LISTENER}"
