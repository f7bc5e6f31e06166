"""The trusted side of the harness: the API table, the adapter to the module under
test, tolerances, policies and the report. Nothing here imports the submission's
code except through subject.py."""
