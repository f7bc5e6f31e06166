"""Grading: the only layer that imports both judge and confine. The pytest plugin
(plugin: --impl, --report, the hooks that turn outcomes into a verdict), the report
(report), the end-to-end check and its data (e2e, datasets) and batch mode (batch/)."""
