#!/usr/bin/env bash
# One entry point that does its own set-up on a fresh machine:
#   ./run.sh train [options]   train the lesson's MLP (scikit-learn's digits by default)
#   ./run.sh test [pytest args] run the whole test suite
#   ./run.sh <any handgrad command>   e.g. ./run.sh trace --layers 784,256,128,10 --batch 64
# The first call makes .venv (PyTorch's CPU build first, then handgrad with every
# extra); later calls reuse it until pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)

if [ ! -f "$STAMP" ]; then
    echo "setting up $VENV (once) ..." >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip >&2
    # The CPU build of PyTorch first: a plain `torch` would pull a multi-GB CUDA build.
    if [ "$(uname -s)" = Linux ]; then
        "$VENV/bin/python" -m pip install -q "torch==2.13.0" >&2
    fi
    "$VENV/bin/python" -m pip install -q -e ".[all,test]" >&2
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
fi

# The real datasets: this workplace keeps them in ../shared/data (see DESIGN.md).
if [ -z "${HANDGRAD_DATA:-}" ] && [ -d ../shared/data ]; then
    export HANDGRAD_DATA="$(cd ../shared/data && pwd)"
fi

cmd=${1:-train}
[ $# -gt 0 ] && shift
case "$cmd" in
    test)
        # Fashion-MNIST comes from Debian's dataset-fashion-mnist package.
        if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then
            if [ "$(id -u)" = 0 ]; then
                apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
                    || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1) \
                    || echo "warning: could not install dataset-fashion-mnist; its tests will skip" >&2
            else
                echo "note: run 'sudo apt-get install dataset-fashion-mnist' for the Fashion-MNIST tests" >&2
            fi
        fi
        exec "$VENV/bin/python" -m pytest "$@" ;;
    *)
        exec "$VENV/bin/handgrad" "$cmd" "$@" ;;
esac
