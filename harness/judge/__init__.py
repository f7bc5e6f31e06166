"""The judge: pure functions of values (no processes, no pytest, no submission): the
tolerances and their proofs (tolerance), comparisons against the oracles and the failure
messages (compare), the float32 policy (policy), the catalogue of known mistakes
(mistakes + mistakes.toml), the expected signatures (signatures), the syntax-tree checks
(static_checks), the work counters' comparison (efficiency) and the self-checking
reproduction snippets (repro). Imports harness.errors, harness.api and reference/ only."""
