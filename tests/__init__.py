"""The harness's own tests: the oracles, the report, bad input, and the bug zoo."""
