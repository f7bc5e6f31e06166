"""The shipped implementation of the API of SPEC.md (linear_classifier.py)."""
