"""The verdict cache (harness/grade/cache.py, harness/grade/reach.py): `python -m harness
check` judges again only the functions whose reach changed, and its report is the full
run's; what the key cannot see is judged every run; a grade never uses it. The equality
test over 200 and more edits of the zoo is tests/test_zoo.py::test_cached_runs_give_the_full_runs_reports."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.api import NAMES
from harness.grade.reach import Source
from tests import cache_edits
from tests.harness_run import ROOT

SHIPPED = ROOT / "implementations" / "linear_classifier.py"
WRONG = ROOT / "tests" / "zoo" / "wrong" / "svm_vec_reg_grad_not_doubled.py"


def source(text: str, tmp_path: Path, name="linear_classifier.py") -> Source:
    path = tmp_path / name
    path.write_text(text)
    return Source(path)


# ---------------------------------------------------------------- the key: reach.py

def test_a_names_digest_follows_what_it_reaches_and_nothing_else(tmp_path):
    base = "import torch\nK = 2\n\ndef helper(x):\n    return x * K\n\ndef f(x):\n    return helper(x)\n\ndef g(x):\n    return x\n"
    first = source(base, tmp_path)
    moved = source("# a comment\n\n" + base.replace("def g(x):\n    return x\n", "def g(x):\n    return x  # same\n"), tmp_path)
    assert first.digest(["f"]) == moved.digest(["f"]) and first.digest(["g"]) == moved.digest(["g"])
    assert first.positions(["f"]) != moved.positions(["f"])  # lines cited in a message would differ
    for edit in ("K = 3", "    return x * K + 0"):
        old = "K = 2" if edit.startswith("K") else "    return x * K"
        changed = source(base.replace(old, edit, 1), tmp_path)
        assert changed.digest(["f"]) != first.digest(["f"]), edit  # a constant, a callee
        assert changed.digest(["g"]) == first.digest(["g"])
    assert first.digest(["absent"]) != source(base + "\ndef absent():\n    pass\n", tmp_path).digest(["absent"])
    shipped = Source(SHIPPED)
    assert {"svm_loss_vectorized", "LinearClassifier", "train_linear_classifier", "sample_batch"} <= {
        name for name, _ in shipped.closure(["LinearSVM"])}
    assert shipped.uncacheable is None and not any(shipped.afresh([n]) for n in NAMES)


@pytest.mark.parametrize("code, why", [
    ("print('hi')", "module-level code"),
    ("W = torch.zeros(3)", "module-level code"),
    ("try:\n    import numpy\nexcept ImportError:\n    pass", "module-level code"),
    ("from helpers import *", "star import"),
    ("import helpers", "a file beside it"),
])
def test_module_level_code_makes_the_whole_file_uncacheable(tmp_path, code, why):
    (tmp_path / "helpers.py").write_text("x = 1\n")
    found = source(f"import torch\n{code}\n\ndef f(x):\n    return x\n", tmp_path)
    assert found.uncacheable and why in found.uncacheable, found.uncacheable


@pytest.mark.parametrize("body, why", [
    ("    global N\n    N = 1\n    return x", "global"),
    ("    SEEN.append(1)\n    return x", "mutable module-level value"),
    ("    return open('/data/w.txt').read()", "on a path of its own"),
    ("    return torch.load(PATH)", "on a path of its own"),
    ("    return np.random.default_rng().random(3)", "a seed from the operating system"),
    ("    random.seed()\n    return x", "a seed from the operating system"),
    ("    torch.set_default_dtype(torch.float64)\n    return x", "changes the process"),
    ("    import os\n    return os.environ", "imports os"),
    ("    import math, os\n    return os.environ", "imports os"),
    ("    return time.time()", "uses time"),
    ("    return eval('x')", "eval()"),
    ("    f.calls = 1\n    return x", "assigns into the module-level f"),
])
def test_a_name_that_keeps_state_or_reads_the_world_is_judged_every_run(tmp_path, body, why):
    text = ("import random\nimport time\nimport numpy as np\nimport torch\nSEEN = []\nPATH = '/data/w.pt'\n\n"
            f"def f(x):\n{body}\n\ndef g(x):\n    return f(x)\n\ndef h(x):\n    return x\n")
    found = source(text, tmp_path)
    assert found.uncacheable is None
    assert why in (found.afresh(["f"]) or ""), found.afresh(["f"])
    assert found.afresh(["g"])            # a caller reaches it too
    assert found.afresh(["h"]) is None    # the rest of the file is cached as before


def test_state_the_cache_can_see_through_is_not_flagged(tmp_path):
    text = ("import torch\n_BLOCK = 4 << 20\nDTYPE = torch.float64\n\n"
            "def save(W, path):\n    torch.save({'W': W}, path)\n\n"
            "def f(x, id=None):\n    id = torch.randint(3, (2,))\n    return x[id]\n\n"
            "def r(n):\n    return np.random.choice(n, 3) + torch.randint(n, (3,)) + random.randrange(n)\n\n"
            "f.__test__ = False\n\nclass C:\n    kind = 'svm'\n\n    @staticmethod\n    def g(x):\n        return x\n")
    found = source(text, tmp_path)
    assert found.uncacheable is None and not any(found.afresh([n]) for n in ("save", "f", "C", "r"))


# ---------------------------------------------------------------- the command

@pytest.fixture
def student(tmp_path):
    env = cache_edits.student_env(tmp_path)
    yield env
    cache_edits.stop_server(env)


def run(path, report, env, *options):
    done = cache_edits.check(path, report, env, *options)
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    line = next((l for l in done.stdout.splitlines() if l.startswith("verdict cache:")), None)
    return done, json.loads(Path(report).read_text()), line


def test_a_check_reuses_what_did_not_change_and_gives_the_full_runs_report(student, tmp_path):
    work = tmp_path / "a2"
    work.mkdir()
    path = work / "linear_classifier.py"
    shutil.copy(SHIPPED, path)
    done, first, line = run(path, tmp_path / "1.json", student)
    assert done.returncode == 0 and first["cache"]["judged"] == list(NAMES), line
    done, second, line = run(path, tmp_path / "2.json", student)
    assert done.returncode == 0 and second["cache"]["reused"] == sorted(NAMES) and not second["cache"]["judged"], line
    assert second["functions"] == first["functions"] and "judged now 0" in line
    # one function edited, as the zoo file has it: it and what reaches it are judged again
    name = "svm_loss_vectorized"
    wrong = cache_edits._segment(WRONG.read_text(), cache_edits._definitions(WRONG)[name])
    right = cache_edits._segment(path.read_text(), cache_edits._definitions(path)[name])
    path.write_text(path.read_text().replace(right, wrong))
    done, cached, line = run(path, tmp_path / "3.json", student)
    assert done.returncode == 1 and set(cached["cache"]["judged"]) == {name, "LinearSVM"}, line
    done, full, line = run(path, tmp_path / "4.json", student, "--no-cache")
    assert done.returncode == 1 and "cache" not in full and line is None
    assert cached["functions"] == full["functions"]
    assert cached["functions"][name]["mistakes"] == ["reg-grad-not-doubled"]
    # a store someone wrote into is read as no store: judged again, the same report
    for kept in Path(student["HARNESS_CACHE_DIR"]).glob("*.json"):
        kept.write_text(json.dumps([{"touched": [], "reach": "x", "outcome": {"status": "pass"}}]))
    done, again, line = run(path, tmp_path / "5.json", student)
    assert again["cache"]["judged"] == list(NAMES) and again["functions"] == full["functions"], line


def test_a_grade_never_uses_the_cache(tmp_path, student):
    """The grading command, as Gradescope's script and batch mode run it: no cache line, no
    store; and batch mode refuses --verdict-cache."""
    env = dict(student)
    done = subprocess.run([sys.executable, "-m", "pytest", "properties", "-q", "-p", "no:cacheprovider",
                           "--hypothesis-profile=ci", "--impl", str(WRONG), "--report", str(tmp_path / "r.json")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1 and "verdict cache" not in done.stdout, done.stdout[-2000:]
    assert "cache" not in json.loads((tmp_path / "r.json").read_text())
    assert not list(Path(env["HARNESS_CACHE_DIR"]).iterdir())
    refused = subprocess.run([sys.executable, "-m", "pytest", "properties", "-q", "-p", "no:cacheprovider",
                              "--impl", str(WRONG.parent), "--verdict-cache"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 4 and "a grade is always a full run" in refused.stderr + refused.stdout


def test_a_random_profile_judges_everything_and_says_why(tmp_path, student):
    done, report, line = run(SHIPPED, tmp_path / "r.json", student, "--hypothesis-profile=dev")
    assert line and "off (the dev profile draws new examples each run)" in line and "cache" not in report


def test_a_stored_outcome_of_another_shape_is_read_as_none(tmp_path):
    from harness.grade.cache import VerdictCache
    path = tmp_path / "linear_classifier.py"
    shutil.copy(SHIPPED, path)
    store = tmp_path / "store"
    store.mkdir()
    cache = VerdictCache(path, "context", store)
    good = {"status": "pass", "messages": ["note: x"], "judged": 3, "repro": None, "mistakes": []}
    cache.keep("svm_get_search_params", ["svm_get_search_params"], good)
    assert cache.plan(["svm_get_search_params"]).reused == {"svm_get_search_params": good}
    assert VerdictCache(path, "another context", store).plan(["svm_get_search_params"]).judge
    (stored,) = store.glob("*.json")
    for bad in ({"messages": [1]}, {"mistakes": [None]}, {"status": "passed"}, {"judged": "3"}):
        variant = json.loads(stored.read_text())[0]
        variant["outcome"] = {**good, **bad}
        stored.write_text(json.dumps([variant]))
        assert cache.plan(["svm_get_search_params"]).judge == ["svm_get_search_params"], bad
