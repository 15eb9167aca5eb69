"""Pictures of the SeqCLR augmentations (paper §2.2), for the docs and for checking a setting.

:func:`plot_augmentations` draws one channel and, in one panel per
augmentation, what each augmentation makes of it, labelled with the strength
that was drawn. It uses the same classes as training
(:mod:`skseqclr.augmentations`), in µV like training, so a panel shows
exactly what the encoder would be given for that strength.
"""

from __future__ import annotations

import numpy as np
import torch

from .augmentations import AUGMENTATION_NAMES, PAPER_RANGES, make_augmentations
from .inputs import as_window_source, resolve_units

__all__ = ["plot_augmentations"]


def _describe(name: str, params: dict, row: int, sfreq: float | None, width: float | None) -> str:
    """Strength drawn for ``row``, in words with its unit."""

    def seconds(samples):
        return f" ({samples / sfreq:.2f} s)" if sfreq else ""

    if name == "amplitude_scale":
        return f"x{float(params['factor'][row]):.2f}"
    if name == "time_shift":
        shift = int(params["shift"][row])
        return f"{shift:+d} samples{seconds(shift)}, circular"
    if name == "dc_shift":
        return f"{float(params['offset'][row]):+.1f} µV"
    if name == "zero_mask":
        length, start = int(params["length"][row]), int(params["start"][row])
        return f"{length} samples{seconds(length)} from sample {start}"
    if name == "gaussian_noise":
        return f"sigma = {float(params['sigma'][row]):.3f} x channel std"
    if name == "bandstop":
        return f"centre {float(params['center'][row]):.1f} Hz, {width:g} Hz wide"
    raise ValueError(f"Unknown augmentation {name!r}.")


def _one_channel(x, sfreq, window, channel, units):
    """The channel to draw, in µV, with the sampling frequency and its name."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if isinstance(x, (np.ndarray, list, tuple)) and np.ndim(x) == 1:
        x = np.asarray(x)[np.newaxis, np.newaxis, :]
    source = as_window_source(x, sfreq=sfreq)
    if not 0 <= window < source.n_windows:
        raise ValueError(f"window={window} is out of range for {source.n_windows} windows.")
    if isinstance(channel, str):
        if channel not in source.ch_names:
            raise ValueError(f"channel {channel!r} is not one of {source.ch_names}.")
        channel = source.ch_names.index(channel)
    if not 0 <= channel < source.n_channels:
        raise ValueError(f"channel={channel} is out of range for {source.n_channels} channels.")
    signal = source.read([window])[0, channel].astype(np.float64)
    return signal * resolve_units(units, source), source.sfreq, source.ch_names[channel]


def plot_augmentations(
    x,
    sfreq=None,
    ranges=None,
    *,
    seed=0,
    n_examples=1,
    window=0,
    channel=0,
    units="auto",
    axes=None,
    figsize=None,
):
    """Draw one EEG channel and what each SeqCLR augmentation makes of it.

    One panel shows the original channel; then one panel per enabled
    augmentation shows the original (grey) and ``n_examples`` augmented
    versions, each labelled with its drawn strength and unit. Strengths are
    drawn uniformly within the ranges, as in training (paper §2.2).

    Parameters
    ----------
    x : array-like, mne.Epochs, braindecode dataset or SliceDataset
        A single channel of shape (n_times,), or any window set that the
        estimators accept (see :mod:`skseqclr.inputs`: a 3-D array is
        (n_windows, n_channels, n_times), a 2-D one (n_windows, n_times)),
        from which ``window`` and ``channel`` are drawn.
    sfreq : float or None
        Sampling frequency in Hz; MNE and braindecode input carry their own.
        Needed by the band-stop; without it the time axis is in samples.
    ranges : dict or None
        Augmentation ranges overriding the paper's (:data:`~skseqclr.PAPER_RANGES`),
        keyed by the estimators' parameter names; a value of ``None`` leaves
        that augmentation out. ``None`` (default) shows all six with the
        paper's ranges.
    seed : int
        Seed of the ``torch.Generator`` that draws the strengths.
    n_examples : int
        Augmented versions drawn per augmentation.
    window : int
        Window to draw, for window-set input.
    channel : int or str
        Channel index, or name for MNE and braindecode input.
    units : {"auto", "V", "mV", "uV"} or float
        Units of ``x`` (see :func:`skseqclr.inputs.resolve_units`); the
        channel is drawn in µV, the units the augmentations work in.
    axes : sequence of matplotlib Axes or None
        One Axes per panel (1 + the number of enabled augmentations) to draw
        into; ``None`` makes a new figure.
    figsize : (float, float) or None
        Size of a new figure in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if not isinstance(n_examples, (int, np.integer)) or n_examples < 1:
        raise ValueError(f"n_examples must be a positive integer, got {n_examples!r}.")
    chosen = dict(PAPER_RANGES)
    if ranges is not None:
        unknown = set(ranges) - set(AUGMENTATION_NAMES)
        if unknown:
            raise ValueError(f"Unknown augmentation(s) {sorted(unknown)}; known: {AUGMENTATION_NAMES}.")
        chosen.update(ranges)
    signal, sfreq, channel_name = _one_channel(x, sfreq, window, channel, units)
    augmentations = make_augmentations(sfreq=sfreq, **chosen)
    n_times = signal.shape[-1]
    for augmentation in augmentations:
        augmentation.check_window(n_times)

    n_panels = 1 + len(augmentations)
    if axes is None:
        fig, axes = plt.subplots(n_panels, 1, sharex=True, squeeze=False,
                                 figsize=figsize or (8, 1.6 * n_panels), layout="constrained")
        axes = axes[:, 0]
    else:
        axes = np.ravel(axes)
        if len(axes) != n_panels:
            raise ValueError(f"Got {len(axes)} axes for {n_panels} panels (the original and "
                             f"{len(augmentations)} augmentation(s)).")
        fig = axes[0].figure

    time = np.arange(n_times) / sfreq if sfreq else np.arange(n_times)
    time_label = "Time (s)" if sfreq else "Time (samples)"
    generator = torch.Generator().manual_seed(int(seed))
    batch = torch.as_tensor(signal, dtype=torch.float32).expand(n_examples, -1).contiguous()

    axes[0].plot(time, signal, color="k", linewidth=0.8)
    axes[0].set_title(f"{channel_name}: original", loc="left", fontsize="medium")
    colors = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    for ax, augmentation in zip(axes[1:], augmentations):
        params = augmentation.sample(n_examples, n_times=n_times, generator=generator)
        augmented = augmentation.apply(batch, params, generator).numpy()
        ax.plot(time, signal, color="0.75", linewidth=0.8, label="original")
        width = getattr(augmentation, "width", None)
        labels = [_describe(augmentation.name, params, row, sfreq, width) for row in range(n_examples)]
        for row in range(n_examples):
            ax.plot(time, augmented[row], color=colors[row % len(colors)], linewidth=0.8, label=labels[row])
        title = augmentation.name.replace("_", " ")
        ax.set_title(f"{title}: {labels[0]}" if n_examples == 1 else title, loc="left", fontsize="medium")
        if n_examples > 1:
            ax.legend(fontsize="small", loc="upper right")
    for ax in axes:
        ax.set_ylabel("µV")
    axes[-1].set_xlabel(time_label)
    return fig
