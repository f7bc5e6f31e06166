"""The trusted side of the harness: the API table, the adapter to the module under
test, tolerances, policies and the report. Nothing here imports the submission's
code except through subject.py."""


def __getattr__(name):
    # `from harness import check` (a notebook cell), without importing the grading's
    # modules for everything else that imports harness.
    if name == "check":
        from harness.notebook import check
        return check
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
