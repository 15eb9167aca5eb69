"""Average reference of per-channel features: each feature minus its mean over a window's channels.

EEG's common average reference subtracts, at each time point, the mean of
the channels from every channel. The same operation on *features* (after
pooling, per window) removes what moves every channel's feature together: a
subject's or amplifier's overall gain shifts every channel's log power by the
same amount, and cancels; the topography (each channel relative to the
window's others) stays. Nothing but the window itself is used, so the
reference is inductive: a new subject needs no batch of its own windows
(compare :mod:`skseqclr.evaluation.normalization`).

:class:`~skseqclr.SeqCLRTransformer` references its features this way with
``readout=Readout(feature_reference=True)``, the recorded channels among themselves
and the differences of channels it reads among themselves, keeping each kind's
mean as features of their own (:func:`reference_within_kinds`); the classic
baselines with ``reference=True``
(:class:`~skseqclr.evaluation.baselines.LogPower`,
:class:`~skseqclr.evaluation.baselines.LogVarianceBandPower`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["reference_to_channel_mean", "reference_within_kinds", "referenced_kinds", "channel_kinds", "KIND_NAMES"]

#: The name of each label of :func:`channel_kinds` (``SeqCLRTransformer`` names the kinds' mean rows after them).
KIND_NAMES = ("original", "difference")


def reference_to_channel_mean(features, n_channels):
    """In each window, each per-channel feature minus its mean over the channels.

    An average reference applied to features, as EEG's common average
    reference is to signals: a window's overall gain moves every channel's
    log power by the same amount and cancels; the topography stays.

    Parameters
    ----------
    features : np.ndarray of shape (n_windows, n_channels * n_features_per_channel)
        Laid out channel by channel, as :class:`~skseqclr.evaluation.baselines.LogPower`,
        :class:`~skseqclr.evaluation.baselines.LogVarianceBandPower` and
        :class:`~skseqclr.SeqCLRTransformer` give them.
    n_channels : int

    Returns
    -------
    np.ndarray of the same shape
    """
    by_channel = np.asarray(features).reshape(len(features), n_channels, -1)
    return (by_channel - by_channel.mean(axis=1, keepdims=True)).reshape(len(features), -1)


def channel_kinds(first, second) -> np.ndarray:
    """The kind of each channel read as ``x[first] - x[second]``: 0 for a recorded channel (``first == second``), 1
    for a difference of two channels.

    Parameters
    ----------
    first, second : sequence of int
        As returned by :func:`skseqclr.recombination.feature_channel_pairs`.

    Returns
    -------
    np.ndarray of int, shape (n_read_channels,)
    """
    return (np.asarray(first) != np.asarray(second)).astype(int)


def referenced_kinds(kinds) -> list[np.ndarray]:
    """The channel indices of each kind with more than one channel, the kinds :func:`reference_within_kinds`
    references (in the order of their labels).

    Parameters
    ----------
    kinds : array-like of shape (n_channels,)

    Returns
    -------
    list of np.ndarray of int
    """
    kinds = np.asarray(kinds)
    members = [np.flatnonzero(kinds == kind) for kind in np.unique(kinds)]
    return [indices for indices in members if len(indices) > 1]


def reference_within_kinds(features, kinds):
    """In each window, each channel's features minus their mean over the channels of the same kind, then those means.

    Recorded channels and differences of channels (bipolar channels) differ
    in scale and in what they measure, so each kind gets its own average
    reference: the recorded channels among themselves, the differences among
    themselves. Each kind's mean is kept as one more row after the channels,
    so nothing is lost: the features are the same information in other
    coordinates (each channel relative to its kind's average, and that
    average), and an effect shared by every channel (a global change of
    power) stays in the mean rows while the topography is in the others. A
    kind with a single channel is left as it is and adds no row.

    Parameters
    ----------
    features : np.ndarray of shape (n_windows, n_channels, n_features_per_channel)
        Per-channel features (:meth:`skseqclr.SeqCLRTransformer.encode`).
    kinds : array-like of shape (n_channels,)
        A label per channel (:func:`channel_kinds`); channels with the same
        label are referenced together.

    Returns
    -------
    np.ndarray of shape (n_windows, n_channels + n_referenced_kinds, n_features_per_channel)
        The referenced channels, then the mean of each kind with more than one
        channel (:func:`referenced_kinds`), same dtype.
    """
    features = np.asarray(features)
    kinds = np.asarray(kinds)
    if features.ndim != 3 or kinds.shape != (features.shape[1],):
        raise ValueError(f"features must be (n_windows, n_channels, n_features) with one kind per channel; got "
                         f"features of shape {features.shape} and {kinds.shape[0] if kinds.ndim else 0} kinds.")
    referenced, means = features.copy(), []
    for members in referenced_kinds(kinds):
        means.append(features[:, members].mean(axis=1, keepdims=True))
        referenced[:, members] -= means[-1]
    return np.concatenate([referenced, *means], axis=1) if means else referenced
