#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image. The zip's
# contents (the harness's repository, with this file and run_autograder at its top) are
# in /autograder/source. It makes a virtualenv in /autograder/venv, which
# run_autograder uses, with the CPU build of torch and the pinned requirements
# (requirements-e2e.txt: requirements.txt plus scikit-learn, whose bundled digits are the
# real images of the end-to-end check, and matplotlib for its plot).
#
# CIFAR-10 (optional; the harness never downloads it). run_autograder runs the end-to-end
# check on CIFAR-10, at the course's split, preprocessing, 2000 iterations and targets
# (0.37 SVM, 0.36 softmax), when the standard "python version" folder is at
#     /autograder/cifar-10-batches-py     (data_batch_1 ... data_batch_5, test_batch)
# (or wherever CIFAR_DIR points); otherwise on the digits. Ways to put it there:
#   - ship it in the autograder zip, beside setup.sh, as cifar-10-batches-py/ (about 180 MB;
#     Gradescope's upload limit allows it), and leave the copy step below as it is; or
#   - fetch it in this script from your course's own mirror (add the command below this
#     comment; the harness itself never downloads anything), and unpack it to that path.
# Give the autograder at least 6 GB of memory for CIFAR-10 (float64, as the notebook): the
# data is held by the harness and by the worker that trains the student's classifiers, and
# expect 5-10 minutes per submission (HARNESS_TIMEOUT in run_autograder: 1200 s).
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
"$VENV/bin/pip" install --disable-pip-version-check --no-cache-dir -r "$SOURCE/requirements-e2e.txt"
if [ -d "$SOURCE/cifar-10-batches-py" ] && [ ! -e "$AUTOGRADER_ROOT/cifar-10-batches-py" ]; then
  cp -r "$SOURCE/cifar-10-batches-py" "$AUTOGRADER_ROOT/cifar-10-batches-py"
fi
# A smoke check at build time: the shipped implementation must pass (exit status 0).
cd "$SOURCE"
"$VENV/bin/python" -m pytest properties -q -p no:cacheprovider --hypothesis-profile=ci \
  >/dev/null || echo "setup.sh: warning: the harness's smoke check failed" >&2
chmod +x "$SOURCE/run_autograder" 2>/dev/null || true
