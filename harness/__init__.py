"""The trusted side of the harness. A map, lowest layer first:

    errors.py      every exception of the harness (a leaf: imports nothing)
    api.py         the table of the API under test, one row per name (a leaf)
    judge/         pure functions of values: tolerance, compare, policy, mistakes(.toml),
                   signatures, static_checks, efficiency, repro, shipped(.json: what the
                   shipped implementation gives, as data for the student edition)
    confine/       the trust boundary: subject, worker (open_subject), script (the worker's
                   source), zygote, sandbox, limits, process, spies, locate (where the
                   checkout or the installed copy is); and what runs inside
                   the worker: wire, counting, worker_main, zygote_main (stdlib, numpy and
                   torch only)
    grade/         the pytest plugin, report, atomic (whole-file writes), e2e, datasets, and
                   batch/ (discover, shard, launch, grader, forkserver, progress, summary,
                   session, merge, summary_html, __main__), warm (the warm single-file
                   command's server), notebook (check() in a notebook cell), cache (the
                   check command's verdict cache) and reach (what each name of a
                   submission reaches, from its syntax tree: the cache's key)
    cli.py         `python -m harness` / `lc-harness`: check, grade, merge, stop
    batch.py       `python -m harness.batch merge DIR...` (a shim over grade/batch/)

The import rule (tests/test_layout.py enforces it, function-level imports included):
- errors and api import nothing of the harness; reference/ (the torch-free oracles)
  imports nothing of the harness but errors and api;
- judge imports errors, api, reference and itself;
- confine imports errors, api and itself; judge and confine never import each other;
- grade imports anything below it; nothing below imports grade;
- no import circle, even through a function-level import;
- the worker-side modules (confine/worker_main.py, confine/zygote_main.py and what they
  import) import only the stdlib, numpy, torch and each other.
Nothing here imports the submission's code except through confine/.
"""


def __getattr__(name):
    # `from harness import check` (a notebook cell), without importing the grading's
    # modules for everything else that imports harness.
    if name == "check":
        from harness.grade.notebook import check
        return check
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
