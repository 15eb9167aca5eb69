"""Long-kernel 1-D convolution through the FFT, for fast fp32 training on CPUs.

The paper's convolutional encoder (§2.3) spends almost all of its arithmetic in
the residual units' 250 -> 250 channel convolutions with 64-sample kernels:
``2 * 250 * 250 * 64`` = 8 MFLOP per output sample and unit. Computed as a
product of spectra in blocks of ``n`` samples (overlap-save), the same
convolution costs ``8 * 250 * 250 * (n / 2 + 1) / (n - 63)`` = 0.5 MFLOP per
output sample for the blocks of ``n = 128`` used here (:func:`block_size`), 16
times less arithmetic; the FFTs themselves are cheap in comparison. On the
development CPU (AVX2) a paper-size training step ran 4-5 times faster
(``benchmarks/README.md``).
:func:`conv1d` computes exactly what :func:`torch.nn.functional.conv1d` computes
(stride 1, no padding, no dilation, one group) up to floating-point rounding,
with its own backward pass, so the module structure and parameters of the
encoders are unchanged.

:func:`conv1d` picks the algorithm per call (see :func:`use_fft`): the FFT for
long kernels on the CPU in fp32/fp64, and PyTorch's direct convolution
elsewhere, including under autocast (bf16 has no CPU FFT, and tensor cores or
AMX run bf16 direct convolutions fast) and on GPUs, whose cuDNN picks its own
algorithms. :func:`conv_algorithm` forces one for benchmarks and tests.
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F

__all__ = ["conv1d", "fft_conv1d", "use_fft", "conv_algorithm", "block_size"]

#: Kernels shorter than this (samples) use the direct convolution: its cost
#: falls with the kernel while the FFT's does not. With 16-sample kernels the
#: FFT was still 1.5-3x faster (forward plus backward, 40 and 250 channels,
#: on the development CPU); shorter kernels were not found to gain.
MIN_FFT_KERNEL = 16
#: ... and so do convolutions of fewer input channels (the encoders' first,
#: single-channel convolutions are faster direct).
MIN_FFT_IN_CHANNELS = 8

_ALGORITHMS = ("auto", "direct", "fft")
_algorithm = "auto"


@contextlib.contextmanager
def conv_algorithm(name: str):
    """Force ``"direct"`` or ``"fft"`` convolutions (or ``"auto"``) within a block.

    Parameters
    ----------
    name : {"auto", "direct", "fft"}
        ``"auto"`` lets :func:`use_fft` decide per call.
    """
    global _algorithm
    if name not in _ALGORITHMS:
        raise ValueError(f"conv algorithm {name!r} is not one of {_ALGORITHMS}.")
    previous, _algorithm = _algorithm, name
    try:
        yield
    finally:
        _algorithm = previous


def use_fft(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether :func:`conv1d` takes the FFT path for these operands."""
    if _algorithm != "auto":
        return _algorithm == "fft"
    return (
        x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
        and weight.dtype == x.dtype
        and not torch.is_autocast_enabled("cpu")
        and weight.shape[-1] >= MIN_FFT_KERNEL
        and weight.shape[1] >= MIN_FFT_IN_CHANNELS
    )


def conv1d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.conv1d(x, weight, bias)`` by whichever algorithm is faster here."""
    if use_fft(x, weight):
        return fft_conv1d(x, weight, bias)
    return F.conv1d(x, weight, bias)


def block_size(kernel_size: int) -> int:
    """FFT length of the overlap-save blocks: the power of two of about two kernels.

    Longer blocks waste less of each block on the kernel's overlap (a block of
    ``n`` samples yields ``n - kernel_size + 1`` outputs), shorter ones give
    the per-frequency matrix products more rows and keep them in cache. On the
    development CPU (AVX2), timing forward plus backward of 40- and
    250-channel convolutions with kernels of 16 and 64 samples on 100- to
    4000-sample inputs, blocks of two kernel lengths (at least 64 samples) were
    the fastest or within noise of it; 512-sample blocks were up to 2x slower.
    """
    return max(64, 1 << math.ceil(math.log2(2 * kernel_size)))


def fft_conv1d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
               n_fft: int | None = None) -> torch.Tensor:
    """``F.conv1d(x, weight, bias)`` (cross-correlation, 'valid') by overlap-save FFT.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, in_channels, n_samples)
    weight : torch.Tensor of shape (out_channels, in_channels, kernel_size)
    bias : torch.Tensor of shape (out_channels,) or None
    n_fft : int or None
        Block (FFT) length; at least twice the kernel. Default: :func:`block_size`.

    Returns
    -------
    torch.Tensor of shape (batch, out_channels, n_samples - kernel_size + 1)
    """
    if x.ndim != 3 or weight.ndim != 3 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"fft_conv1d needs x (B, I, L) and weight (O, I, K), got {tuple(x.shape)} "
                         f"and {tuple(weight.shape)}.")
    kernel_size = weight.shape[-1]
    if x.shape[-1] < kernel_size:
        raise ValueError(f"Input of {x.shape[-1]} samples is shorter than the kernel ({kernel_size}).")
    n_fft = block_size(kernel_size) if n_fft is None else int(n_fft)
    if n_fft < 2 * kernel_size:
        raise ValueError(f"n_fft={n_fft} must be at least twice the kernel size ({kernel_size}).")
    return _FFTConv1d.apply(x, weight, bias, n_fft)


def _blocks(x, n_fft, hop, n_blocks):
    """Overlapping blocks ``(B, C, n_blocks, n_fft)`` of ``x`` starting every ``hop`` samples."""
    total = (n_blocks - 1) * hop + n_fft
    return F.pad(x, (0, total - x.shape[-1])).unfold(-1, n_fft, hop)


def _by_frequency(spectra):
    """``(B, C, n_blocks, F)`` -> ``(F, B * n_blocks, C)``, contiguous for ``bmm``."""
    batch, channels, n_blocks, n_freqs = spectra.shape
    return spectra.permute(3, 0, 2, 1).reshape(n_freqs, batch * n_blocks, channels)


class _FFTConv1d(torch.autograd.Function):
    """Overlap-save FFT correlation with an explicit backward (also by FFT).

    Forward, per frequency ``f`` of each block: ``Y_f = X_f @ conj(W_f).T``.
    Backward: the input's gradient is the *convolution* of the output gradient
    with the kernel (``G_f @ W_f``, blocks overlap-added) and the kernel's
    gradient the correlation of the input with the output gradient
    (``conj(G_f).T @ X_f``, summed over blocks, first ``kernel_size`` lags).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, n_fft):
        batch, _, n_samples = x.shape
        out_channels, _, kernel_size = weight.shape
        n_out = n_samples - kernel_size + 1
        hop = n_fft - kernel_size + 1
        n_blocks = -(-n_out // hop)
        spectra = _by_frequency(torch.fft.rfft(_blocks(x, n_fft, hop, n_blocks), dim=-1))
        kernel = torch.fft.rfft(weight, n=n_fft, dim=-1).permute(2, 1, 0).conj_physical()  # (F, I, O)
        y = torch.bmm(spectra, kernel)  # (F, B * n_blocks, O)
        y = y.reshape(-1, batch, n_blocks, out_channels).permute(1, 3, 2, 0)
        y = torch.fft.irfft(y, n=n_fft, dim=-1)[..., :hop]
        y = y.reshape(batch, out_channels, n_blocks * hop)[..., :n_out]
        if bias is not None:
            y = y + bias.unsqueeze(-1)
        ctx.save_for_backward(x, weight)
        ctx.geometry = (n_fft, hop, n_blocks, bias is not None)
        return y.contiguous()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y):
        x, weight = ctx.saved_tensors
        n_fft, hop, n_blocks, has_bias = ctx.geometry
        batch, in_channels, n_samples = x.shape
        out_channels, _, kernel_size = weight.shape
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        grad_x = grad_w = grad_b = None
        # Each output block's gradient, zero-padded to n_fft, in the frequency domain.
        g = F.pad(grad_y, (0, n_blocks * hop - grad_y.shape[-1]))
        g = g.reshape(batch, out_channels, n_blocks, hop)
        g_spectra = _by_frequency(torch.fft.rfft(g, n=n_fft, dim=-1))  # (F, M, O)
        if need_x:
            kernel = torch.fft.rfft(weight, n=n_fft, dim=-1).permute(2, 0, 1)  # (F, O, I)
            gx = torch.bmm(g_spectra, kernel).reshape(-1, batch, n_blocks, in_channels)
            gx = torch.fft.irfft(gx.permute(1, 3, 2, 0), n=n_fft, dim=-1)  # (B, I, n_blocks, n_fft)
            # Overlap-add: block j covers samples j * hop ... j * hop + n_fft - 1, and
            # its tail of kernel_size - 1 <= hop samples spills into block j + 1.
            grad_x = gx.new_zeros(batch, in_channels, n_blocks + 1, hop)
            grad_x[:, :, :n_blocks] += gx[..., :hop]
            grad_x[:, :, 1:, : kernel_size - 1] += gx[..., hop:]
            grad_x = grad_x.reshape(batch, in_channels, -1)[..., :n_samples]
        if need_w:
            spectra = _by_frequency(torch.fft.rfft(_blocks(x, n_fft, hop, n_blocks), dim=-1))  # (F, M, I)
            gw = torch.bmm(g_spectra.transpose(1, 2).conj_physical(), spectra)  # (F, O, I)
            grad_w = torch.fft.irfft(gw.permute(1, 2, 0), n=n_fft, dim=-1)[..., :kernel_size]
            grad_w = grad_w.contiguous()
        if need_b and has_bias:
            grad_b = grad_y.sum(dim=(0, 2))
        return grad_x, grad_w, grad_b, None
