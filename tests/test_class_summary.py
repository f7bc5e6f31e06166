"""summary.html, the class at a glance (harness/grade/batch/summary_html.py): its two charts agree
with the reports they are drawn from."""
import html
import re
from pathlib import Path
from types import SimpleNamespace

from harness.grade.batch import summary_html as class_summary
from harness.api import NAMES


def _report(failing=(), mistakes=()):
    functions = {n: {"status": "fail" if n in failing else "pass", "messages": [],
                     **({"mistakes": list(mistakes)} if n in failing else {})} for n in NAMES}
    verdict = "fail" if failing else "pass"
    return {"verdict": verdict, "score": float(len(NAMES) - len(failing)), "max_score": float(len(NAMES)),
            "functions": functions}


def _graded(name, report):
    return SimpleNamespace(submission=SimpleNamespace(name=name, path=Path(name)), report=report)


CLASS = [_graded("alice", _report()),
         _graded("bob", _report(["svm_loss_vectorized"], ["reg-grad-not-doubled"])),
         _graded("carol", _report(["svm_loss_vectorized", "softmax_loss_vectorized"], ["reg-grad-not-doubled"])),
         _graded("dan", _report(["sample_batch"], ["sample-without-replacement"]))]


def test_pass_rates_and_named_mistakes_count_submissions():
    rates = {n: (k, total) for n, k, total in class_summary.pass_rates([g.report for g in CLASS])}
    assert rates["svm_loss_vectorized"] == (2, 4) and rates["svm_loss_naive"] == (4, 4)
    assert rates["sample_batch"] == (3, 4)
    # carol's one mistake in two functions counts once
    assert class_summary.named_mistakes([g.report for g in CLASS]) == [
        ("reg-grad-not-doubled", "svm_loss_vectorized, softmax_loss_vectorized", 2),
        ("sample-without-replacement", "sample_batch", 1)]


def test_the_page_draws_one_bar_per_function_and_per_mistake():
    page = class_summary.render(CLASS, "graded: 4 files")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "1 of 4</b> submissions pass" in page
    charts = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(charts) == 2
    bars = [re.findall(r"class='bar'[^>]*width='([\d.]+)'", chart) for chart in charts]
    assert len(bars[0]) == len(NAMES) and len(bars[1]) == 2
    full = class_summary.BAR_W
    assert float(bars[0][NAMES.index("svm_loss_vectorized")]) == full / 2
    assert float(bars[0][NAMES.index("svm_loss_naive")]) == full
    assert [float(w) for w in bars[1]] == [full, full / 2]
    assert "reg-grad-not-doubled" in page and html.escape(class_summary.LOOKS_LIKE["reg-grad-not-doubled"])[:30] in page
    assert page.count("<tr><td>") >= 4 + 2   # a row per submission and per mistake


def test_names_are_escaped():
    page = class_summary.render([_graded("<img src=x onerror=alert(1)>", _report())], "h")
    assert "<img" not in page and "&lt;img" in page
