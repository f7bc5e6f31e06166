#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image. The zip's
# contents (the harness's repository, with this file and run_autograder at its top) are
# in /autograder/source. It makes a virtualenv in /autograder/venv, which
# run_autograder uses, with the CPU build of torch and the pinned requirements.
set -euo pipefail
AUTOGRADER_ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="${HARNESS_SOURCE:-$AUTOGRADER_ROOT/source}"
VENV="$AUTOGRADER_ROOT/venv"

if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv python3-pip
fi
python3 -m venv "$VENV"
"$VENV/bin/pip" install --disable-pip-version-check --no-cache-dir --upgrade pip
# The CPU wheel first (PyPI's Linux wheel pulls in gigabytes of CUDA libraries that a
# CPU-only grader never uses); requirements.txt then finds torch already satisfied.
torch_pin="$(grep -E '^torch==' "$SOURCE/requirements.txt" || echo torch)"
"$VENV/bin/pip" install --disable-pip-version-check --no-cache-dir "$torch_pin" \
  --index-url https://download.pytorch.org/whl/cpu
"$VENV/bin/pip" install --disable-pip-version-check --no-cache-dir -r "$SOURCE/requirements.txt"
# A smoke check at build time: the shipped implementation must pass (exit status 0).
cd "$SOURCE"
"$VENV/bin/python" -m pytest properties -q -p no:cacheprovider --hypothesis-profile=ci \
  >/dev/null || echo "setup.sh: warning: the harness's smoke check failed" >&2
chmod +x "$SOURCE/run_autograder" 2>/dev/null || true
