"""The harness's pytest plugin: the switches --impl (the module under test), --strict (the
policy), --report (the JSON verdict), the Hypothesis profiles, and the hooks that turn a
session's outcomes into the verdict. Loaded by the root conftest.py (pytest_plugins) in a
checkout, and by the `pytest11` entry point of an installed copy, under the same name (this
module's), so that a checkout with the package installed too registers it once.

Installed, it is loaded in every pytest run of that environment: there it stays inert (its
options exist, nothing else: no worker, no report, no output, no Hypothesis profile, no
markers) unless the run is the harness's (_active)."""
import os
import random
import signal
import threading
import zlib
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, Phase, settings

from harness.grade import batch, constants, digests
from harness.confine import limits as bounds, locate, sandbox
from harness.judge import repro
from harness.grade.report import Outcomes, failure_lines, summary_lines, write_atomically
from harness.confine.worker import open_subject
from harness.errors import HarnessInputError

_common = dict(deadline=None, report_multiple_bugs=False, print_blob=False,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.differing_executors,
                                      HealthCheck.function_scoped_fixture])
settings.register_profile("dev", max_examples=25, **_common)
# ci, the grading profile, skips Hypothesis's explain phase: after shrinking it re-runs the
# failing property on more inputs only to annotate the log ("or any other generated
# value"); the report's messages and the verdicts do not use it.
settings.register_profile("ci", max_examples=25, derandomize=True, database=None,
                          phases=[p for p in Phase if p is not Phase.explain], **_common)
settings.register_profile("thorough", max_examples=400, **_common)


def _active(config) -> bool:
    """True when this run is the harness's: --impl or --report given, pytest's rootdir is
    the checkout this plugin comes from (all of its runs there: properties/ and tests/), or
    a path on the command line lies in (or holds) the property suite it belongs to."""
    if config.getoption("impl", None) or config.getoption("report", None):
        return True
    if locate.checkout() is not None and Path(str(config.rootpath)).resolve() == locate.checkout():
        return True
    suite = locate.root() / "properties"
    for arg in config.args:
        path = Path(str(config.invocation_params.dir), arg.split("::", 1)[0]).resolve()
        if path == suite or suite in path.parents or path in suite.parents:
            return True
    return False

# The function budget: a correct file's busiest function takes under 1 s of worker time in
# all (measured: 0.3-0.7 s), so 15 s is 20 times that; four slow functions of a hostile file
# (0.3 s a call) then end within 90 s rather than four minutes
# (tests/test_resources.py::test_a_function_past_its_budget_is_not_run_again).
DEFAULT_CALL_TIMEOUT, DEFAULT_FUNCTION_BUDGET, E2E_FUNCTION_BUDGET = 20.0, 15.0, 600.0
CIFAR_CALL_TIMEOUT, CIFAR_TOTAL_TIMEOUT, CIFAR_MEMORY_MB = 180.0, 3600.0, 16384

def pytest_addoption(parser):
    group = parser.getgroup("linear-classifier harness")
    group.addoption("--impl", default=None, metavar="PATH",
                    help="linear_classifier.py to verify (default: the shipped implementation)")
    group.addoption("--report", default=None, metavar="FILE",
                    help="write the JSON verdict (Gradescope results.json + verdict + functions)")
    group.addoption("--call-timeout", type=float, default=DEFAULT_CALL_TIMEOUT, metavar="S",
                    help="seconds one call of the submission may take (default 20)")
    group.addoption("--total-timeout", type=float, default=900.0, metavar="S",
                    help="seconds all calls of the submission may take together (default 900)")
    group.addoption("--function-budget", type=float, default=DEFAULT_FUNCTION_BUDGET, metavar="S",
                    help="seconds of worker time all calls of one function may take; past it, "
                         "or when a call runs out of memory, its later calls fail at once (default 15; test_one_param_set gets 600 with --e2e)")
    group.addoption("--disk-limit", type=int, default=bounds.DEFAULT_DISK_MIB, metavar="MiB",
                    help="MiB the submission may write in all: its folder, /tmp, /dev/shm (default 64; "
                         "enforced in full at the sandbox level, per file elsewhere)")
    group.addoption("--process-limit", type=int, default=bounds.DEFAULT_PROCESSES, metavar="N",
                    help="processes (and threads) the submission may have alive at once (default 32; "
                         "where a pids cgroup can be made)")
    group.addoption("--submission-budget", type=float, default=bounds.DEFAULT_SUBMISSION_S, metavar="S",
                    help="seconds of wall time the whole submission may take, sleeping included; "
                         "what is left ungraded then is an error (default 300)")
    group.addoption("--isolation", default="auto", choices=sandbox.CHOICES,
                    help="how to confine the submission's worker: auto (the best this machine "
                         "offers: sandbox, then unprivileged-user, then process), require (as auto, "
                         "but refuse to grade, exit 2, when only a plain process is possible), or "
                         "one level by name (default: auto)")
    group.addoption("--sandbox-uid", type=int, default=None, metavar="N",
                    help="at the unprivileged-user level, the worker's uid and gid (batch mode gives "
                         "each submission its own; default HARNESS_SANDBOX_UID/GID, or 65534)")
    group.addoption("--in-process", action="store_true",
                    help="import the submission into the harness's process (no worker; trusted code only)")
    group.addoption("--report-dir", default=None, metavar="DIR",
                    help="batch mode (--impl FOLDER or 'GLOB'): write DIR/<submission>.json and "
                         "DIR/summary.csv, DIR/summary.md (default: ./reports)")
    group.addoption("--jobs", type=int, default=None, metavar="N",
                    help="batch mode: grade N submissions at a time (default: the number of CPU cores)")
    group.addoption("--shard", type=batch.parse_shard, default=None, metavar="K/N",
                    help="batch mode: grade only the K-th of N slices of the class (by a hash of each "
                         "submission's name); join the shards with python -m harness.batch merge DIR...")
    group.addoption("--e2e", action="store_true",
                    help="also train the submission's own grid on real images (scikit-learn's "
                         "digits; requirements-e2e.txt); on by default in batch mode")
    group.addoption("--cifar", default=None, metavar="DIR",
                    help="the end-to-end check on CIFAR-10: DIR is the 'python version' folder "
                         "(cifar-10-batches-py: data_batch_1..5, test_batch); implies --e2e")
    group.addoption("--e2e-plot", default=None, metavar="FILE",
                    help="where the end-to-end plot goes (default: beside --report, REPORT.e2e.png)")
    group.addoption("--verdict-cache", action="store_true",
                    help="reuse the verdict of each function whose code, and everything it reaches, is "
                         "unchanged since a run that judged it (python -m harness check passes it; "
                         "harness/grade/cache.py); only with a deterministic profile")
    group.addoption("--no-cache", action="store_true",
                    help="judge every function (overrides --verdict-cache)")
    # --strict is pytest's own flag (strict markers and config); it also selects the
    # harness's strict policy: float32 breakage fails instead of warning.


def _readable(config) -> bool:
    """The student's view: each failing function's message once, then the verdict; no
    tracebacks through the harness, no Hypothesis dumps (-v or --tb=long show them all)."""
    return config.getoption("verbose", 0) <= 0 and config.getoption("tbstyle", "auto") not in ("long", "native")


def pytest_configure(config):
    config.harness_outcomes = None
    config.harness_subject = None
    config.harness_e2e = {}
    config.harness_e2e_data = None
    config.harness_cache = None        # harness.grade.cache.VerdictCache, when this run uses one
    config.harness_cache_plan = None   # its Plan: reused and judged functions
    config.harness_cache_off = None    # why a run that asked for it judges everything
    config.harness_cache_due = {}      # name -> its properties' node ids not yet run
    config.harness_cache_touched = {}  # name -> the submission's names its properties asked for
    config.harness_cache_timed = set() # names with a timed property that failed
    config.harness_active = _active(config)
    if not config.harness_active:
        return
    if not config.getoption("--hypothesis-profile", None):  # given: Hypothesis loads it
        settings.load_profile("ci" if os.environ.get("CI") else "dev")
    digests.install()  # each test's digest computed once, not twice per test (same values)
    constants.install()  # the examples drawn do not depend on which harness modules are loaded
    config.addinivalue_line("markers", "api(name): the API name a property judges")
    config.addinivalue_line("markers", "e2e: end-to-end training on real images (opt-in: --e2e)")
    config.addinivalue_line("markers", "slow: the full tier only (docs/maintainers.md, \"The two tiers\"); "
                                       "-m 'not slow' is the fast tier")
    config.harness_e2e = {}          # classifier -> harness.grade.e2e.GridResult
    config.harness_e2e_data = None
    if _readable(config):  # float32 remarks are notes in the verdict, not warnings
        config.addinivalue_line("filterwarnings", "ignore::harness.errors.Float32Warning")
    config.harness_outcomes = None
    config.harness_subject = None
    # A grader killed by SIGTERM (a CI timeout) still writes its report: pytest turns
    # KeyboardInterrupt into an orderly end that runs pytest_sessionfinish.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")



def _policy(config) -> str:
    return "strict" if config.getoption("strict", False) else "course"


def _judging(config) -> bool:
    """True when this run includes properties (and so owes a verdict), or a report is asked."""
    return bool(config.getoption("report")) or getattr(config, "harness_judging", False)


def e2e_enabled(config) -> bool:
    """--e2e, --cifar DIR, or a -m expression that asks for the e2e marker."""
    words = (config.getoption("markexpr", "") or "").replace("(", " ").replace(")", " ").split()
    asked = any(w == "e2e" and (i == 0 or words[i - 1] != "not") for i, w in enumerate(words))
    return bool(config.getoption("e2e") or config.getoption("cifar") or asked)


def pytest_collection_modifyitems(config, items):
    if not config.harness_active:
        return
    # The end-to-end properties: deselected unless asked for (the default run stays as
    # fast as it was), and last, so that what they blame knows every other verdict.
    if not e2e_enabled(config):
        off = [item for item in items if item.get_closest_marker("e2e")]
        if off:
            config.hook.pytest_deselected(items=off)
            items[:] = [item for item in items if not item.get_closest_marker("e2e")]
    items.sort(key=lambda item: bool(item.get_closest_marker("e2e")))
    config.harness_judging = any(item.get_closest_marker("api") for item in items)
    if config.harness_outcomes is not None and config.harness_outcomes.harness_error:
        config.hook.pytest_deselected(items=list(items))  # nothing can be judged: one line, exit 2
        items[:] = []
        return
    _reuse_cached(config, items)
    if _readable(config):
        for item in items:
            if item.get_closest_marker("api"):
                item.repr_failure = _one_line_failure


def _reuse_cached(config, items):
    """The verdict cache's reused functions: their properties deselected, their outcomes
    restored; for the functions judged now, the properties each must run to be kept."""
    plan = config.harness_cache_plan
    if plan is None:
        return
    outcomes = config.harness_outcomes
    for name, outcome in plan.reused.items():
        outcomes.restore(name, outcome)
    reused = [item for item in items if item.get_closest_marker("api")
              and item.get_closest_marker("api").args[0] in plan.reused]
    if reused:
        config.hook.pytest_deselected(items=reused)
        items[:] = [item for item in items if item not in reused]
    config.harness_judging = True
    for item in items:
        marker = item.get_closest_marker("api")
        if marker is not None:
            config.harness_cache_due.setdefault(marker.args[0], set()).add(item.nodeid)


def _one_line_failure(excinfo, style=None):
    """A failing property's pytest report, in the student's view: the exception's own line.
    The verdict shows the failure (`_fold_property_failures` takes it out of pytest's listing),
    so pytest's traceback, which parses the source of every file it passes through (a third
    of a CPU-second a failing property), would be made for nobody."""
    text = excinfo.exconly()
    return text.splitlines()[0][:500] if text else excinfo.typename


def pytest_sessionstart(session):
    if not session.config.harness_active:
        return
    if session.config.getoption("shard") and not batch.is_batch(session.config.getoption("impl")):
        raise pytest.UsageError("--shard K/N is for batch mode (--impl FOLDER or 'GLOB')")
    if batch.is_batch(session.config.getoption("impl")):  # a folder or a glob: harness/grade/batch/
        if session.config.getoption("verdict_cache"):
            raise pytest.UsageError("--verdict-cache is for one file: a grade is always a full run")
        batch.run(session)
        return
    config = session.config
    impl = config.getoption("impl")
    in_process = config.getoption("in_process")
    outcomes = Outcomes(module_path=impl or "implementations/linear_classifier.py (shipped)",
                        policy=_policy(config), isolation="in-process" if in_process else "process")
    config.harness_outcomes = outcomes
    try:
        limits = {}
        if in_process:
            if config.getoption("isolation") not in ("auto", "process"):
                raise HarnessInputError(f"--isolation={config.getoption('isolation')} cannot be had "
                                        "with --in-process")
        else:
            own = config.getoption("sandbox_uid")
            isolation = sandbox.choose(config.getoption("isolation"), None if own is None else (own, own))
            outcomes.isolation = isolation.level
            limits = dict(call_timeout=config.getoption("call_timeout"),
                          total_timeout=config.getoption("total_timeout"), isolation=isolation,
                          function_budget=config.getoption("function_budget"),
                          limits=resource_limits(config))
        if e2e_enabled(config):
            config.harness_e2e_data = _e2e_data(config, limits)
        outcomes.limits = bounds.describe(limits.get("limits", resource_limits(config)), outcomes.isolation,
                                          limits.get("memory_mb", bounds.DEFAULT_MEMORY_MB) if limits else None)
        _plan_cache(config, impl, outcomes.isolation)
        if config.harness_cache_plan is not None and not config.harness_cache_plan.judge:
            return  # every function reused: the submission is not even imported
        config.harness_subject = open_subject(impl, in_process=in_process, **limits)
        repro.set_target(config.harness_subject.path)
    except (HarnessInputError, sandbox.IsolationError) as exc:
        # No test runs; the terminal summary prints this one line and the exit status is 2.
        outcomes.fail_all("error", f"harness: cannot verify: {exc}")
        _write_report(config)


def _plan_cache(config, impl, isolation: str) -> None:
    """The verdict cache's plan for this run, or why it judges everything (harness/grade/cache.py)."""
    if not config.getoption("verdict_cache") or config.getoption("no_cache"):
        return
    from hypothesis import settings as current
    from harness.grade import cache
    from harness.grade.warm import source_files
    from harness.confine.subject import check_file
    from harness.api import NAMES
    why = None
    suite = locate.root() / "properties"
    chosen = [Path(str(config.invocation_params.dir), a.split("::", 1)[0]).resolve() for a in config.args]
    if config.getoption("in_process") or e2e_enabled(config):
        why = "--in-process and --e2e judge everything"
    elif config.getoption("keyword") or config.getoption("markexpr") or config.getoption("maxfail") \
            or chosen != [suite] or any("::" in a for a in config.args):
        why = "this run selects part of the suite"
    elif not current().derandomize or current().database is not None:
        why = f"the {current._current_profile} profile draws new examples each run"
    try:
        if why:
            raise cache.CacheOff(why)
        path = check_file(impl)
        options = {name: config.getoption(name) for name in (
            "call_timeout", "total_timeout", "function_budget", "disk_limit", "process_limit",
            "submission_budget", "sandbox_uid")}
        options.update(policy=_policy(config), isolation=isolation, settings=repr(current()))
        context = cache.context_key(locate.root(), source_files(locate.root()), options)
        config.harness_cache = cache.VerdictCache(path, context, cache.folder())
        config.harness_cache_plan = config.harness_cache.plan(NAMES)
    except (cache.CacheOff, SyntaxError, ValueError, OSError, HarnessInputError) as exc:
        config.harness_cache, config.harness_cache_plan = None, None
        config.harness_cache_off = f"verdict cache: off ({exc}); every function judged"


def _keep_cached(config, session, exitstatus) -> None:
    """Store the outcome of each function judged now, where the whole of it was judged and
    nothing outside the key shaped it (a worker that hung or died, a budget run out, a
    failure of a timed check)."""
    store, plan, subject = config.harness_cache, config.harness_cache_plan, config.harness_subject
    outcomes = config.harness_outcomes
    if store is None or plan is None or outcomes.harness_error:
        return
    outcomes.cache = {"judged": list(plan.judge), "reused": sorted(plan.reused), "afresh": dict(plan.afresh)}
    if subject is None:  # everything reused: nothing new to keep
        return
    if exitstatus == pytest.ExitCode.INTERRUPTED or session.shouldstop or session.shouldfail:
        return
    if subject.hung or subject.unavailable("a later call"):  # a worker hung, died, or its time ran out
        return
    for name in plan.judge:
        if name in plan.afresh or name in config.harness_cache_timed or config.harness_cache_due.get(name):
            continue
        store.keep(name, config.harness_cache_touched.get(name, ()), outcomes.outcome(name))
    store.prune()


def resource_limits(config) -> bounds.Limits:
    """--disk-limit, --process-limit, --submission-budget (SPEC.md, Resources a submission may use)."""
    found = bounds.Limits(config.getoption("disk_limit"), config.getoption("process_limit"),
                          config.getoption("submission_budget"))
    if found.disk_mib < 1 or found.processes < 1 or found.submission_s <= 0:
        raise pytest.UsageError("--disk-limit, --process-limit and --submission-budget must be positive")
    return found


def _e2e_data(config, limits):
    from harness.grade import e2e
    from harness.grade.datasets import DataUnavailable
    cifar = config.getoption("cifar")
    try:
        data = e2e.load(cifar)
    except DataUnavailable as exc:
        raise HarnessInputError(f"the end-to-end check: {exc}") from None
    if not limits:  # --in-process: no limits
        return data
    # test_one_param_set is called once per grid point (up to 50): its budget of worker time
    # is the check's; every other function keeps --function-budget.
    limits["budgets"] = {"test_one_param_set": max(E2E_FUNCTION_BUDGET, limits["function_budget"])}
    if cifar:  # the course's 2000 iterations on 40 000 images: more time and memory per call
        if limits["call_timeout"] == DEFAULT_CALL_TIMEOUT:
            limits["call_timeout"] = CIFAR_CALL_TIMEOUT
        limits["total_timeout"] = max(limits["total_timeout"], CIFAR_TOTAL_TIMEOUT)
        limits["budgets"]["test_one_param_set"] = max(limits["budgets"]["test_one_param_set"],
                                                      CIFAR_TOTAL_TIMEOUT)
        if limits["limits"].submission_s == bounds.DEFAULT_SUBMISSION_S:  # CIFAR takes longer
            limits["limits"] = limits["limits"]._replace(submission_s=CIFAR_TOTAL_TIMEOUT)
        limits["memory_mb"] = CIFAR_MEMORY_MB
    return data


def pytest_report_header(config):
    if not config.harness_active:
        return []
    from hypothesis import settings as current
    subject = config.harness_subject
    isolation = config.harness_outcomes.isolation if config.harness_outcomes else "-"
    if getattr(config, "harness_batch", False):
        first = f"submissions under test: {config.getoption('impl')} (batch mode)"
    else:
        impl = config.getoption("impl")
        shipped = subject.shipped if subject is not None else (
            not impl or Path(impl).expanduser().resolve() == locate.shipped().resolve())
        where = "shipped implementation" if shipped else "submission"
        first = f"module under test: {subject.path if subject else config.getoption('impl')} ({where})"
    lines = [first,
             f"policy: {_policy(config)}   hypothesis profile: {current._current_profile}   "
             f"isolation: {isolation}"]
    data = config.harness_e2e_data
    if data is not None:
        lines.append(f"end to end: {data.name}, {data.setting['num_iters']} iterations per (lr, reg), "
                     f"thresholds {data.setting['thresholds']}")
    return lines


@pytest.fixture(scope="session")
def subject(request):
    return request.config.harness_subject


@pytest.fixture(scope="session")
def strict(request) -> bool:
    return _policy(request.config) == "strict"


@pytest.fixture
def note(request):
    """note(text): a remark for the report that does not fail the property."""
    def add(text):
        if ("note", text) not in request.node.user_properties:
            request.node.user_properties.append(("note", text))
    return add


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Each property starts from the same seed (its node id's), on both sides, whatever ran
    before it: a function's properties then give the same results with or without the
    others' (what lets the verdict cache reuse some and judge the rest). And the names of
    the submission each function's properties ask for, for the cache's key."""
    marker = item.get_closest_marker("api")
    subject = item.config.harness_subject
    if marker is None or subject is None:
        yield
        return
    seed = zlib.crc32(item.nodeid.encode())
    random.seed(seed)
    torch.manual_seed(seed)
    subject.seed_next(seed)
    subject.touched, timed = set(), subject.timed
    try:
        yield
    finally:
        config = item.config
        name = marker.args[0]
        config.harness_cache_touched.setdefault(name, set()).update(subject.touched)
        subject.touched = None
        config.harness_cache_due.get(name, set()).discard(item.nodeid)
        if subject.timed > timed and getattr(item, "_harness_failed", False):
            config.harness_cache_timed.add(name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """A function that already fails: its later properties run as before, but a failure they
    find is reported as found, not shrunk. The report's first message for the function (and
    its repro) comes from the first failure, shrunk; shrinking the later ones was most of a
    wrong file's extra grading time, for messages a student reads second, if at all."""
    test = getattr(item, "obj", None)
    kept = getattr(test, "_hypothesis_internal_use_settings", None)
    outcomes = item.config.harness_outcomes
    marker = item.get_closest_marker("api")
    if (kept is None or outcomes is None or marker is None or Phase.shrink not in kept.phases
            or outcomes.status.get(marker.args[0], "pass") == "pass"):
        yield
        return
    test._hypothesis_internal_use_settings = settings(kept, phases=[p for p in kept.phases if p is not Phase.shrink])
    try:
        yield
    finally:
        test._hypothesis_internal_use_settings = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    outcomes = item.config.harness_outcomes
    marker = item.get_closest_marker("api")
    if outcomes is None or marker is None:
        return
    name = marker.args[0]
    if rep.failed:
        item._harness_failed = True
    notes = [v for k, v in item.user_properties if k == "note"]
    if rep.when == "call" or (rep.when == "setup" and not rep.passed):
        if rep.skipped:
            return
        exc = call.excinfo.value if call.excinfo is not None else None
        name = getattr(exc, "blame", None) or name  # the end-to-end check blames by its finding
        subject = item.config.harness_subject
        probe = (lambda *args: subject.call(name, *args)) if subject is not None and not rep.passed else None
        outcomes.record(name, rep.passed, exc, notes if rep.when == "call" else (), probe)


def _write_report(config):
    path = config.getoption("report")
    if path and config.harness_outcomes is not None:
        write_atomically(path, config.harness_outcomes.as_json())


def _fold_property_failures(config):
    """Take the properties' failures out of pytest's own listing: the verdict shows them,
    one message per function (the harness's own tests keep their tracebacks)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not _readable(config):
        return
    for key in ("failed", "error"):
        reports = reporter.stats.get(key, [])
        judged = [r for r in reports if "api" in getattr(r, "keywords", {})]
        if judged:
            reporter.stats[key] = [r for r in reports if r not in judged]
            reporter.stats.setdefault("failed properties", []).extend(judged)


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if not config.harness_active:
        return
    _fold_property_failures(config)
    if config.harness_subject is not None:
        config.harness_subject.close()
    outcomes = config.harness_outcomes
    if outcomes is not None and outcomes.harness_error:
        session.exitstatus = 2
        return
    if outcomes is None or not _judging(config):
        return
    _e2e_plot(config)
    _keep_cached(config, session, exitstatus)
    reporting = bool(config.getoption("report"))
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    outcomes.finalize(complete=reporting or interrupted,
                      why="the run was interrupted" if interrupted else "none of its properties ran")
    _write_report(config)
    if config.harness_cache_plan is not None and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = 0  # every function reused: the verdict says it all
    if (reporting or config.harness_cache_plan is not None) and outcomes.verdict != "pass" and session.exitstatus == 0:
        session.exitstatus = 1  # exit 0 if and only if the verdict is pass (reused failures count)


def _e2e_plot(config):
    """The plot of validation accuracy over each grid, beside the report."""
    path = config.getoption("e2e_plot")
    if not path and config.getoption("report"):
        report = Path(config.getoption("report"))
        path = str(report.with_name(report.stem + ".e2e.png"))
    if not config.harness_e2e or not path:
        return
    from harness.grade import e2e
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        config.harness_e2e_plot = e2e.plot(config.harness_e2e, path, config.harness_e2e_data.name)
    except Exception as exc:  # the plot is a convenience: its failure must not cost the verdict
        config.harness_e2e_plot = f"plot: not written ({type(exc).__name__}: {exc})"


def pytest_terminal_summary(terminalreporter, config):
    outcomes = config.harness_outcomes
    if outcomes is not None and outcomes.harness_error:
        terminalreporter.write_line(outcomes.harness_error, red=True, bold=True)
        return
    if outcomes is None or not _judging(config):
        return
    if config.harness_e2e:
        terminalreporter.section("end to end")
        for result in config.harness_e2e.values():
            terminalreporter.write_line(result.summary())
        terminalreporter.write_line(getattr(config, "harness_e2e_plot", None)
                                    or "plot: none (give --report FILE or --e2e-plot FILE)")
    failures = failure_lines(outcomes)
    if failures:
        terminalreporter.section("what fails, and how to reproduce it")
        for line in failures:
            terminalreporter.write_line(line)
    cache_line = (config.harness_cache_plan.line() if config.harness_cache_plan is not None
                  else config.harness_cache_off)
    if cache_line:
        terminalreporter.write_line(cache_line)
    terminalreporter.section("verdict")
    for line in summary_lines(outcomes):
        terminalreporter.write_line(line)
    if config.getoption("report"):
        terminalreporter.write_line(f"report: {config.getoption('report')}")
