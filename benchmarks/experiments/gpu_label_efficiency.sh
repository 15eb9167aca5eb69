#!/usr/bin/env bash
# Label efficiency on a GPU: the package's true defaults (the paper-size encoder, n_epochs=10, feature_channels="auto")
# pretrained, encoded and scored on EEGMAT, seed after seed. The GPU pretrains and encodes; the probes (CPU
# work) run on the GPU machine's own cores as soon as a seed's features exist.
#
# 1. Where MNE and ../shared/data/eegmat are (the development machine):
#      python benchmarks/experiments/label_efficiency.py --export-windows .gpu/eegmat.npz
#    feature_channels="auto" places the electrodes with MNE's standard montage; the GPU image has no MNE, so
#    its wheels travel too, fetched where pip reaches PyPI (for the GPU image's Python 3.12):
#      python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#          -d .whl mne==1.13.2 decorator==5.3.1 pooch==1.9.0 platformdirs==4.14.9
# 2. On the GPU machine (torch, scikit-learn, safetensors, tqdm are there; WHEELS adds MNE):
#      WINDOWS=.gpu/eegmat.npz WHEELS=.whl OUT=dir bash benchmarks/experiments/gpu_label_efficiency.sh
#    Seeds take the GPU one after another (label_efficiency.py --save-features: pretrain and encode); each
#    seed's probes then run in parallel on the CPU cores while the next seed trains (best C and one-SE
#    inductively, and for the defaults best C per subject; 100% and 10% of the labels, ten labelled subsets).
#    What comes back (a lent GPU machine returns 8 files at most):
#      OUT/summary.txt   every step's status;  OUT/steps.log  every step's whole log
#      OUT/scores.tar    the probes' JSON reports (<run>_seed<k>_<probe>.json)
#      OUT/<run>_seed<k>.npz  the seed's features in float16 (about 6 MB), to score again here if a probe
#                        did not finish: label_efficiency.py --load-features (after renaming it
#                        features_seed<k>.npz in a folder of its own)
#    GPU_BUDGET_S (default 520): total seconds; every process is cut at the budget's end.
#    DRY_RUN=1: a rehearsal on any machine (DEVICE=cpu): seed 0 of each run, the small encoder for 2 steps,
#    one labelled subset (with WINDOWS a few subjects' windows, it takes a few minutes on two cores).
# 3. Back here: python benchmarks/experiments/label_efficiency.py --combine <the JSON reports>
set -uo pipefail
cd "$(dirname "$0")/../.."
LOG="${OUT:-benchmarks/gpu_logs}"
WORK="${WORK:-/tmp/skseqclr_gpu}"
WINDOWS="${WINDOWS:-.gpu/eegmat.npz}"
BUDGET="${GPU_BUDGET_S:-520}"
PYTHON="${PYTHON:-python3}"
DEVICE="${DEVICE:-cuda}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if [ -n "${WHEELS:-}" ]; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        "$WHEELS"/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
TAIL_LINES=12
. benchmarks/speed/_gpu_steps.sh
gpu_steps_init
mkdir -p "$WORK/scores"

step environment 60 bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc; $PYTHON -c \
'import torch, sklearn, mne; print(\"torch\", torch.__version__, \"CUDA\", torch.version.cuda, torch.cuda.is_available(), \
torch.cuda.get_device_name(0)); print(\"sklearn\", sklearn.__version__, \"mne\", mne.__version__); \
from skseqclr.recombination import neighbour_pairs; print(len(neighbour_pairs([\"Fp1\",\"Fp2\",\"F3\",\"F4\",\"Cz\"])), \"pairs\")'"

# label:arguments; each its own process (per subject only for the default: the figures wanted first)
PROBES=("best:best --normalization none" "one_se:one_se --normalization none")
DEFAULT_PROBES=("${PROBES[@]}" "per_subject:best --normalization group")
DRAWS=10 REHEARSAL=() DEFAULT_SEEDS="2 3" SHORT_SEEDS="2"
[ -n "${DRY_RUN:-}" ] && DRAWS=1 REHEARSAL=(--param model_size='"small"' --param max_steps=2) DEFAULT_SEEDS=0 SHORT_SEEDS=0

pretrain_encode() {  # pretrain_encode RUN SEED BENCH_ARGS...: one seed pretrained and encoded, alone on the GPU
    local run=$1 seed=$2; shift 2
    local name="${run}_seed$seed" left=$((BUDGET - SECONDS)) start=$SECONDS
    [ "$left" -lt 20 ] && { echo "$name: skipped (budget spent at ${SECONDS}s)" | tee -a "$SUMMARY"; return 1; }
    timeout --kill-after=5 "$left" env OMP_NUM_THREADS=4 MKL_NUM_THREADS=4 "$PYTHON" benchmarks/experiments/label_efficiency.py \
        --windows "$WINDOWS" --device "$DEVICE" --threads 4 --save-features "$WORK/$name" --seeds "$seed" "$@" \
        ${REHEARSAL[@]+"${REHEARSAL[@]}"} > "$WORK/$name.log" 2>&1
    report "$name" $? $((SECONDS - start)) "$left" "pretrain+encode: $*"
    [ -f "$WORK/$name/features_seed$seed.npz" ] || return 1
    # float16 copies come back (about 6 MB each; 8 files at most, so at most 5 runs)
    "$PYTHON" -c "
import numpy as np, sys
data = dict(np.load(sys.argv[1]))
np.savez_compressed(sys.argv[2], **{k: v.astype(np.float16) if v.dtype == np.float32 and v.ndim == 2 else v
                                    for k, v in data.items()})" "$WORK/$name/features_seed$seed.npz" "$LOG/$name.npz"
}

score() {  # score RUN SEED: every probe of one seed's features, each its own single-threaded process
    local run=$1 seed=$2 probe label pids=() probes=("${PROBES[@]}")
    local name="${run}_seed$seed"
    [ "$run" = paper_default ] && probes=("${DEFAULT_PROBES[@]}")
    for probe in "${probes[@]}"; do
        label=${probe%%:*} probe=${probe#*:}
        ( left=$((BUDGET - SECONDS)); start=$SECONDS
          timeout --kill-after=5 "$left" env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
              "$PYTHON" benchmarks/experiments/label_efficiency.py --windows "$WINDOWS" --threads 1 \
              --load-features "$WORK/$name" --seeds "$seed" --methods probe --fractions 1.0 0.1 --label-draws $DRAWS \
              --probe-selection $probe --output "$WORK/scores/${name}_$label.json" \
              > "$WORK/${name}_$label.log" 2>&1
          report "${name}_$label" $? $((SECONDS - start)) "$left" "probe $probe" ) &
        pids+=($!)
    done
    wait "${pids[@]}"
}

# One paper-size run saturates the H200 (0.32 s per step of 256 single channels in fp32, alone or six at
# once: measured 2026-12-04, benchmark page "On a GPU"), so runs take the GPU one after another; each
# seed's probes run meanwhile on the CPU cores.
run_seed() {  # run_seed RUN SEED BENCH_ARGS...: pretrain and encode now, score in the background
    if pretrain_encode "$@"; then score "$1" "$2" & fi
}

# The package's defaults: model_size="paper", n_epochs=10 (220 steps on the 1439 training windows),
# feature_channels="auto" (63 channels on EEGMAT), fp32 (precision="auto" on CUDA). Seeds 0 and 1 were
# measured on 2026-12-04; next, seeds 2 and 3, then the 100-step run's seed 2.
for seed in $DEFAULT_SEEDS; do run_seed paper_default $seed --param n_epochs=10 --param max_steps=null; done
for seed in $SHORT_SEEDS; do run_seed paper_100 $seed --steps 100; done
wait

tar -cf "$LOG/scores.tar" -C "$WORK" scores
echo "== done in ${SECONDS}s; logs in $LOG"
cat "$SUMMARY"
