"""The confined side's source: the worker's script (wire, counting and worker_main as one
file importing no harness module) and the zygote's (the same, then zygote_main), and the
environment a worker starts with. Read here, run there (worker.py, zygote.py)."""
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
INSIDE = ("wire.py", "counting.py", "worker_main.py")  # what runs in the worker, in this order
ENV_KEPT = ("PATH", "LANG", "LC_ALL", "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH",
            "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def worker_source(entry: Optional[str] = "main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])") -> str:
    """wire, counting and the worker's loop as one script importing no harness module,
    ending with `entry` (the zygote pastes its own file after it instead)."""
    parts = []
    for name in INSIDE:
        lines = (HERE / name).read_text().splitlines()
        parts.append("\n".join(l for l in lines if not l.startswith(("from harness", "import harness"))))
    return "\n\n".join(parts + ([entry] if entry else [])) + "\n"


def worker_env(harness_env, folder: Optional[str] = None) -> dict:
    """A worker's whole environment: a few of the harness's variables, its folder as home."""
    env = {k: harness_env[k] for k in ENV_KEPT if k in harness_env}
    env.update(PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1")
    if folder:
        env.update(HOME=folder, TMPDIR=folder)
    return env


def zygote_source() -> str:
    """The zygote's script: the worker's, then zygote_main.py, then its entry."""
    return worker_source(entry=None) + "\n\n" + (HERE / "zygote_main.py").read_text() + \
        "\n\nserve(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))\n"
