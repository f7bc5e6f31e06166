"""The harness's own tests grade many submissions through batch mode and the Gradescope
script, where the end-to-end check is on by default (30-60 s per submission). Here it is
off (HARNESS_E2E=0) for those runs; tests/test_end_to_end.py turns it on explicitly
(--e2e, -m e2e) and checks that both paths pass it on by default."""
import os

os.environ["HARNESS_E2E"] = "0"
