#!/usr/bin/env bash
# One entry point that does its own set-up on a fresh machine:
#   ./run.sh train [options]    train the lesson's MLP (scikit-learn's digits by default)
#   ./run.sh test [pytest args] run the whole test suite (e.g. ./run.sh test -m "not slow")
#   ./run.sh bench [options]    the speed benchmark (benchmarks/speed.py)
#   ./run.sh docs [options]     build the book into site/ (mkdocs build; open site/index.html)
#   ./run.sh <any handgrad command>   e.g. ./run.sh trace --layers 784,256,128,10 --batch-size 64
# The first call makes .venv (PyTorch's CPU build first, then handgrad with every
# extra); later calls reuse it until pyproject.toml changes.
# handgrad's own commands run in the folder you call them from (so `cd ws && ../run.sh learn`
# finds the workspace ws); test, bench and docs run in this repository.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")" && pwd)

PYTHON=${PYTHON:-python3}
VENV=$ROOT/.venv
STAMP=$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)

if [ ! -f "$STAMP" ]; then
    echo "setting up $VENV (once) ..." >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip >&2
    # The CPU build of PyTorch first: a plain `torch` would pull a multi-GB CUDA build.
    # (For a GPU, install a CUDA build of PyTorch into .venv yourself: see pytorch.org.)
    if [ "$(uname -s)" = Linux ]; then
        "$VENV/bin/python" -m pip install -q "torch==2.13.0" >&2
    fi
    "$VENV/bin/python" -m pip install -q -e "$ROOT[all,test,docs]" >&2
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
fi
export HANDGRAD_PROG="$0"             # so hints print a command that works from here

# Optional system packages some tests use. They are installed only when asked
# (HANDGRAD_INSTALL_SYSTEM_PACKAGES=1, as CI does); otherwise their tests skip, saying why.
system_packages() {
    local missing=()
    [ -d /usr/share/datasets/fashion-mnist ] || missing+=("dataset-fashion-mnist:the Fashion-MNIST tests")
    command -v chromium >/dev/null 2>&1 || missing+=("chromium:the playground's browser tests")
    command -v dot >/dev/null 2>&1 || missing+=("graphviz:drawing the autograd graph as SVG/PNG")
    command -v bwrap >/dev/null 2>&1 || missing+=("bubblewrap:sandboxing submissions in handgrad learn grade")
    [ ${#missing[@]} -eq 0 ] && return 0
    local names=() item
    for item in "${missing[@]}"; do names+=("${item%%:*}"); done
    if [ "${HANDGRAD_INSTALL_SYSTEM_PACKAGES:-0}" = 1 ] && command -v apt-get >/dev/null; then
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        echo "installing system packages for the tests: ${names[*]}" >&2
        $sudo apt-get install -y -q "${names[@]}" >/dev/null 2>&1 \
            || ($sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q "${names[@]}" >/dev/null 2>&1) \
            || echo "warning: could not install ${names[*]}; their tests will skip" >&2
    else
        echo "note: some tests will skip because these system packages are missing:" >&2
        for item in "${missing[@]}"; do echo "  ${item%%:*} (${item#*:})" >&2; done
        echo "  install them with: sudo apt-get install ${names[*]}" >&2
        echo "  or let this script do it: HANDGRAD_INSTALL_SYSTEM_PACKAGES=1 ./run.sh test" >&2
    fi
}

cmd=${1:-train}
[ $# -gt 0 ] && shift
case "$cmd" in
    test)
        cd "$ROOT"
        system_packages
        exec "$VENV/bin/python" -m pytest "$@" ;;
    bench)
        cd "$ROOT"
        exec "$VENV/bin/python" benchmarks/speed.py "$@" ;;
    docs)
        cd "$ROOT"
        export NO_MKDOCS_2_WARNING=1      # MkDocs' notice about its next version, not about this book
        "$VENV/bin/mkdocs" build "$@"
        echo "the book is in site/: open site/index.html (no server needed)" >&2 ;;
    -h|--help)
        sed -n '2,7s/^# \{0,1\}//p' "$ROOT/run.sh"      # this script's own commands, then handgrad's
        echo
        exec "$VENV/bin/handgrad" --help ;;
    *)
        exec "$VENV/bin/handgrad" "$cmd" "$@" ;;
esac
