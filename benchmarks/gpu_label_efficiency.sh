#!/usr/bin/env bash
# Issue 8 on a GPU: does longer or paper-size SeqCLR pretraining pay off on EEGMAT? The GPU pretrains and
# encodes; the probe scoring (CPU work) runs afterwards on any machine, from the saved features.
#
# 1. Where MNE and ../shared/data/eegmat are (the development machine):
#      python benchmarks/bench_label_efficiency.py --export-windows .gpu/eegmat.npz
# 2. On the GPU machine (needs torch, scikit-learn, safetensors, tqdm; not MNE or braindecode):
#      WINDOWS=.gpu/eegmat.npz OUT=dir bash benchmarks/gpu_label_efficiency.sh
#    Each run's features come back as OUT/<run>.tar (<run>/features_seed<k>.npz); every step's log is
#    appended to OUT/steps.log and its status to OUT/summary.txt (few files: a lent GPU machine returns 8).
#    Each seed is its own process, all seeds of a phase at once on the one GPU (the small encoder's
#    recurrent projector leaves most of it idle). GPU_BUDGET_S (default 540): total seconds; each phase's
#    limit is cut to what is left, a phase that would get under 20 s is skipped; a run cut short keeps
#    the seeds that finished.
# 3. Back here, per run: tar -xf <run>.tar -C /tmp/gpu && python benchmarks/bench_label_efficiency.py \
#      --windows .gpu/eegmat.npz --load-features /tmp/gpu/<run> --seeds 0 1 2 --label-draws 10
set -uo pipefail
cd "$(dirname "$0")/.."
LOG="${OUT:-benchmarks/gpu_logs}"
WORK="${WORK:-/tmp/skseqclr_gpu}"
WINDOWS="${WINDOWS:-.gpu/eegmat.npz}"
BUDGET="${GPU_BUDGET_S:-540}"
PYTHON="${PYTHON:-python3}"
DEVICE="${DEVICE:-cuda}"
mkdir -p "$LOG" "$WORK"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
SUMMARY="$LOG/summary.txt"
: > "$SUMMARY"
: > "$LOG/steps.log"

limit_for() {  # limit_for CAP: the cap, cut to the budget left; empty when under 20 s are left
    local left=$((BUDGET - SECONDS)) cap=$1
    local limit=$(( cap < left ? cap : left ))
    [ "$limit" -ge 20 ] && echo "$limit"
}

report() {  # report NAME RC SECONDS COMMAND...: status line in the summary, whole log in steps.log
    local name=$1 rc=$2 took=$3; shift 3
    local status="rc=$rc"; [ "$rc" -eq 124 ] && status="TIMED OUT"
    echo "$name: $status, ${took}s" | tee -a "$SUMMARY"
    { echo "===== $name: $status, ${took}s: $*"; cat "$WORK/$name.log"; } >> "$LOG/steps.log"
    tail -n 8 "$WORK/$name.log"
}

step() {  # step NAME CAP COMMAND...
    local name=$1 limit; limit=$(limit_for "$2"); shift 2
    if [ -z "$limit" ]; then echo "$name: skipped (budget spent at ${SECONDS}s)" | tee -a "$SUMMARY"; return; fi
    echo "== $name (limit ${limit}s): $*"
    local start=$SECONDS
    timeout --kill-after=5 "$limit" "$@" > "$WORK/$name.log" 2>&1
    report "$name" $? $((SECONDS - start)) "$@"
}

PHASE_LIMIT="" PHASE_START=0 JOBS=() RUNS=()
phase() {  # phase CAP: the following launches share this limit
    PHASE_LIMIT=$(limit_for "$1") PHASE_START=$SECONDS JOBS=() RUNS=()
    [ -z "$PHASE_LIMIT" ] && echo "phase: skipped (budget spent at ${SECONDS}s)" | tee -a "$SUMMARY"
}

launch() {  # launch RUN SEED BENCH_ARGS...: one seed of one run, in the background
    local run=$1 seed=$2; shift 2
    [ -z "$PHASE_LIMIT" ] && return
    local command=("$PYTHON" benchmarks/bench_label_efficiency.py --windows "$WINDOWS" --device "$DEVICE"
                   --save-features "$WORK/$run" --seeds "$seed" "$@")
    echo "== $run seed $seed (limit ${PHASE_LIMIT}s): ${command[*]}"
    timeout --kill-after=5 "$PHASE_LIMIT" "${command[@]}" > "$WORK/$run.seed$seed.log" 2>&1 &
    JOBS+=("$!:$run.seed$seed:${command[*]}")
    [[ " ${RUNS[*]} " == *" $run "* ]] || RUNS+=("$run")
}

finish_phase() {  # wait for the phase's processes, report each, tar each run's features
    local job pid name command
    for job in ${JOBS[@]+"${JOBS[@]}"}; do
        pid=${job%%:*} name=${job#*:} command=${name#*:} name=${name%%:*}
        wait "$pid"
        report "$name" $? $((SECONDS - PHASE_START)) "$command"
    done
    for run in ${RUNS[@]+"${RUNS[@]}"}; do
        [ -d "$WORK/$run" ] && tar -cf "$LOG/$run.tar" -C "$WORK" "$run"
    done
}

step environment 30 bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; $PYTHON -c \
'import torch, sklearn; print(\"torch\", torch.__version__, \"CUDA\", torch.version.cuda, torch.cuda.is_available(), \
torch.cuda.get_device_name(0)); print(\"sklearn\", sklearn.__version__)'"

phase 240
# The default configuration: the paper-size encoder, n_epochs=10 (220 steps on EEGMAT's 1439 windows).
for seed in 0 1 2; do launch paper_default $seed --param n_epochs=10 --param max_steps=null; done
# The docs' configuration (small encoder, 100 steps), as on the CPU: do GPU features score like CPU ones?
launch small_100 0 --steps 100 --param model_size='"small"'
finish_phase

# The tests that need CUDA (bf16 autocast, CUDA against CPU features, augmentations on the device).
step cuda_tests 60 "$PYTHON" -m pytest -q -rs -p no:cacheprovider -k cuda tests/test_performance.py \
    tests/test_precision.py tests/test_augmentations.py
# Training-step throughput and achieved TFLOP/s of the convolutional encoder (issue 6), alone on the GPU.
step bench_pretrain 60 "$PYTHON" benchmarks/bench_pretrain.py --device cuda --batch 256 --steps 3 --length 512 \
    --encoders conv --sizes paper,small

phase 400
# Twenty times the docs' pretraining of the small encoder, and the paper-size encoder for 1000 steps.
for seed in 0 1 2; do launch small_2000 $seed --steps 2000 --param model_size='"small"'; done
launch paper_1000 0 --steps 1000
finish_phase

echo "== done in ${SECONDS}s; logs in $LOG"
cat "$SUMMARY"
