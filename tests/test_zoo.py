"""The bug zoo: every wrong submission is rejected with its own function blamed,
and every correct one, whatever its style, passes. Each file's header says which:
    # zoo: blames NAME[, NAME...]    or    # zoo: passes
    # zoo-policy: strict             (optional: graded with --strict)
"""
from pathlib import Path

import pytest

from harness.api import NAMES
from tests.harness_run import grade_selected

ZOO = Path(__file__).resolve().parent / "zoo"
FILES = sorted(ZOO.glob("wrong/*.py")) + sorted(ZOO.glob("right/*.py"))


def header(path: Path) -> dict:
    info = {"blames": [], "passes": False, "strict": False}
    for line in path.read_text().splitlines()[:10]:
        if line.startswith("# zoo: blames"):
            info["blames"] = [n.strip() for n in line.split("blames", 1)[1].split(",")]
        elif line.startswith("# zoo: passes"):
            info["passes"] = True
        elif line.startswith("# zoo-policy: strict"):
            info["strict"] = True
    return info


@pytest.fixture(scope="session")
def zoo_runs(request, tmp_path_factory):
    return grade_selected(request, tmp_path_factory.mktemp("zoo"), "test_zoo_verdict",
                          lambda path: ["--strict"] if header(path)["strict"] else [])


def test_zoo_is_big_enough():
    infos = [header(p) for p in FILES]
    assert sum(bool(i["blames"]) for i in infos) >= 40, "the zoo needs at least 40 wrong versions"
    assert sum(i["passes"] for i in infos) >= 5, "the zoo needs at least 5 correct versions"
    for path, info in zip(FILES, infos):
        assert info["passes"] != bool(info["blames"]), f"{path.name}: header must say blames or passes"
        assert set(info["blames"]) <= set(NAMES), f"{path.name}: blames an unknown name {info['blames']}"


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_zoo_verdict(zoo_runs, path):
    run = zoo_runs[path]
    info = header(path)
    assert run.report is not None, f"{path.name}: no report was written\n{run.output[-3000:]}"
    statuses = {n: f["status"] for n, f in run.report["functions"].items()}
    if info["passes"]:
        assert run.returncode == 0 and run.report["verdict"] == "pass", (
            f"{path.name} is correct but was rejected: "
            f"{ {n: s for n, s in statuses.items() if s != 'pass'} }\n{run.output[-4000:]}")
    else:
        assert run.returncode != 0 and run.report["verdict"] == "fail", (
            f"{path.name} is wrong ({info['blames']}) but passed\n{run.output[-2000:]}")
        for name in info["blames"]:
            assert statuses[name] != "pass", (
                f"{path.name}: {name} should be blamed; statuses: {statuses}")
