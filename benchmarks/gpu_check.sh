#!/usr/bin/env bash
# The one script to run on a lent GPU: the CUDA tests, the speed benchmark, one MNIST epoch
# on the GPU, the memory benchmark and the torch.compile check, at most 8.9 minutes (the
# phases' limits; sized from the first H100 run so that every phase finishes). Everything is printed, logged to $OUT/gpu_check.log, and the reports
# are written to $OUT (the device tool's result folder, which returns at most 8 files;
# default ./gpu_results).
#
#   bash benchmarks/gpu_check.sh            # from the repository root, on the GPU machine
#
# Needs python3 with a CUDA build of torch (and pytest). stablenet is used from src/ (no
# install needed). torchdiffeq is timed where installed; torchdyn where installed or
# carried as wheels in .whl/; the MNIST epoch runs where MNIST/raw/ is in $DATA (default
# .gpu_data, carried; see DEVELOPERS.md). Each phase has its own time limit (seconds,
# override with the environment variables below), so one slow phase cannot eat the
# others' time; a phase that hits its limit prints "TIMEOUT" and the script goes on.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-gpu_results}
DATA=${DATA:-.gpu_data}
T_TESTS=${T_TESTS:-60}
T_EPOCH=${T_EPOCH:-45}
T_SPEED=${T_SPEED:-260}
T_MEMORY=${T_MEMORY:-110}
T_COMPILE=${T_COMPILE:-60}
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
: > "$LOG"
if compgen -G ".whl/*.whl" > /dev/null; then  # optional benchmark-only packages (torchdyn)
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
status=0

phase() {  # phase NAME LIMIT COMMAND...: run with a time limit, append to $LOG
    local name=$1 limit=$2
    shift 2
    echo "=== $name (limit ${limit}s): $*" | tee -a "$LOG"
    local t0=$SECONDS
    timeout "$limit" "$@" 2>&1 | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    [ "$rc" = 124 ] && echo "TIMEOUT: $name" | tee -a "$LOG"
    echo "=== $name: exit $rc after $((SECONDS - t0))s" | tee -a "$LOG"
    [ "$rc" = 0 ] || status=1
}

{ nvidia-smi -L; nproc; } 2>&1 | tee -a "$LOG"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'device', torch.cuda.get_device_name() if torch.cuda.is_available() else 'NONE')" \
    2>&1 | tee -a "$LOG"

phase tests "$T_TESTS" "$PY" -m pytest -q -p no:cacheprovider -m "not slow" -k cuda tests
if [ -d "$DATA/MNIST/raw" ]; then  # end to end: one MNIST epoch (938 steps) on the GPU
    rm -rf /tmp/epoch
    phase epoch "$T_EPOCH" "$PY" -m stablenet train --dataset mnist --epochs 1 \
        --device cuda --data-root "$DATA" --no-plots --quiet --overwrite --out /tmp/epoch
    [ -f /tmp/epoch/metrics.json ] && cp /tmp/epoch/metrics.json "$OUT/epoch_metrics.json"
else
    echo "=== epoch: skipped ($DATA/MNIST/raw not found)" | tee -a "$LOG"
fi
# the full sweep without rk4 (4 field evaluations a step, for reference only: it took about
# a quarter of the first run's time); regimes c and b first, the GPU's own cases, since a
# phase cut short keeps only the rows it finished
phase speed "$T_SPEED" "$PY" benchmarks/speed.py --device cuda --regimes c b a \
    --exclude rk4 --repeats 5 --warmup 1 --markdown "$OUT/speed_cuda.md"
phase memory "$T_MEMORY" "$PY" benchmarks/memory.py --device cuda \
    --depths 64 2048 --schemes hamiltonian leapfrog --repeats 2 \
    --markdown "$OUT/memory_cuda.md" --plot "$OUT/memory_cuda.png"
phase compile "$T_COMPILE" "$PY" benchmarks/speed.py --device cuda --regimes a --widths 2 \
    --depths 64 --schemes resnet hamiltonian --compile --markdown "$OUT/speed_compile_cuda.md"

for f in "$OUT"/*.md; do
    [ -e "$f" ] && { echo; echo "##### $f"; cat "$f"; }
done
exit $status
