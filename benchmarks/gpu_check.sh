#!/usr/bin/env bash
# The one script to run on a lent GPU: the CUDA tests, then the speed and memory benchmarks
# on the device, at most 9.5 minutes (the phases' limits; not yet run on a GPU). Results are
# printed and written to $OUT (the device tool's result folder; default ./gpu_results).
#
#   bash benchmarks/gpu_check.sh            # from the repository root, on the GPU machine
#
# Needs python3 with a CUDA build of torch (and pytest). stablenet is used from src/ (no
# install needed). torchdiffeq is timed where installed; torchdyn where installed or
# carried as wheels in .whl/ (see DEVELOPERS.md). Each phase has its own time limit
# (seconds, override with the environment variables below), so one slow phase cannot
# eat the others' time; a phase that hits its limit prints "TIMEOUT" and the script
# goes on.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-gpu_results}
T_TESTS=${T_TESTS:-100}
T_SPEED=${T_SPEED:-260}
T_COMPILE=${T_COMPILE:-100}
T_MEMORY=${T_MEMORY:-100}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" > /dev/null; then  # optional benchmark-only packages (torchdyn)
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
status=0

phase() {  # phase NAME LIMIT COMMAND...: run with a time limit, log to $OUT/NAME.log
    local name=$1 limit=$2
    shift 2
    echo "=== $name (limit ${limit}s): $*"
    local t0=$SECONDS
    timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
    local rc=${PIPESTATUS[0]}
    [ "$rc" = 124 ] && echo "TIMEOUT: $name"
    echo "=== $name: exit $rc after $((SECONDS - t0))s"
    [ "$rc" = 0 ] || status=1
}

nvidia-smi -L || true
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'device', torch.cuda.get_device_name() if torch.cuda.is_available() else 'NONE')"

phase tests "$T_TESTS" "$PY" -m pytest -q -p no:cacheprovider -m "not slow" -k cuda tests
phase speed "$T_SPEED" "$PY" benchmarks/speed.py --device cuda --repeats 5 --warmup 1 \
    --markdown "$OUT/speed_cuda.md"
phase compile "$T_COMPILE" "$PY" benchmarks/speed.py --device cuda --quick --regimes a \
    --schemes resnet hamiltonian --compile --markdown "$OUT/speed_compile_cuda.md"
phase memory "$T_MEMORY" "$PY" benchmarks/memory.py --device cuda --quick \
    --markdown "$OUT/memory_cuda.md" --plot "$OUT/memory_cuda.png"

for f in "$OUT"/*.md; do
    [ -e "$f" ] && { echo; echo "##### $f"; cat "$f"; }
done
exit $status
