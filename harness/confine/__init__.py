"""The trust boundary: everything that runs, confines, or talks to the submission.

Harness side: subject (the Subject interface, the in-process adapter), worker
(WorkerSubject and open_subject), script (the worker's and zygote's source), zygote
(batch mode's pre-imported worker), sandbox (the isolation levels), limits (disk,
processes, wall time), process (die with the parent, /proc/PID/stat), spies (stand-ins
handed to the submission). Worker side, run inside the confined process as one script
(script.py): wire (the framing and value encoding), counting (the work counters),
worker_main and zygote_main; these import only the stdlib, numpy and torch
(tests/test_layout.py checks it).
Imports harness.errors and harness.api only, never judge or grade."""
