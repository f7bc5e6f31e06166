"""Grading works wherever the checkout lives (docs/maintainers.md, "Where CI may run"): a copy
of this checkout inside a 0700 folder (as a home folder, /root or a `mktemp -d` folder
is), under a path with a space in it, grades the shipped file at each isolation level this
machine has, or refuses a level before it runs anything, with one line that names the
closed folder and the best level there is.

The workers never read the checkout: the sandbox does not mount it, the unprivileged user's
worker runs in a folder of its own from a script the harness hands it. What the dropped
user must reach is the Python (here pyenv's, under the 0700 /root); the "unprivileged-user"
case opens it as a Docker grader has it (tests/test_isolation.py, _as_a_docker_grader),
the refusal case leaves it closed. A harness that is not root runs from its own checkout:
tests/test_isolation.py and tests/test_resources.py grade as such a user from a copy in its
own 0700 home.
"""
import os
import sys

import pytest

from harness.confine import sandbox
from tests.harness_run import tiered
from tests.test_isolation import NO_BWRAP, _grade, private_checkout

ROOT_HERE = os.geteuid() == 0
# This machine's levels: the harness's own probe, and "unprivileged-user" wherever the
# harness is root (its Python opened to that user as in a Docker image, see above).
LEVELS = [iso.level for iso in sandbox.available()]
if ROOT_HERE and "unprivileged-user" not in LEVELS:
    LEVELS.insert(LEVELS.index("process"), "unprivileged-user")


@pytest.mark.parametrize("level", tiered([(level,) for level in LEVELS], LEVELS, {LEVELS[0]}))
def test_the_shipped_file_grades_from_a_checkout_in_a_private_folder(level, tmp_path):
    checkout = private_checkout(tmp_path / "private")
    assert (tmp_path / "private").stat().st_mode & 0o777 == 0o700 and sandbox.closed_folder(checkout)
    shipped = checkout / "implementations" / "linear_classifier.py"
    code, report, output = _grade(tmp_path, shipped, f"--isolation={level}", checkout=checkout,
                                  env=None if level == "sandbox" else NO_BWRAP)
    assert report is not None, output[-3000:]
    assert code == 0 and report["verdict"] == "pass", output[-3000:]
    assert report["isolation"] == level and f"isolation: {level}" in output, output[-3000:]


PYTHON_CLOSED = next(filter(None, map(sandbox.closed_folder, sandbox._python_paths())), None)


@pytest.mark.skipif(not ROOT_HERE, reason="only root can drop to another user: nothing to refuse")
@pytest.mark.skipif(PYTHON_CLOSED is None, reason=f"{sys.executable} and its packages are open to other "
                    "users here: the unprivileged user can run it, so there is no refusal to see")
def test_a_python_the_dropped_user_cannot_reach_is_refused_before_anything_runs(tmp_path):
    """Root, no bwrap, its Python under a folder closed to others: --isolation=unprivileged-user
    is refused (exit 2, one line naming that folder and the best level, every function an
    error), and --isolation=auto falls to a plain process and grades."""
    checkout = private_checkout(tmp_path / "private")
    shipped = checkout / "implementations" / "linear_classifier.py"
    code, report, output = _grade(tmp_path, shipped, "--isolation=unprivileged-user", checkout=checkout,
                                  env=NO_BWRAP, as_docker=False)
    lines = [line for line in output.splitlines() if line.startswith("harness: cannot verify:")]
    assert code == 2 and len(lines) == 1, output[-3000:]
    assert f"{PYTHON_CLOSED} is closed to other users" in lines[0], lines
    assert lines[0].endswith("(the best level here: process)"), lines
    assert report is not None and all(f["status"] == "error" for f in report["functions"].values())
    code, report, output = _grade(tmp_path, shipped, checkout=checkout, env=NO_BWRAP, as_docker=False)
    assert code == 0 and report["isolation"] == "process", output[-3000:]
