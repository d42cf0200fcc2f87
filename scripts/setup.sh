#!/usr/bin/env bash
# Create .venv and install clgrad with the pocl CPU device; `setup.sh test` adds the test tools
# and PyTorch (CPU build, the tests' reference). Then make sure an OpenCL device works.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
if [ "${1:-}" = test ]; then
    "${pip[@]}" -e ".[pocl,test]"
    "${pip[@]}" torch==2.13.0 || echo "setup: PyTorch 2.13.0 not installed; tests compare against NumPy only"
else
    "${pip[@]}" -e ".[pocl]"
fi
# The pocl bundled with pyopencl's wheels (3.0, LLVM 14) cannot compile on CPUs newer than
# LLVM 14 knows (e.g. AMD Zen 5). clgrad then skips it; fall back to the distribution's pocl.
if ! .venv/bin/python -m clgrad --probe; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing the distribution's pocl (pocl-opencl-icd)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pocl-opencl-icd >/dev/null
        .venv/bin/python -m clgrad --probe
    else
        echo "setup: no working OpenCL device; install your distribution's pocl, e.g." \
             "'sudo apt-get install pocl-opencl-icd'" >&2
        exit 1
    fi
fi
