#!/usr/bin/env bash
# The GPU checks in one go, for the first machine with a CUDA device:
#   1. the CUDA benchmarks (pytest-benchmark; every timed call synchronises),
#   2. the whole property suite, its CUDA cases included (python -m pytest properties),
#   3. a tracking record of the gate's cases timed on the GPU (with
#      torch.cuda.max_memory_allocated; the counters are measured on the CPU).
# Without CUDA it says so and exits 0, having run nothing.
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]        # default OUT_DIR: gpu-check-<date>
#   PYTHON=/path/to/python bash benchmarks/gpu_check.sh
#
# Expected output (benchmarks/README.md, "On a GPU", has one H200's run): the device line;
# the benchmark summary for "cuda float32" and "cuda float64" (vectorized / floor about
# 2-6 at N >= 4096, the naive loops far slower, since each of their tiny ops is a kernel
# launch); the property suite's verdict PASS, exit 0, and "cuda property cases: 14 passed,
# 0 failed, errored or skipped"; "recorded 6 cases"; then "gpu_check: all passed".
# Everything lands in OUT_DIR: bench/ (summary.json, scaling.png), bench.log,
# properties.json (the report), properties.log, history/ (the record), and status.txt
# (one line per step and its exit status, and the count of CUDA property cases).
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-../lc-venv/bin/python}
[ -x "$PY" ] || PY=python3
OUT=${1:-gpu-check-$(date -u +%Y%m%d-%H%M%S)}

if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: no CUDA device here (torch.cuda.is_available() is False): skipped, nothing run"
  exit 0
fi
mkdir -p "$OUT"
"$PY" -c "import torch; p = torch.cuda.get_device_properties(0); print(f'gpu_check: {p.name}, {p.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda}, torch {torch.__version__}')" | tee "$OUT/device.txt"

status=0
step() {  # step NAME LOG COMMAND...: run, log, remember the exit status
  local name=$1 log=$2; shift 2
  echo "== $name: $*"
  "$@" > >(tee "$OUT/$log") 2>&1
  local rc=$?
  echo "$name: exit $rc" | tee -a "$OUT/status.txt"
  [ "$rc" -eq 0 ] || status=1
}

step benchmarks bench.log "$PY" -m pytest benchmarks/test_bench_losses.py benchmarks/test_routes_agree.py \
  --bench-devices cuda --bench-results "$OUT/bench" -q -p no:cacheprovider
# The whole property suite, not `-k cuda`: a verdict covers every function, and a run
# that deselects most of them says "not judged" for those (exit 1). With a GPU here the
# suite's cuda cases run beside the CPU ones; the log names each (-v) and the line
# after the step counts them.
step properties properties.log "$PY" -m pytest properties -v -p no:cacheprovider --report "$OUT/properties.json"
echo "cuda property cases: $(grep -c 'cuda.*PASSED' "$OUT/properties.log") passed," \
     "$(grep -c 'cuda.*\(FAILED\|ERROR\|SKIPPED\)' "$OUT/properties.log") failed, errored or skipped" \
  | tee -a "$OUT/status.txt"
step record record.log "$PY" benchmarks/track.py record --device cuda --history "$OUT/history" \
  --label "gpu_check.sh"

if [ "$status" -eq 0 ]; then echo "gpu_check: all passed ($OUT)"; else echo "gpu_check: FAILED, see $OUT/status.txt"; fi
exit "$status"
