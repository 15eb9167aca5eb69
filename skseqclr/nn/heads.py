"""Heads on top of the encoder: the projector for pretraining and the classifier (paper §2.3).

Both summarise a sequence of feature channels with the same recurrent block,
:class:`MultiScaleBiLSTMSummary`: three bidirectional LSTMs read the sequence
at full rate, downsampled by 2 and downsampled by 4, and the first and the
last output of each are concatenated into one vector. A small dense stack then
maps that vector to

* 32 dimensions for the contrastive loss (:class:`Projector`), or
* one log-probability per class (:class:`ClassifierHead`, ending in
  ``LogSoftmax`` and trained with the negative log-likelihood).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import torch
from torch import nn

from .._validation import Interval, Satisfies, is_positive_int, validate_parameter_constraints
from .encoders import downsample
from ..pooling import pool

__all__ = ["HEAD_SIZES", "PROJECTORS", "MultiScaleBiLSTMSummary", "Projector", "PooledProjector",
           "ClassifierHead", "StandardizedHead", "make_projector", "check_projector", "projector_config"]

#: Projection heads by name: the paper's BiLSTM :class:`Projector` and :class:`PooledProjector`.
PROJECTORS = ("lstm", "pooled")

#: Sizes per ``model_size``; ``"paper"`` follows the paper's projector figure.
HEAD_SIZES: dict[str, dict] = {
    "paper": dict(lstm_sizes=(256, 128, 64), hidden_size=128, output_size=32),
    "small": dict(lstm_sizes=(32, 16, 8), hidden_size=32, output_size=32),
}


class MultiScaleBiLSTMSummary(nn.Module):
    """First and last outputs of bidirectional LSTMs at three time scales.

    Parameters
    ----------
    in_channels : int
        Feature channels of the input sequence ``(batch, in_channels, time)``.
    lstm_sizes : tuple of 3 int
        Hidden size per direction of the LSTM at full rate, /2 and /4.

    Notes
    -----
    The output has ``4 * sum(lstm_sizes)`` features: first and last time step
    of each branch, two directions each.
    """

    def __init__(self, in_channels, lstm_sizes=(256, 128, 64)):
        super().__init__()
        if len(lstm_sizes) != 3:
            raise ValueError(f"lstm_sizes needs 3 sizes (full, /2, /4 rate), got {tuple(lstm_sizes)}.")
        self.branches = nn.ModuleList(
            nn.LSTM(in_channels, size, batch_first=True, bidirectional=True) for size in lstm_sizes
        )
        self.out_features = 4 * sum(lstm_sizes)

    def forward(self, x):
        summaries = []
        for halvings, lstm in enumerate(self.branches):
            out = lstm(downsample(x, halvings).transpose(1, 2))[0]
            summaries.extend((out[:, 0], out[:, -1]))
        return torch.cat(summaries, dim=1)


class Projector(nn.Module):
    """SeqCLR projection head: encoder output ``(batch, 4, time)`` -> ``(batch, 32)``.

    Parameters
    ----------
    in_channels : int
        Encoder output channels (4).
    lstm_sizes : tuple of 3 int
        Hidden size per direction of the three BiLSTM branches.
    hidden_size : int
        Width of the dense layer.
    output_size : int
        Projection dimension (32 in the paper).
    """

    def __init__(self, in_channels=4, lstm_sizes=(256, 128, 64), hidden_size=128, output_size=32):
        super().__init__()
        self.summary = MultiScaleBiLSTMSummary(in_channels, lstm_sizes)
        self.mlp = nn.Sequential(
            nn.Linear(self.summary.out_features, hidden_size),
            nn.ReLU(),
            nn.Linear(hidden_size, output_size),
        )

    def forward(self, h):
        return self.mlp(self.summary(h))


class PooledProjector(nn.Module):
    """Projection head on the pooled encoder output: ``(batch, 4, time)`` -> ``(batch, 32)``.

    Not in the paper. The paper's :class:`Projector` reads the encoder's output
    sequence with BiLSTMs, so pretraining shapes whatever the BiLSTMs can read,
    while a linear probe on ``transform`` features only sees statistics pooled
    over time. This head projects exactly those statistics (the estimator's
    ``pooling``), so that contrastive pretraining shapes the features the probe
    will use.

    Parameters
    ----------
    in_channels : int
        Encoder output channels (4).
    statistics : tuple of str
        Pooling statistics (see :mod:`skseqclr.pooling`).
    hidden_size : int
        Width of the dense layer.
    output_size : int
        Projection dimension.
    """

    def __init__(self, in_channels=4, statistics=("mean", "std", "logms"), hidden_size=128, output_size=32):
        super().__init__()
        self.statistics = tuple(statistics)
        n_pooled = in_channels * len(self.statistics)
        # The statistics differ in scale (log powers vs means): normalise before the MLP.
        self.norm = nn.BatchNorm1d(n_pooled)
        self.mlp = nn.Sequential(nn.Linear(n_pooled, hidden_size), nn.ReLU(), nn.Linear(hidden_size, output_size))

    def forward(self, h):
        return self.mlp(self.norm(pool(h, self.statistics).to(h.dtype)))


def check_projector(kind: str) -> str:
    """``kind`` if it names a projection head, else a ``ValueError`` naming the choices."""
    if kind not in PROJECTORS:
        raise ValueError(f"projector={kind!r} is not {' or '.join(map(repr, PROJECTORS))}.")
    return kind


_POSITIVE = Interval(Integral, 1)

#: What each size of :data:`HEAD_SIZES` may be.
HEAD_SIZE_CONSTRAINTS: dict[str, list] = {
    "lstm_sizes": [Satisfies(lambda v: isinstance(v, Sequence) and not isinstance(v, str) and len(v) == 3
                             and all(is_positive_int(size) for size in v),
                             "a tuple of 3 positive integers (full, /2, /4 rate)")],
    "hidden_size": [_POSITIVE],
    "output_size": [_POSITIVE],
}


def projector_config(kind: str = "lstm", model_size: str = "paper", statistics=None, **overrides) -> dict:
    """The keyword arguments :func:`make_projector` passes to the projection head.

    Parameters
    ----------
    kind : {"lstm", "pooled"}
    model_size : {"paper", "small"}
        Preset of sizes (see :data:`HEAD_SIZES`).
    statistics : tuple of str or None
        The pooling statistics a ``"pooled"`` head projects.
    **overrides
        Individual sizes replacing the preset's (``lstm_sizes``,
        ``hidden_size``, ``output_size``): each checked, a ``ValueError``
        naming it; other names are refused. ``lstm_sizes`` is checked but
        not passed to the ``"pooled"`` head, so that a grid search can switch
        projectors.
    """
    check_projector(kind)
    if model_size not in HEAD_SIZES:
        raise ValueError(f"model_size={model_size!r} is not one of {sorted(HEAD_SIZES)}.")
    config = dict(HEAD_SIZES[model_size])
    unknown = set(overrides) - set(config)
    if unknown:
        raise ValueError(f"Unknown projector size parameter(s) {sorted(unknown)} in model_size; "
                         f"known: {sorted(config)}.")
    config.update(overrides)
    validate_parameter_constraints(HEAD_SIZE_CONSTRAINTS, config, caller="model_size (projector)")
    if kind == "pooled":
        del config["lstm_sizes"]
        config["statistics"] = tuple(statistics)
    return config


def make_projector(kind: str, in_channels: int, **config) -> nn.Module:
    """Build the projection head: ``"lstm"`` (the paper's) or ``"pooled"``."""
    head = {"lstm": Projector, "pooled": PooledProjector}[check_projector(kind)]
    return head(in_channels, **config)


class ClassifierHead(nn.Module):
    """SeqCLR classifier: encoder outputs of all channels of a window -> log-probabilities.

    Parameters
    ----------
    in_channels : int
        ``4 * n_channels``: the encoder's 4 feature channels for every channel
        of the window, stacked.
    n_classes : int
        Outputs, one per class.
    lstm_sizes : tuple of 3 int
        Hidden size per direction of the three BiLSTM branches.
    hidden_size : int
        Width of the dense layer.
    dropout : float
        Dropout before each dense layer.
    """

    def __init__(self, in_channels, n_classes, lstm_sizes=(64, 32, 16), hidden_size=64, dropout=0.25):
        super().__init__()
        self.summary = MultiScaleBiLSTMSummary(in_channels, lstm_sizes)
        self.mlp = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(self.summary.out_features, hidden_size),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_size, n_classes),
            nn.LogSoftmax(dim=1),
        )
        self.in_channels = in_channels
        self.n_classes = n_classes

    def forward(self, h):
        return self.mlp(self.summary(h))


class StandardizedHead(nn.Module):
    """Standardise each feature channel of ``(batch, channels, time)``, then apply ``head``.

    The mean and standard deviation (over windows and time) of each encoder
    output channel come from the training windows and stay fixed. The head
    then sees inputs of unit scale whatever the encoder's output scale (an
    untrained encoder's outputs are far smaller than a pretrained one's), so
    the same learning rate suits every encoder.

    Parameters
    ----------
    head : torch.nn.Module
        Reads the standardised ``(batch, channels, time)`` sequence.
    sample : torch.Tensor of shape (n_windows, channels, time)
        Encoder outputs of training windows.
    """

    def __init__(self, head: nn.Module, sample: torch.Tensor):
        super().__init__()
        self.head = head
        sample = sample.detach().float()
        self.register_buffer("mean", sample.mean(dim=(0, 2), keepdim=True)[0])
        self.register_buffer("scale", sample.std(dim=(0, 2), keepdim=True)[0].clamp_min(1e-6))

    def forward(self, h):
        return self.head((h - self.mean) / self.scale)
