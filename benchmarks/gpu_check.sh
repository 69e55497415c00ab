#!/usr/bin/env bash
# The GPU check: the CUDA tests, one MNIST epoch on the GPU plain and with the speed options
# (--cuda-graphs --autocast bf16 --channels-last), an MNIST epoch of a deep network (256
# reversible layers per stage) on 10000 images, the speed benchmark, regime b with the block
# in CUDA graphs (torch.compile mode reduce-overhead), the memory benchmark (its reversible /
# store time ratio) and the torch.compile check, each phase under its own time limit (8.8
# minutes in all with the defaults below). EACH=1 adds one MNIST epoch per speed option alone
# (3 x T_FAST more).
#
#   bash benchmarks/gpu_check.sh [OUTDIR [DATA]]     # on any machine with a CUDA GPU
#
# OUTDIR (default ./gpu_results) receives gpu_check.log (everything printed) and the
# reports: speed_cuda.md, epoch_metrics.json, epoch_fast_metrics.json (+ epoch_<option>_
# metrics.json with EACH=1), epoch_speed.md (the epochs' seconds and accuracies side by
# side), deep_metrics.json, speed_graphs_cuda.md, memory_cuda.md (+ .png),
# speed_compile_cuda.md. DATA (the second argument, else $DATA, else $STABLENET_DATA, else
# ./data) is the folder holding MNIST/raw/*.gz; without it the MNIST epoch is skipped.
#
# Needs python3 with a CUDA build of torch and pytest; stablenet is used from src/ (no
# install needed). torchdiffeq and torchdyn are timed where installed (optional); a folder
# of extra wheels named by $WHEELS is installed into a temporary directory first. The
# phases' limits (seconds) are the variables T_TESTS ... T_COMPILE below (override them in
# the environment); a phase that hits its limit prints "TIMEOUT" and the script goes on.
set -u
absolute() { mkdir -p "$1" && (cd "$1" && pwd); }
OUTDIR=$(absolute "${1:-gpu_results}")
DATA_DIR=${2:-${DATA:-${STABLENET_DATA:-data}}}
[ -d "$DATA_DIR" ] && DATA_DIR=$(cd "$DATA_DIR" && pwd)
[ -n "${WHEELS:-}" ] && [ -d "$WHEELS" ] && WHEELS=$(cd "$WHEELS" && pwd)
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
T_TESTS=${T_TESTS:-60}
T_EPOCH=${T_EPOCH:-45}
T_FAST=${T_FAST:-70}  # compiling the step for CUDA graphs takes tens of seconds
T_DEEP=${T_DEEP:-50}
T_SPEED=${T_SPEED:-130}
T_GRAPHS=${T_GRAPHS:-60}
T_MEMORY=${T_MEMORY:-75}
T_COMPILE=${T_COMPILE:-40}
LOG="$OUTDIR/gpu_check.log"
: > "$LOG"
if [ -n "${WHEELS:-}" ] && compgen -G "$WHEELS/*.whl" > /dev/null; then  # optional extras
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$WHEELS"/*.whl && export PYTHONPATH=/tmp/site
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
if [ -d "$DATA_DIR/MNIST/raw" ]; then  # end to end: one MNIST epoch (938 steps) on the GPU
    epoch() {  # epoch NAME LIMIT FLAGS...: one MNIST epoch, metrics to OUTDIR/NAME_metrics.json
        local name=$1 limit=$2
        shift 2
        rm -rf "/tmp/$name"
        phase "$name" "$limit" "$PY" -m stablenet train --dataset mnist --epochs 1 \
            --device cuda --data-root "$DATA_DIR" --no-plots --quiet --overwrite \
            --out "/tmp/$name" "$@"
        [ -f "/tmp/$name/metrics.json" ] && cp "/tmp/$name/metrics.json" \
            "$OUTDIR/${name}_metrics.json"
    }
    epoch epoch "$T_EPOCH"
    epoch epoch_fast "$T_FAST" --cuda-graphs --autocast bf16 --channels-last
    if [ "${EACH:-0}" = 1 ]; then  # each option alone
        epoch epoch_graphs "$T_FAST" --cuda-graphs
        epoch epoch_bf16 "$T_FAST" --autocast bf16
        epoch epoch_channels_last "$T_FAST" --channels-last
    fi
    "$PY" - "$OUTDIR" <<'PYEOF' 2>&1 | tee "$OUTDIR/epoch_speed.md" | tee -a "$LOG"
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
print("| MNIST epoch (defaults, --epochs 1) | run seconds | / plain | val accuracy |")
print("|---|---|---|---|")
plain = None
for name in ("epoch", "epoch_fast", "epoch_graphs", "epoch_bf16", "epoch_channels_last"):
    path = out / f"{name}_metrics.json"
    if path.is_file():
        m = json.loads(path.read_text())
        plain = plain or (m["seconds"] if name == "epoch" else None)
        ratio = f"{m['seconds'] / plain:.2f}" if plain else "-"
        print(f"| {name} | {m['seconds']:.1f} | {ratio} | {m['best_val_accuracy']:.4f} |")
PYEOF
    # deep stages in reversible mode: 3 x 256 Verlet layers at T = 2 (h = 1/128), activation
    # memory independent of the depth; one epoch on 10000 images
    rm -rf /tmp/deep
    phase deep "$T_DEEP" "$PY" -m stablenet train --dataset mnist --epochs 1 --depth 256 \
        --reversible --limit-train 10000 --limit-val 2000 --device cuda \
        --data-root "$DATA_DIR" --no-plots --quiet --overwrite --out /tmp/deep
    [ -f /tmp/deep/metrics.json ] && cp /tmp/deep/metrics.json "$OUTDIR/deep_metrics.json"
else
    echo "=== epoch: skipped ($DATA_DIR/MNIST/raw not found)" | tee -a "$LOG"
fi
# the full sweep without rk4 (4 field evaluations a step, for reference only: it took about
# a quarter of the first run's time); regimes c and b first, the GPU's own cases, since a
# phase cut short keeps only the rows it finished
phase speed "$T_SPEED" "$PY" benchmarks/speed.py --device cuda --regimes c b a \
    --exclude rk4 --repeats 5 --warmup 1 --markdown "$OUTDIR/speed_cuda.md"
# regime b (widths 256-512, depth 64) with the block compiled in CUDA graphs, against
# torch.mm's GEMM rate
phase graphs "$T_GRAPHS" "$PY" benchmarks/speed.py --device cuda --regimes b --widths 256 512 \
    --schemes resnet hamiltonian --exclude torchdiffeq tdq-grid torchdyn rk4 --compile \
    --compile-mode reduce-overhead --repeats 3 --warmup 1 \
    --markdown "$OUTDIR/speed_graphs_cuda.md"
phase memory "$T_MEMORY" "$PY" benchmarks/memory.py --device cuda \
    --depths 64 2048 --schemes hamiltonian leapfrog --repeats 2 \
    --markdown "$OUTDIR/memory_cuda.md" --plot "$OUTDIR/memory_cuda.png"
phase compile "$T_COMPILE" "$PY" benchmarks/speed.py --device cuda --regimes a --widths 2 \
    --depths 64 --schemes resnet hamiltonian --compile --markdown "$OUTDIR/speed_compile_cuda.md"

for f in "$OUTDIR"/*.md; do
    [ -e "$f" ] && { echo; echo "##### $f"; cat "$f"; }
done
exit $status
