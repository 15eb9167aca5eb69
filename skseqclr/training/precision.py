"""Numerical precision of training: ``"auto"`` resolved per device, and the matching autocast context."""

from __future__ import annotations

import contextlib

import torch

__all__ = ["resolve_precision", "cpu_has_native_bf16", "autocast"]


def resolve_precision(precision: str, device: torch.device) -> str:
    """Turn ``"auto"`` into ``"bf16"`` or ``"fp32"`` for ``device``.

    ``"auto"`` picks bf16 on CPUs with native bf16 matrix instructions (AMX or
    AVX512-BF16), where it is several times faster than fp32; elsewhere on CPUs
    bf16 is emulated and far slower, so fp32. On CUDA ``"auto"`` is fp32, whose
    convolutions cuDNN runs in TF32 (PyTorch's default,
    ``torch.backends.cudnn.allow_tf32``): bf16 autocast made the convolutional
    encoder's training step slower there, not faster (measurements in
    :doc:`/user_guide/precision`).

    Parameters
    ----------
    precision : {"auto", "fp32", "bf16"}
        The requested precision.
    device : torch.device
        The training device.

    Returns
    -------
    str
        ``"fp32"`` or ``"bf16"``.
    """
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision={precision!r} is not one of 'auto', 'fp32', 'bf16'.")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        # TF32 convolutions beat bf16 autocast for this encoder (docs/user_guide/precision.rst)
        return "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return "fp32"


def cpu_has_native_bf16() -> bool:
    """True if this CPU has AMX-BF16 or AVX512-BF16 instructions."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def autocast(device: torch.device, precision: str):
    """An autocast context for ``precision`` (a no-op for fp32)."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
