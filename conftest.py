"""The harness's pytest plugin (--impl, --report, the Hypothesis profiles, the verdict)
lives in harness/grade/plugin.py; this root conftest only loads it."""
pytest_plugins = ["harness.grade.plugin"]
