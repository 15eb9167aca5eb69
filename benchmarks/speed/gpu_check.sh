#!/usr/bin/env bash
# One prepared GPU check: the test suite with CUDA visible, then every benchmark on --device cuda.
#
# Usage (from anywhere): bash benchmarks/speed/gpu_check.sh
#   OUT=dir          write the logs there (default: benchmarks/gpu_logs): summary.txt lists every step,
#                    steps.log holds every step's whole log (two files: a lent GPU machine returns 8 at most)
#   GPU_CHECK_BUDGET_S=470   total seconds for all steps (default 470: about 8 minutes); each step's
#                    time limit is cut to what is left, and steps that would get under 20 s are skipped
#   WHEELS=dir       wheels to install first (pip --no-index --target /tmp/site), for machines without
#                    mne/braindecode/skorch; see benchmarks/README.md for how to make them
#   PYTHON=python3   the interpreter (default: .venv/bin/python if present, else python3)
#
# Estimators default to device="auto", which is CUDA when one is visible, so the plain test suite
# exercises the GPU; tests marked "needs CUDA" (sync counts, CUDA vs CPU features, bf16 on CUDA,
# FFT convolution on CUDA) run only there. Steps are ordered by how much we need their figures:
# the last (torch.compile timings) is the one the budget cuts first.
set -uo pipefail
cd "$(dirname "$0")/../.."
LOG="${OUT:-benchmarks/gpu_logs}"
WORK="${WORK:-/tmp/skseqclr_gpu_check}"
BUDGET="${GPU_CHECK_BUDGET_S:-470}"
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if [ -n "${WHEELS:-}" ]; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl \
        && export PYTHONPATH="/tmp/site:$PYTHONPATH"
fi
TAIL_LINES=40
. benchmarks/speed/_gpu_steps.sh
gpu_steps_init

step environment 60 "$PYTHON" -c "
import importlib, torch
print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'available', torch.cuda.is_available())
if torch.cuda.is_available():
    print('device', torch.cuda.get_device_name(0), 'bf16', torch.cuda.is_bf16_supported())
print('TF32: cudnn', torch.backends.cudnn.allow_tf32, 'matmul', torch.backends.cuda.matmul.allow_tf32)
for name in ('skseqclr', 'sklearn', 'mne', 'braindecode', 'skorch', 'torchaudio', 'pyriemann', 'pyarrow'):
    try:
        module = importlib.import_module(name); print(name, getattr(module, '__version__', '?'))
    except Exception as error:
        print(name, 'MISSING:', type(error).__name__, error)
"
step check_sync 60 "$PYTHON" benchmarks/speed/check_sync.py --device cuda --where --precision auto
step bench_pretrain 150 "$PYTHON" benchmarks/speed/pretrain.py --device cuda --batch 128 --steps 3 --force-fft
# Test modules that need a package missing here fail to import; the others still run.
# pytest-xdist, where installed, runs them in 4 processes (they share the one GPU).
XDIST=(); "$PYTHON" -c "import xdist" 2>/dev/null && XDIST=(-n 4)
step tests 180 "$PYTHON" -m pytest -q -rs -p no:cacheprovider --continue-on-collection-errors --durations=10 \
    ${XDIST[@]+"${XDIST[@]}"} tests
step bench_augment 45 "$PYTHON" benchmarks/speed/augment.py --device cuda --windows 16
step bench_transform 60 "$PYTHON" benchmarks/speed/transform.py --device cuda --windows 128
step bench_memory 60 "$PYTHON" benchmarks/speed/memory.py --device cuda --quick
step bench_pretrain_compile 150 "$PYTHON" benchmarks/speed/pretrain.py --device cuda --batch 128 --steps 3 \
    --encoders conv --sizes paper --compile
echo "== done in ${SECONDS}s; logs in $LOG"
cat "$SUMMARY"
