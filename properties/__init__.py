"""The Hypothesis property suite: one module per family of the API (harness/api.py)."""
