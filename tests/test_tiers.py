"""The two tiers (docs/maintainers.md, "The two tiers"): the fast one, `pytest -m "not slow"`, is the
inner loop and must still cover every test module; the full one is CI's."""
import subprocess
import sys
from pathlib import Path

from tests.harness_run import ROOT


def _collected(*args) -> list:
    """The ids of the items that `args` select."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_the_fast_tier_covers_every_test_module():
    full, fast = _collected(), _collected("-m", "not slow")
    modules = {item.split("::", 1)[0] for item in full}  # the opt-in e2e properties are in neither
    assert {str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py")} <= modules
    covered = {item.split("::", 1)[0] for item in fast}
    assert modules - covered == set(), f"no test of these runs in the fast tier: {sorted(modules - covered)}"
    assert len(fast) < len(full), "the fast tier leaves nothing out"
