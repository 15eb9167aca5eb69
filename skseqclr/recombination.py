"""Channel recombination (Mohsenvand et al. 2020, §2.1).

EEG potentials are differences between electrodes, so the difference of two
recorded channels is itself a valid "virtual" bipolar channel. A recording with
``n`` channels therefore yields ``n**2`` single channels: the ``n`` originals
and the ``n * (n - 1)`` ordered differences ``x_i - x_j`` (``i != j``).

Materialising that set is out of the question (64 channels give 4096 channels
per window), so this module never builds it. Instead a batch of windows is
sampled *by index*: each drawn channel is a pair ``(i, j)`` of channel indices,
with ``i == j`` standing for the original channel ``x_i``. Only the drawn
channels are computed, on the batch's device, so memory grows with the number
of channels drawn, never with ``n**2``.

Each drawn channel is uniform over the ``n**2`` set (§2.1 treats every
original and every difference as an equally valid single channel), drawn
independently from a ``torch.Generator`` so a run is reproducible. The
transformer exposes the choice as ``recombination`` (draw from the ``n**2``
set, or from the ``n`` originals only) and draws four channels per window and
step (:ref:`benchmark-recombination`). A difference of two channels in µV is in µV, so
the augmentations' ranges (§2.2) apply to it unchanged.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

__all__ = ["FEATURE_CHANNELS", "all_channel_pairs", "check_feature_channels", "feature_channel_pairs",
           "has_standard_positions", "n_recombined_channels", "neighbour_pairs", "recombine",
           "resolve_feature_channels", "sample_channel_pairs"]

#: The named sets of channels that features can be read on (``Readout(feature_channels=...)``);
#: ``"auto"`` picks one of them from the channel names (:func:`resolve_feature_channels`).
FEATURE_CHANNELS = ("auto", "original", "differences", "all", "neighbours", "original+neighbours")


def n_recombined_channels(n_channels: int) -> int:
    """Number of single channels recombination makes of ``n_channels`` channels.

    Parameters
    ----------
    n_channels : int
        Channels in the recording.

    Returns
    -------
    int
        ``n_channels ** 2``: the originals plus every ordered difference.
    """
    return n_channels * n_channels


def all_channel_pairs(n_channels: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Every ``(i, j)`` pair of the recombined set, originals first.

    Meant for inspection and tests on small ``n_channels``: it enumerates the
    ``n**2`` *indices* (not signals).

    Returns
    -------
    first, second : torch.Tensor of shape (n_channels ** 2,)
        Channel indices; ``first == second`` marks an original channel.
    """
    flat = torch.arange(n_recombined_channels(n_channels), device=device)
    return _split_flat_index(flat, n_channels)


def _split_flat_index(flat: torch.Tensor, n_channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.div(flat, n_channels, rounding_mode="floor"), flat % n_channels


def sample_channel_pairs(
    n_windows: int,
    n_channels: int,
    channels_per_window: int,
    *,
    recombination: bool = True,
    generator: torch.Generator | None = None,
    device=None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw channels of the recombined set, uniformly, for each window of a batch.

    Parameters
    ----------
    n_windows : int
        Windows in the batch.
    n_channels : int
        Channels per window.
    channels_per_window : int
        Single channels drawn per window.
    recombination : bool
        If True, draw from the ``n**2`` recombined set (paper §2.1); if False,
        draw only original channels.
    generator : torch.Generator or None
        Source of randomness; must live on ``device``.
    device : torch.device or str or None
        Device of the returned indices.

    Returns
    -------
    first, second : torch.Tensor of shape (n_windows, channels_per_window)
        Indices into the channel axis. The drawn channel is ``x[first]`` when
        ``first == second`` and ``x[first] - x[second]`` otherwise.

    Notes
    -----
    Draws are independent (with replacement). When ``channels_per_window`` is
    at most the number of available channels, draws without replacement would
    avoid rare duplicates, but need an ``n**2`` permutation per window; with
    replacement, the expected number of duplicate pairs in a window is about
    ``k**2 / (2 n**2)`` for ``k`` draws, e.g. 0.02 for 4 draws from 19 channels.
    """
    if channels_per_window < 1:
        raise ValueError(f"channels_per_window must be at least 1, got {channels_per_window}.")
    if n_channels < 1:
        raise ValueError(f"Windows need at least one channel, got {n_channels}.")
    population = n_recombined_channels(n_channels) if recombination else n_channels
    flat = torch.randint(
        population, (n_windows, channels_per_window), generator=generator, device=device
    )
    if recombination:
        return _split_flat_index(flat, n_channels)
    return flat, flat


def recombine(windows: torch.Tensor, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Compute the drawn single channels of a batch of windows.

    Parameters
    ----------
    windows : torch.Tensor of shape (n_windows, n_channels, n_times)
        The batch.
    first, second : torch.Tensor of shape (n_windows, k)
        Pairs from :func:`sample_channel_pairs` or :func:`all_channel_pairs`
        (broadcast over windows when 1-D).

    Returns
    -------
    torch.Tensor of shape (n_windows, k, n_times)
        ``windows[:, first] - windows[:, second]``, with the original channel
        where ``first == second``. Only these ``k`` channels are allocated.
    """
    if first.ndim == 1:
        first = first.expand(windows.shape[0], -1)
        second = second.expand(windows.shape[0], -1)
    n_times = windows.shape[-1]
    gather_first = first.unsqueeze(-1).expand(-1, -1, n_times)
    gather_second = second.unsqueeze(-1).expand(-1, -1, n_times)
    minuend = windows.gather(1, gather_first)
    subtrahend = windows.gather(1, gather_second)
    is_original = (first == second).unsqueeze(-1)
    return torch.where(is_original, minuend, minuend - subtrahend)


def check_feature_channels(feature_channels):
    """Refuse a ``feature_channels`` string that names no set (pairs are checked against the windows' channels
    by :func:`feature_channel_pairs`)."""
    if isinstance(feature_channels, str) and feature_channels not in FEATURE_CHANNELS:
        raise ValueError(f"feature_channels={feature_channels!r} is not one of {FEATURE_CHANNELS} or a "
                         "sequence of (channel, channel) pairs.")


def feature_channel_pairs(feature_channels, ch_names) -> tuple[list[int], list[int], list[str]]:
    """The single channels that features are read on, as pairs of channel indices.

    Pretraining with recombination sees mostly differences: of the ``n**2``
    channels of §2.1, ``n * (n - 1)`` are differences ``x_i - x_j``. Reading the
    encoder on differences at transform time uses it where it was trained
    most, and gives the features the spatial contrast of a bipolar montage.

    Parameters
    ----------
    feature_channels : str or sequence of pairs
        ``"auto"``: ``"original+neighbours"`` when every channel has a
        10-05 system name, else ``"original"`` (:func:`resolve_feature_channels`).
        ``"original"``: each channel as recorded (the paper's features).
        ``"differences"``: ``x_i - x_j`` for every ``i < j``, ``n * (n - 1) / 2``
        channels (one sign of each ordered pair of §2.1).
        ``"all"``: the originals, then the differences.
        ``"neighbours"``: ``x_i - x_j`` (``i < j``) for neighbouring electrodes
        only (:func:`neighbour_pairs`; needs 10-05 system channel names), a
        bipolar montage of about ``3 * n`` channels.
        ``"original+neighbours"``: the originals, then the neighbours.
        A sequence of ``(a, b)`` pairs of channel names or indices reads
        ``x_a - x_b`` (a bipolar montage, e.g. ``[("Fp1", "F7"), ("F7", "T3")]``);
        ``a == b`` reads the original channel ``a``.
    ch_names : list of str
        The windows' channel names, in order.

    Returns
    -------
    first, second : list of int
        Channel indices (``first == second`` for an original channel), as
        :func:`recombine` takes them.
    names : list of str
        ``"a"`` for an original channel, ``"a-b"`` for a difference.
    """
    feature_channels = resolve_feature_channels(feature_channels, ch_names)
    n_channels = len(ch_names)
    if isinstance(feature_channels, str):
        pairs = []
        if feature_channels in ("original", "all", "original+neighbours"):
            pairs += [(i, i) for i in range(n_channels)]
        if feature_channels in ("differences", "all"):
            pairs += [(i, j) for i in range(n_channels) for j in range(i + 1, n_channels)]
        if feature_channels in ("neighbours", "original+neighbours"):
            pairs += neighbour_pairs(ch_names)
        if not pairs:
            raise ValueError(f'feature_channels="differences" needs at least 2 channels, the windows have '
                             f"{n_channels}.")
    else:
        pairs = [tuple(_channel_index(channel, ch_names) for channel in _as_pair(pair))
                 for pair in _as_pair_list(feature_channels)]
    first, second = (list(indices) for indices in zip(*pairs))
    names = [ch_names[i] if i == j else f"{ch_names[i]}-{ch_names[j]}" for i, j in pairs]
    return first, second, names


def resolve_feature_channels(feature_channels, ch_names):
    """The set ``feature_channels`` stands for on windows with channels ``ch_names``.

    ``"auto"`` reads the recorded channels and the differences of
    neighbouring electrodes (``"original+neighbours"``) when the electrodes
    can be placed, that is when there are at least two channels, all with
    distinct 10-05 system names (:func:`has_standard_positions`); otherwise
    (e.g. numpy windows without ``ch_names``, bipolar or intracranial
    channels) the recorded channels (``"original"``). Every other value is
    returned as it is, after :func:`check_feature_channels`.

    Why the neighbours: recombination (§2.1) pretrains the encoder mostly on
    differences of channels, so reading it on neighbouring electrodes'
    differences as well as on the recorded channels reads it where it was
    pretrained (evidence: :ref:`benchmark-feature-channels`).

    Parameters
    ----------
    feature_channels : str or sequence of pairs
    ch_names : sequence of str

    Returns
    -------
    str or sequence of pairs
    """
    check_feature_channels(feature_channels)
    if isinstance(feature_channels, str) and feature_channels == "auto":
        return "original+neighbours" if has_standard_positions(ch_names) else "original"
    return feature_channels


def has_standard_positions(ch_names) -> bool:
    """Whether :func:`neighbour_pairs` can place these channels: at least two, with distinct 10-05 names.

    Parameters
    ----------
    ch_names : sequence of str
        Channel names (case does not matter).

    Returns
    -------
    bool
    """
    names = [str(name).lower() for name in ch_names]
    return len(names) >= 2 and len(set(names)) == len(names) and set(names) <= _standard_names()


@lru_cache(maxsize=1)
def _standard_montage():
    import mne  # deferred: importing MNE takes about a second, and only the neighbours need it

    # MNE 1.13 renamed "standard_1005" (the same positions) to "colin27_1005"
    return mne.channels.make_standard_montage(
        "colin27_1005" if "colin27_1005" in mne.channels.get_builtin_montages() else "standard_1005")


@lru_cache(maxsize=1)
def _standard_names() -> frozenset:
    return frozenset(name.lower() for name in _standard_montage().ch_names)


def neighbour_pairs(ch_names) -> list[tuple[int, int]]:
    """Pairs of neighbouring electrodes, from their standard positions.

    Neighbours are the edges of MNE's Delaunay triangulation of the
    electrodes on the scalp (:func:`mne.channels.find_ch_adjacency`), with
    the positions of the standard 10-05 system (MNE's ``"colin27_1005"``,
    formerly ``"standard_1005"``, which also knows the old names T3, T4, T5,
    T6). For the 19 channels of the 10-20 system this gives 44 pairs: the
    longitudinal ("double banana") and transverse bipolar chains, plus
    diagonals such as F3-Cz.

    Parameters
    ----------
    ch_names : sequence of str
        Channel names of the 10-05 system (case does not matter), at least 2.

    Returns
    -------
    list of (int, int)
        ``(i, j)`` with ``i < j`` for every pair of neighbours, sorted; the
        channel read is ``x_i - x_j``.
    """
    return list(_neighbour_pairs(tuple(ch_names)))


@lru_cache(maxsize=16)
def _neighbour_pairs(ch_names):
    import mne

    montage = _standard_montage()
    unknown = [name for name in ch_names if name.lower() not in _standard_names()]
    if unknown:
        more = f" (and {len(unknown) - 8} more)" if len(unknown) > 8 else ""
        raise ValueError(f'The "neighbours" feature channels place electrodes by their 10-05 system names, and do '
                         f"not know {', '.join(map(repr, unknown[:8]))}{more}. Rename the channels (e.g. with MNE's "
                         "rename_channels) or pass the (channel, channel) pairs to read.")
    if len(set(name.lower() for name in ch_names)) < len(ch_names):
        raise ValueError(f'The "neighbours" feature channels need distinct channel names, got {list(ch_names)}.')
    if len(ch_names) < 2:
        raise ValueError(f'The "neighbours" feature channels need at least 2 channels, the windows have '
                         f"{len(ch_names)}.")
    if len(ch_names) == 2:  # too few points to triangulate; two electrodes are each other's only neighbour
        return ((0, 1),)
    info = mne.create_info(list(ch_names), sfreq=1.0, ch_types="eeg")
    with mne.utils.use_log_level("error"):
        info.set_montage(montage, match_case=False)
        adjacency, _ = mne.channels.find_ch_adjacency(info, ch_type="eeg")
    first, second = adjacency.nonzero()
    return tuple(sorted((int(i), int(j)) for i, j in zip(first, second) if i < j))


def _as_pair_list(feature_channels):
    try:
        pairs = list(feature_channels)
    except TypeError:
        pairs = None
    if not pairs:
        raise ValueError(f"feature_channels must be one of {FEATURE_CHANNELS} or a non-empty sequence of "
                         f"(channel, channel) pairs, got {feature_channels!r}.")
    return pairs


def _as_pair(pair):
    if isinstance(pair, str) or not hasattr(pair, "__len__") or len(pair) != 2:
        raise ValueError(f"Each entry of feature_channels must be a (channel, channel) pair of names or indices, "
                         f"got {pair!r}.")
    return pair


def _channel_index(channel, ch_names):
    if isinstance(channel, str):
        if channel not in ch_names:
            raise ValueError(f"feature_channels names channel {channel!r}, which the windows do not have "
                             f"(their channels: {', '.join(ch_names)}).")
        return ch_names.index(channel)
    if isinstance(channel, (int, np.integer)) and not isinstance(channel, bool) and 0 <= channel < len(ch_names):
        return int(channel)
    raise ValueError(f"feature_channels index {channel!r} is not a channel of windows with {len(ch_names)} "
                     "channels (indices start at 0).")
