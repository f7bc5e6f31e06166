"""Grading: the only layer that imports both judge and confine. The pytest plugin
(plugin: --impl, --report, the hooks that turn outcomes into a verdict), the report
(report), the end-to-end check and its data (e2e, datasets), batch mode (batch/), the warm
command's server (warm), the notebook's check (notebook) and Hypothesis's test digests
(digests)."""
