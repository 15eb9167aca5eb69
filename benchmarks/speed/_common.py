"""Helpers shared by the speed and memory benchmarks: machine description, timing, matmul peak, tables.

Benchmarks print figures; they assert nothing. Absolute times on a shared
machine are noisy, so every script reports *ratios measured in the same run*
next to the absolute figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch


def add_common_arguments(parser: argparse.ArgumentParser, default_length: int = 4000) -> None:
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default: cpu)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's default); 1 is steadier on a shared machine")
    parser.add_argument("--quick", action="store_true", help="fewer cases and repetitions")
    parser.add_argument("--length", type=int, default=default_length,
                        help=f"window length in samples (default {default_length} = 20 s at 200 Hz, the paper's)")
    parser.add_argument("--cudnn-benchmark", action="store_true",
                        help="let cuDNN time its algorithms for each new shape and keep the fastest "
                             "(torch.backends.cudnn.benchmark; the first step of each shape is slower)")


def setup(args) -> torch.device:
    """Apply ``--threads``, check ``--device`` and print the machine line."""
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked for, but torch sees no CUDA device.")
    if getattr(args, "cudnn_benchmark", False):
        torch.backends.cudnn.benchmark = True
    print(describe_machine(device))
    return device


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_vector_features() -> list[str]:
    """The CPU's vector/matrix extensions that matter for fp32 and bf16 speed."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return []
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    return [flag for flag in wanted if flag in flags]


def native_bf16(device: torch.device) -> bool:
    """Whether bf16 matrix products run in hardware on ``device``."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    from skseqclr.training.precision import cpu_has_native_bf16

    return cpu_has_native_bf16()


def describe_machine(device: torch.device) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return (f"# device: {name} (CUDA {torch.version.cuda}), torch {torch.__version__}; TF32 allowed in "
                f"convolutions: {torch.backends.cudnn.allow_tf32}, in matmuls: "
                f"{torch.backends.cuda.matmul.allow_tf32} (the fp32 peak below is measured without TF32 "
                f"unless allowed); cuDNN benchmark mode: {torch.backends.cudnn.benchmark}")
    features = ", ".join(cpu_vector_features()) or "no AVX2"
    bf16 = "native bf16" if native_bf16(device) else "no native bf16 (bf16 is emulated)"
    return (f"# device: CPU {cpu_model()} [{features}; {bf16}], {os.cpu_count()} logical cores, "
            f"torch threads {torch.get_num_threads()}, torch {torch.__version__}, "
            f"load average {os.getloadavg()[0]:.1f}")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn, device: torch.device, repeats: int = 3, warmup: int = 1) -> float:
    """Best wall-clock seconds of ``repeats`` calls of ``fn`` after ``warmup`` calls.

    The minimum is the figure least disturbed by other processes on a shared machine.
    """
    for _ in range(warmup):
        fn()
    synchronize(device)
    best = float("inf")
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        fn()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def matmul_peak(device: torch.device, dtype: torch.dtype, budget_s: float = 1.0,
                max_size: int | None = None) -> tuple[float, int]:
    """Dense square matrix-product FLOP/s on ``device`` in ``dtype``: (best FLOP/s, size used).

    The size doubles from 256 until one product takes 50 ms (or a cap:
    4096 on CPUs, 16384 on GPUs), so emulated dtypes stay quick to measure.
    """
    cap = max_size or (16384 if device.type == "cuda" else 4096)
    size, best = 256, 0.0
    while True:
        a = torch.randn(size, size, device=device, dtype=dtype)
        b = torch.randn(size, size, device=device, dtype=dtype)
        seconds = time_call(lambda: a @ b, device, repeats=1, warmup=1)
        best = max(best, 2 * size ** 3 / seconds)
        if seconds > 0.05 or size >= cap:
            break
        size *= 2
    repeats = max(1, min(20, int(budget_s / seconds)))
    seconds = time_call(lambda: a @ b, device, repeats=repeats, warmup=0)
    return max(best, 2 * size ** 3 / seconds), size


def si(value: float, unit: str = "") -> str:
    """``12345678`` -> ``'12.3 M'`` (plus ``unit``)."""
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}".rstrip()


def print_table(rows: list[dict], columns: list[str] | None = None) -> None:
    """A compact Markdown table (so the output pastes into README/docs as is)."""
    if not rows:
        print("(no rows)")
        return
    columns = columns or list(rows[0])
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |")
