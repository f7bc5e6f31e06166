"""Timing the losses: pytest-benchmark suite, summary, plot and the regression gate.

Run explicitly (they are not part of `python -m pytest properties` or `tests`):
    python -m pytest benchmarks            # the suite, its summary and the plot
    python benchmarks/gate.py              # the regression gate (exit 1 on a slowdown)
See benchmarks/README.md.
"""
