"""SeqCLR's channel encoders (Mohsenvand et al. 2020, §2.3 and the architecture figure).

Both encoders map **one** EEG channel of any sufficient length ``T`` to **4
feature channels of the same length** ``T``. Being channel-wise and
length-preserving is what lets one pretrained encoder serve recordings with
any montage, channel count and window length (§2.3).

* :class:`ConvEncoder`: three parallel reflection-padded convolutions
  (kernels 128, 64, 16 with 100, 100, 50 filters), four residual units
  (pointwise dense 250 -> ReLU -> BatchNorm -> reflection pad -> Conv1d kernel
  64, plus the skip), then ReLU -> BatchNorm -> pad -> Conv1d kernel 64 to 4
  channels.
* :class:`RecurrentEncoder`: a multi-scale input (GRU 256 on the raw channel,
  GRU 128 on the channel downsampled by 2, GRU 64 on it downsampled by 4, the
  coarse outputs upsampled back), dense 448 -> 128 -> ReLU, two recurrent
  residual units (LayerNorm -> GRU 128, plus the skip), dense to 4 channels.

:data:`ENCODER_SIZES` holds the paper's sizes (``"paper"``) and a narrow
variant with shorter kernels for CPUs and tests (``"small"``); every size is
also a keyword argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import Interval, Satisfies, is_positive_int, validate_parameter_constraints
from .fft_conv import conv1d

__all__ = [
    "ENCODER_SIZES",
    "ConvEncoder",
    "RecurrentEncoder",
    "make_encoder",
    "downsample",
    "upsample",
]

#: Architecture sizes per ``model_size``; ``"paper"`` is the paper's figure.
ENCODER_SIZES: dict[str, dict[str, dict]] = {
    "conv": {
        "paper": dict(branch_kernels=(128, 64, 16), branch_channels=(100, 100, 50),
                      n_residual=4, residual_kernel=64, output_kernel=64),
        "small": dict(branch_kernels=(32, 16, 8), branch_channels=(16, 16, 8),
                      n_residual=2, residual_kernel=16, output_kernel=16),
    },
    "recurrent": {
        "paper": dict(gru_sizes=(256, 128, 64), dense_size=128, n_residual=2),
        "small": dict(gru_sizes=(32, 16, 8), dense_size=32, n_residual=2),
    },
}

N_FEATURE_CHANNELS = 4


def downsample(x: torch.Tensor, times: int = 1) -> torch.Tensor:
    """Halve the length of ``(batch, channels, time)`` ``times`` times by averaging pairs.

    An odd length keeps its last sample on its own (``ceil(T / 2)`` samples), so
    every length down to one sample works.
    """
    for _ in range(times):
        x = F.avg_pool1d(x, kernel_size=2, stride=2, ceil_mode=True)
    return x


def upsample(x: torch.Tensor, length: int) -> torch.Tensor:
    """Linearly interpolate ``(batch, channels, time)`` back to ``length`` samples."""
    return F.interpolate(x, size=length, mode="linear", align_corners=False)


class SamePadConv1d(nn.Module):
    """Reflection padding then ``Conv1d``, so the output keeps the input's length.

    For an even kernel ``k`` the padding is ``k/2 - 1`` samples before and
    ``k/2`` after. Reflection needs the padding to be shorter than the input,
    so inputs must have more than ``k // 2`` samples.
    """

    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.kernel_size = int(kernel_size)
        self.padding = ((self.kernel_size - 1) // 2, self.kernel_size // 2)
        self.conv = nn.Conv1d(in_channels, out_channels, self.kernel_size)

    def forward(self, x):
        # Same result as self.conv(...); long kernels go through the FFT on CPUs (see fft_conv).
        return conv1d(F.pad(x, self.padding, mode="reflect"), self.conv.weight, self.conv.bias)


class ConvResidualUnit(nn.Module):
    """Dense -> ReLU -> BatchNorm -> reflection pad -> Conv1d, plus the skip."""

    def __init__(self, width, kernel_size):
        super().__init__()
        self.dense = nn.Conv1d(width, width, 1)
        self.norm = nn.BatchNorm1d(width)
        self.conv = SamePadConv1d(width, width, kernel_size)

    def forward(self, x):
        return x + self.conv(self.norm(F.relu(self.dense(x))))


class ConvEncoder(nn.Module):
    """Convolutional SeqCLR encoder: one channel in, 4 channels of the same length out.

    Parameters
    ----------
    branch_kernels : tuple of int
        Kernel sizes (samples) of the parallel input convolutions.
    branch_channels : tuple of int
        Filters of each input convolution; their sum is the encoder's width.
    n_residual : int
        Residual units.
    residual_kernel : int
        Kernel size (samples) of each residual unit's convolution.
    output_kernel : int
        Kernel size (samples) of the output convolution.
    n_outputs : int
        Feature channels produced per input channel (4 in the paper).

    Notes
    -----
    Input ``(batch, time)`` or ``(batch, 1, time)``; output ``(batch, n_outputs,
    time)``. The minimum length is :attr:`min_length` samples (65 at the
    paper's sizes), set by the reflection padding of the longest kernel.
    """

    def __init__(self, branch_kernels=(128, 64, 16), branch_channels=(100, 100, 50),
                 n_residual=4, residual_kernel=64, output_kernel=64,
                 n_outputs=N_FEATURE_CHANNELS):
        super().__init__()
        if len(branch_kernels) != len(branch_channels):
            raise ValueError(
                f"branch_kernels {tuple(branch_kernels)} and branch_channels "
                f"{tuple(branch_channels)} must have the same length."
            )
        width = int(sum(branch_channels))
        self.branches = nn.ModuleList(
            SamePadConv1d(1, c, k) for k, c in zip(branch_kernels, branch_channels)
        )
        self.residual = nn.Sequential(*(ConvResidualUnit(width, residual_kernel) for _ in range(n_residual)))
        self.output_norm = nn.BatchNorm1d(width)
        self.output = SamePadConv1d(width, n_outputs, output_kernel)
        self.n_outputs = n_outputs
        self.min_length = max([*branch_kernels, residual_kernel, output_kernel]) // 2 + 1

    def forward(self, x):
        x = _as_single_channel(x)
        x = torch.cat([branch(x) for branch in self.branches], dim=1)
        x = self.residual(x)
        return self.output(self.output_norm(F.relu(x)))


class RecurrentResidualUnit(nn.Module):
    """LayerNorm -> GRU, plus the skip (on ``(batch, time, features)``)."""

    def __init__(self, size):
        super().__init__()
        self.norm = nn.LayerNorm(size)
        self.gru = nn.GRU(size, size, batch_first=True)

    def forward(self, x):
        return x + self.gru(self.norm(x))[0]


class RecurrentEncoder(nn.Module):
    """Recurrent SeqCLR encoder: one channel in, 4 channels of the same length out.

    Parameters
    ----------
    gru_sizes : tuple of 3 int
        Hidden sizes of the GRUs on the channel at full rate, downsampled by 2
        and downsampled by 4.
    dense_size : int
        Width after the first dense layer and of the residual GRUs.
    n_residual : int
        Recurrent residual units.
    n_outputs : int
        Feature channels per input channel (4 in the paper).

    Notes
    -----
    Downsampling averages pairs of samples; upsampling interpolates linearly
    back to the exact input length, so odd lengths work. Any length of at
    least 2 samples is accepted (:attr:`min_length`).
    """

    def __init__(self, gru_sizes=(256, 128, 64), dense_size=128, n_residual=2,
                 n_outputs=N_FEATURE_CHANNELS):
        super().__init__()
        if len(gru_sizes) != 3:
            raise ValueError(f"gru_sizes needs 3 sizes (full, /2, /4 rate), got {tuple(gru_sizes)}.")
        self.scales = nn.ModuleList(nn.GRU(1, size, batch_first=True) for size in gru_sizes)
        self.dense = nn.Linear(sum(gru_sizes), dense_size)
        self.residual = nn.Sequential(*(RecurrentResidualUnit(dense_size) for _ in range(n_residual)))
        self.output = nn.Linear(dense_size, n_outputs)
        self.n_outputs = n_outputs
        self.min_length = 2

    def forward(self, x):
        x = _as_single_channel(x)
        length = x.shape[-1]
        multi_scale = []
        for halvings, gru in enumerate(self.scales):
            coarse = downsample(x, halvings)
            out = gru(coarse.transpose(1, 2))[0].transpose(1, 2)
            multi_scale.append(upsample(out, length) if halvings else out)
        h = F.relu(self.dense(torch.cat(multi_scale, dim=1).transpose(1, 2)))
        h = self.residual(h)
        return self.output(h).transpose(1, 2)


def _as_single_channel(x):
    if x.ndim == 2:
        return x.unsqueeze(1)
    if x.ndim != 3 or x.shape[1] != 1:
        raise ValueError(f"The encoder takes (batch, time) or (batch, 1, time) input, got {tuple(x.shape)}.")
    return x


_ENCODER_CLASSES = {"conv": ConvEncoder, "recurrent": RecurrentEncoder}


def _sizes(count=None):
    """A sequence of ``count`` (any number if None, at least one) positive integers."""
    def check(value):
        return (isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0
                and (count is None or len(value) == count) and all(is_positive_int(v) for v in value))
    what = "positive integers" if count is None else f"{count} positive integers"
    return Satisfies(check, f"a tuple of {what}")


_POSITIVE = Interval(Integral, 1)
_NON_NEGATIVE = Interval(Integral, 0)

#: What each size of :data:`ENCODER_SIZES` may be (``n_residual`` may be 0: no residual units).
ENCODER_SIZE_CONSTRAINTS: dict[str, dict[str, list]] = {
    "conv": dict(branch_kernels=[_sizes()], branch_channels=[_sizes()], n_residual=[_NON_NEGATIVE],
                 residual_kernel=[_POSITIVE], output_kernel=[_POSITIVE], n_outputs=[_POSITIVE]),
    "recurrent": dict(gru_sizes=[_sizes(3)], dense_size=[_POSITIVE], n_residual=[_NON_NEGATIVE],
                      n_outputs=[_POSITIVE]),
}


def encoder_config(kind: str = "conv", model_size: str = "paper", **overrides) -> dict:
    """The keyword arguments :func:`make_encoder` would pass to the encoder class.

    Every size is checked (a ``ValueError`` names it and says what it may be):
    kernels, widths and ``n_outputs`` positive integers, ``n_residual`` a
    non-negative integer, the conv encoder's ``branch_kernels`` and
    ``branch_channels`` of one length, the recurrent encoder's three
    ``gru_sizes``; names that are not sizes of ``kind`` are refused.

    Parameters
    ----------
    kind : {"conv", "recurrent"}
    model_size : {"paper", "small"}
        Preset of sizes (see :data:`ENCODER_SIZES`).
    **overrides
        Individual sizes that replace the preset's (the estimators' sizes in
        a ``model_size`` dict), and ``n_outputs``.

    Returns
    -------
    dict
        The preset's sizes with the overrides.
    """
    if kind not in ENCODER_SIZES:
        raise ValueError(f"encoder={kind!r} is not one of {sorted(ENCODER_SIZES)}.")
    if model_size not in ENCODER_SIZES[kind]:
        raise ValueError(f"model_size={model_size!r} is not one of {sorted(ENCODER_SIZES[kind])}.")
    config = dict(ENCODER_SIZES[kind][model_size])
    unknown = set(overrides) - set(config) - {"n_outputs"}
    if unknown:
        raise ValueError(
            f"Unknown {kind} encoder size parameter(s) {sorted(unknown)} in model_size; "
            f"known: {sorted(ENCODER_SIZE_CONSTRAINTS[kind])}."
        )
    config.update(overrides)
    validate_parameter_constraints(ENCODER_SIZE_CONSTRAINTS[kind], config, caller=f"model_size ({kind} encoder)")
    if kind == "conv" and len(config["branch_kernels"]) != len(config["branch_channels"]):
        raise ValueError(
            f"model_size: branch_kernels {tuple(config['branch_kernels'])} and branch_channels "
            f"{tuple(config['branch_channels'])} must have the same length (one kernel and one width per branch)."
        )
    return config


def make_encoder(kind: str = "conv", model_size: str = "paper", **overrides) -> nn.Module:
    """Build an encoder.

    Parameters
    ----------
    kind : {"conv", "recurrent"}
    model_size : {"paper", "small"}
        Preset of sizes (see :data:`ENCODER_SIZES`).
    **overrides
        Individual sizes that replace the preset's.
    """
    return _ENCODER_CLASSES[kind](**encoder_config(kind, model_size, **overrides))
