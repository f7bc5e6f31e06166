"""The harness's switches: --impl (the module under test), --strict (the policy),
--report (the JSON verdict), and the Hypothesis profiles."""
import os
import signal
import threading

import pytest
from hypothesis import HealthCheck, settings

from harness import batch, repro
from harness.report import Outcomes, failure_lines, summary_lines, write_atomically
from harness.subject import HarnessInputError, open_subject

_common = dict(deadline=None, report_multiple_bugs=False, print_blob=False,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.differing_executors,
                                      HealthCheck.function_scoped_fixture])
settings.register_profile("dev", max_examples=25, **_common)
settings.register_profile("ci", max_examples=25, derandomize=True, database=None, **_common)
settings.register_profile("thorough", max_examples=400, **_common)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

def pytest_addoption(parser):
    group = parser.getgroup("linear-classifier harness")
    group.addoption("--impl", default=None, metavar="PATH",
                    help="linear_classifier.py to verify (default: the shipped implementation)")
    group.addoption("--report", default=None, metavar="FILE",
                    help="write the JSON verdict (Gradescope results.json + verdict + functions)")
    group.addoption("--call-timeout", type=float, default=20.0, metavar="S",
                    help="seconds one call of the submission may take (default 20)")
    group.addoption("--total-timeout", type=float, default=900.0, metavar="S",
                    help="seconds all calls of the submission may take together (default 900)")
    group.addoption("--in-process", action="store_true",
                    help="import the submission into the harness's process (no worker; trusted code only)")
    group.addoption("--report-dir", default=None, metavar="DIR",
                    help="batch mode (--impl FOLDER or 'GLOB'): write DIR/<submission>.json and "
                         "DIR/summary.csv, DIR/summary.md (default: ./reports)")
    group.addoption("--jobs", type=int, default=None, metavar="N",
                    help="batch mode: grade N submissions at a time (default: the number of CPU cores)")
    # --strict is pytest's own flag (strict markers and config); it also selects the
    # harness's strict policy: float32 breakage fails instead of warning.


def _readable(config) -> bool:
    """The student's view: each failing function's message once, then the verdict; no
    tracebacks through the harness, no Hypothesis dumps (-v or --tb=long show them all)."""
    return config.getoption("verbose", 0) <= 0 and config.getoption("tbstyle", "auto") not in ("long", "native")


def pytest_configure(config):
    config.addinivalue_line("markers", "api(name): the API name a property judges")
    if _readable(config):  # float32 remarks are notes in the verdict, not warnings
        config.addinivalue_line("filterwarnings", "ignore::harness.policy.Float32Warning")
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


def pytest_collection_modifyitems(config, items):
    config.harness_judging = any(item.get_closest_marker("api") for item in items)
    if config.harness_outcomes is not None and config.harness_outcomes.harness_error:
        config.hook.pytest_deselected(items=list(items))
        items[:] = []


def pytest_sessionstart(session):
    if batch.is_batch(session.config.getoption("impl")):  # a folder or a glob: harness/batch.py
        batch.run(session)
        return
    config = session.config
    impl = config.getoption("impl")
    outcomes = Outcomes(module_path=impl or "implementations/linear_classifier.py (shipped)",
                        policy=_policy(config))
    config.harness_outcomes = outcomes
    try:
        config.harness_subject = open_subject(impl, in_process=config.getoption("in_process"),
                                              call_timeout=config.getoption("call_timeout"),
                                              total_timeout=config.getoption("total_timeout"))
        repro.set_target(config.harness_subject.path)
    except HarnessInputError as exc:
        # No test runs; the terminal summary prints this one line and the exit status is 2.
        outcomes.fail_all("error", f"harness: cannot verify: {exc}")
        _write_report(config)


def pytest_report_header(config):
    from hypothesis import settings as current
    subject = config.harness_subject
    where = "shipped implementation" if subject is None or subject.shipped else "submission"
    return [f"module under test: {subject.path if subject else config.getoption('impl')} ({where})",
            f"policy: {_policy(config)}   hypothesis profile: {current._current_profile}"]


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
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    outcomes = item.config.harness_outcomes
    marker = item.get_closest_marker("api")
    if outcomes is None or marker is None:
        return
    name = marker.args[0]
    notes = [v for k, v in item.user_properties if k == "note"]
    if rep.when == "call" or (rep.when == "setup" and not rep.passed):
        if rep.skipped:
            return
        exc = call.excinfo.value if call.excinfo is not None else None
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
    _fold_property_failures(config)
    if config.harness_subject is not None:
        config.harness_subject.close()
    outcomes = config.harness_outcomes
    if outcomes is not None and outcomes.harness_error:
        session.exitstatus = 2
        return
    if outcomes is None or not _judging(config):
        return
    reporting = bool(config.getoption("report"))
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    outcomes.finalize(complete=reporting or interrupted,
                      why="the run was interrupted" if interrupted else "none of its properties ran")
    _write_report(config)
    if reporting and outcomes.verdict != "pass" and session.exitstatus == 0:
        session.exitstatus = 1  # exit 0 if and only if the verdict is pass


def pytest_terminal_summary(terminalreporter, config):
    outcomes = config.harness_outcomes
    if outcomes is not None and outcomes.harness_error:
        terminalreporter.write_line(outcomes.harness_error, red=True, bold=True)
        return
    if outcomes is None or not _judging(config):
        return
    failures = failure_lines(outcomes)
    if failures:
        terminalreporter.section("what fails, and how to reproduce it")
        for line in failures:
            terminalreporter.write_line(line)
    terminalreporter.section("verdict")
    for line in summary_lines(outcomes):
        terminalreporter.write_line(line)
    if config.getoption("report"):
        terminalreporter.write_line(f"report: {config.getoption('report')}")
