"""The performance gate judges a CPU by its own history where it has one (benchmarks/cpu_history.py,
issue 32) and says so where it has none. A tiny gate case (N = 64, a tenth of a second of timing)
keeps this at a few seconds; what it checks is which limit applies, not the machine's speed."""
import json

import pytest
import torch

from benchmarks import common, cpu_history, gate


@pytest.fixture(autouse=True)
def torch_threads():
    threads = torch.get_num_threads()  # the gate sets one thread for its run
    yield
    torch.set_num_threads(threads)


def tiny_thresholds(tmp_path, max_ratio=1000.0):
    spec = {"threads": 1, "rounds": 3, "budget_s": 0.1,
            "cases": [{"loss": "svm", "N": 64, "dtype": "float64", "max_ratio": max_ratio}]}
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps(spec))
    return path


def test_no_history_says_so_and_uses_the_committed_limit(tmp_path, capsys):
    results = gate.run_gate(thresholds=tiny_thresholds(tmp_path), history=tmp_path / "cpus", confirm=False)
    out = capsys.readouterr().out
    assert "no history for this CPU" in out and common.cpu_model() in out
    (r,) = results
    assert r["limit_from"] == "committed" and r["max_ratio"] == 1000.0 and r["ok"]
    assert r["read_floor_s"] > 0  # the physical floor is printed beside the ratio
    assert "one read of X" in out


def test_own_history_sets_the_limit(tmp_path, capsys):
    history = tmp_path / "cpus"
    past = [dict(loss="svm", N=64, dtype="float64", device="cpu", ratio=ratio, floor_median_s=1e-5,
                 read_floor_s=1e-6) for ratio in (2.0, 2.2, 2.1)]
    for r in past:
        cpu_history.append([r], 1, torch.__version__, history)
    # another CPU's history, and this CPU's runs at other threads or torch, count for nothing
    other = history / "Some-Other-CPU-2cpu.json"
    other.write_text(json.dumps({"cpu": "x", "key": "Some-Other-CPU-2cpu", "runs": []}))
    cpu_history.append([dict(past[0], ratio=50.0)], 2, torch.__version__, history)
    cpu_history.append([dict(past[0], ratio=50.0)], 1, "0.0.0", history)
    record = cpu_history.load(history)
    assert len(record["runs"]) == 5 and record["key"] == common.cpu_key()
    limit, n = cpu_history.limits(record, 1, torch.__version__)[cpu_history.case_id("svm", 64, "float64")]
    assert n == 3 and abs(limit - cpu_history.FACTOR * 2.1) < 1e-9
    # the committed limit (0.001, which any run exceeds) gives way to this CPU's own
    results = gate.run_gate(thresholds=tiny_thresholds(tmp_path, max_ratio=0.001), history=history,
                            confirm=False)
    out = capsys.readouterr().out
    assert "has a history" in out
    (r,) = results
    assert r["limit_from"] == "this CPU's 3 runs" and abs(r["max_ratio"] - limit) < 1e-9
    assert r["committed_ratio"] == 0.001


def test_two_runs_are_not_yet_a_history(tmp_path):
    history = tmp_path / "cpus"
    for ratio in (2.0, 2.2):
        cpu_history.append([dict(loss="svm", N=64, dtype="float64", device="cpu", ratio=ratio,
                                 floor_median_s=1e-5)], 1, torch.__version__, history)
    assert cpu_history.limits(cpu_history.load(history), 1, torch.__version__) == {}
