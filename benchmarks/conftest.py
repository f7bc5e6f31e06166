"""The benchmark run's options, its records, the end-of-run summary and the plot.

`--impl PATH` belongs to the root conftest (the submission under test); it is read
here, never declared. The options declared here all start with `--bench-`.
"""
import json
import os
import sys
from pathlib import Path

import pytest

from benchmarks import common

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
_RECORDS = pytest.StashKey[list]()


def pytest_addoption(parser):
    group = parser.getgroup("benchmarks (benchmarks/, run with: python -m pytest benchmarks)")
    group.addoption("--bench-n", default=None, metavar="N,N,...",
                    help="the N to time (default: the sweep %s; * = the course's sizes)"
                         % common.course_or_sweep(common.SWEEP_N))
    group.addoption("--bench-naive-max-n", type=int, default=500, metavar="N",
                    help="time the naive loops only up to this N (default 500: they take "
                         "about 0.5 ms per example, 5 s a call at N = 10000)")
    group.addoption("--bench-dtypes", default="float32,float64", metavar="LIST",
                    help="dtypes to time (default: float32,float64)")
    group.addoption("--bench-devices", default="cpu,cuda", metavar="LIST",
                    help="devices to time (default: cpu,cuda; cuda is skipped where there is none)")
    group.addoption("--bench-budget", type=float, default=0.4, metavar="SECONDS",
                    help="timing per benchmark: rounds = budget / one call, clamped to "
                         "[--bench-min-rounds, 200] (default 0.4)")
    group.addoption("--bench-min-rounds", type=int, default=5, metavar="R",
                    help="the fewest timed rounds of any benchmark (default 5)")
    group.addoption("--bench-results", default=str(RESULTS), metavar="DIR",
                    help="where the run writes summary.json and scaling.png "
                         "(default benchmarks/results; '' writes nothing)")
    group.addoption("--bench-record", action="store_true",
                    help="at the end, also append a record to the history "
                         "(python benchmarks/track.py record: the gate's cases, ratios and counters)")
    group.addoption("--bench-threads", type=int, default=None, metavar="T",
                    help="torch.set_num_threads(T) for the run (default: torch's own choice; "
                         "1 gives reproducible ratios on a shared machine, as the gate uses)")


def pytest_configure(config):
    config.stash[_RECORDS] = []
    threads = config.getoption("bench_threads", default=None)
    if threads:
        import torch
        torch.set_num_threads(threads)


def _asked_for(config) -> bool:
    """True when the command line names benchmarks/ or something inside it."""
    base = Path(str(config.invocation_params.dir))
    for arg in config.args:
        path = (base / arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_collection_modifyitems(config, items):
    # A bare `pytest` from the root collects this folder too: benchmarks take minutes,
    # so they run only when asked for by name.
    if _asked_for(config):
        return
    skip = pytest.mark.skip(reason="benchmarks run only when asked: python -m pytest benchmarks")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope="session")
def shipped():
    from harness.confine.subject import load_module
    return load_module(None)


@pytest.fixture(scope="session")
def impl_module(request):
    """The module of `--impl PATH`, or None when the run benchmarks the shipped one only."""
    path = request.config.getoption("impl", default=None)
    if not path:
        return None
    from harness.confine.subject import load_module
    return load_module(path)


@pytest.fixture
def record(request):
    """record(case, stats): keep one benchmark's timing for the summary and the plot."""
    def add(case, stats, rounds):
        request.config.stash[_RECORDS].append(dict(
            loss=case.loss, route=case.route, N=case.N, dtype=case.dtype, device=case.device,
            min=stats.min, median=stats.median, mean=stats.mean, rounds=rounds))
    return add


# ------------------------------------------------------------------- summary

def _table(records):
    """Rows of the summary: per device, dtype, loss and N, the ratios of the best times."""
    best = {(r["loss"], r["route"], r["N"], r["dtype"], r["device"]): r["min"] for r in records}
    rows = []
    order = {loss: i for i, loss in enumerate(common.LOSSES)}
    keys = sorted({(r["device"], r["dtype"], r["loss"], r["N"])
                   for r in records if r["route"] != "floor"},
                  key=lambda k: (k[0], k[1], order.get(k[2], 99), k[3]))
    for device, dtype, loss, N in keys:
        get = lambda route, l=loss: best.get((l, route, N, dtype, device))
        vec, naive, torch_, impl = get("vectorized"), get("naive"), get("torch"), get("impl")
        floor = get("floor", None)
        ratio = lambda a, b: (a / b) if (a is not None and b) else None
        rows.append(dict(device=device, dtype=dtype, loss=loss, N=N, vectorized=vec,
                         naive=naive, torch=torch_, floor=floor, impl=impl,
                         speedup=ratio(naive, vec), vs_floor=ratio(vec, floor),
                         vs_torch=ratio(vec, torch_), impl_vs_shipped=ratio(impl, vec),
                         impl_vs_floor=ratio(impl, floor), impl_speedup=ratio(naive, impl)))
    return rows


def summary_lines(rows, impl_path=None):
    has_impl = any(r["impl"] is not None for r in rows)
    head = (f"{'loss':8} {'N':>6} {'vectorized':>11} {'naive':>9} {'speed-up':>9} "
            f"{'/floor':>7} {'/torch':>7} {'floor':>9} {'torch':>9}")
    if has_impl:
        head += f" {'impl':>9} {'impl/shipped':>12} {'impl/floor':>10}"
    lines = []
    group = None
    for r in rows:
        if (r["device"], r["dtype"]) != group:
            group = (r["device"], r["dtype"])
            lines += ["", f"{r['device']} {r['dtype']}  (D = {common.D}, C = {common.C}; "
                          f"best of the rounds)", head]
        t = lambda v: common.ms(v) if v is not None else "-"
        line = (f"{r['loss']:8} {r['N']:>6} {t(r['vectorized']):>11} {t(r['naive']):>9} "
                f"{common.fmt_ratio(r['speedup']):>9} {common.fmt_ratio(r['vs_floor']):>7} "
                f"{common.fmt_ratio(r['vs_torch']):>7} {t(r['floor']):>9} {t(r['torch']):>9}")
        if has_impl:
            line += (f" {t(r['impl']):>9} {common.fmt_ratio(r['impl_vs_shipped']):>12}"
                     f" {common.fmt_ratio(r['impl_vs_floor']):>10}")
        lines.append(line)
    lines += ["",
              "speed-up = naive / vectorized; /floor = vectorized / one X @ W product; "
              "/torch = vectorized / (F.cross_entropy or F.multi_margin_loss + autograd)."]
    if has_impl:
        lines.append(f"impl = {impl_path}: impl/shipped > 1 means the submission is slower.")
    return lines


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config):
    if config.getoption("bench_record", default=False):
        from benchmarks.track import record
        terminalreporter.section("tracking record")
        record(config.getoption("impl", default=None), label="pytest benchmarks --bench-record")
    records = config.stash.get(_RECORDS, [])
    if not records:
        return
    rows = _table(records)
    impl_path = config.getoption("impl", default=None)
    terminalreporter.section("linear-classifier losses: speed-ups and ratios")
    for line in summary_lines(rows, impl_path):
        terminalreporter.write_line(line)
    out = config.getoption("bench_results", default=str(RESULTS))
    if not out:
        return
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    import torch
    meta = dict(torch=torch.__version__, threads=torch.get_num_threads(),
                python=sys.version.split()[0], D=common.D, C=common.C, reg=common.REG,
                impl=impl_path, cpu=_cpu_name())
    (out / "summary.json").write_text(json.dumps(dict(meta=meta, records=records, rows=rows),
                                                 indent=1))
    terminalreporter.write_line(f"summary: {out / 'summary.json'}")
    from benchmarks.plot import plot_scaling
    message = plot_scaling(records, out / "scaling.png", meta)
    terminalreporter.write_line(message)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() + f" ({os.cpu_count()} cpus)"
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()
