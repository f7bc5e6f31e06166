"""Grading: the only layer that imports both judge and confine. The pytest plugin
(plugin: --impl, --report, the hooks that turn outcomes into a verdict), the report
(report), the end-to-end check and its data (e2e, datasets), batch mode (batch/), the warm
command's server (warm), the notebook's check (notebook), Hypothesis's test digests
(digests) and its local constants kept out (constants), and the check command's verdict
cache (cache), with its key read from the submission's syntax tree (reach) and its folder
(private, shared with warm)."""
