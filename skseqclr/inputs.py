"""One adapter for every kind of EEG window set the estimators accept.

``fit``, ``transform`` and ``predict`` of every skseqclr estimator call
:func:`as_window_source`, which wraps its input in a :class:`WindowSource`:
uniform, batched, read-only access to ``n_windows`` windows of
``n_channels x n_times`` samples, with the sampling frequency, channel names
and the factor that converts the data to microvolts.

Accepted inputs
---------------
1. numpy arrays (or torch tensors) of shape ``(n_windows, n_channels, n_times)``;
   a 2-D array is read as ``(n_windows, n_times)`` single-channel windows.
2. braindecode ``BaseConcatDataset`` of windows datasets (from
   ``create_windows_from_events`` or ``create_fixed_length_windows``). Windows
   are read on demand, batch by batch, so a dataset made with ``preload=False``
   is never loaded as a whole.
3. ``mne.Epochs`` and ``mne.EpochsArray`` (EEG-type channels, bad channels
   excluded; epochs that are not preloaded are read batch by batch, after
   ``drop_bad()``, which MNE needs to know how many epochs there are).
4. skorch ``SliceDataset`` over any of the above, as ``GridSearchCV`` and
   ``cross_val_score`` index them: it is unwrapped to the underlying windows
   plus an index array, without copying the windows.
5. A list (or tuple): always one sequence of windows, read in order, for
   ``fit``, ``transform`` and ``predict`` alike. Its items are all of one
   kind: windows of shape ``(n_channels, n_times)`` (stacked into
   ``(n_windows, n_channels, n_times)``), window sets of shape
   ``(n_windows, n_channels, n_times)`` (concatenated), ``mne.Epochs`` of one
   or more epochs (concatenated; what scikit-learn's cross-validation makes
   of an ``mne.Epochs`` object), or braindecode windows datasets
   (concatenated). Items must share their channels (names too, for Epochs
   and braindecode datasets), window length and sampling frequency. A list
   of numbers or of 1-D windows is a 2-D array, as in scikit-learn.

Several datasets with different channels or window lengths are pooled for
pretraining only through :class:`MultiDataset`, which ``SeqCLRTransformer.fit``
accepts and every other method refuses.

Units
-----
The paper states its DC-shift range in microvolts (§2.2), so the package
augments in µV: every batch is multiplied by a factor to µV when it is moved
to the device. Pass ``units="V"``, ``"mV"``, ``"uV"`` or a number (the factor
to µV) to say what the input holds; it applies to every input, MNE's
included. ``units="auto"`` is decided once, at ``fit`` (:func:`fit_units`),
from what each input carries (:meth:`WindowSource.own_to_microvolts`):

- ``mne.Epochs`` declare their units: MNE holds EEG in volts.
- A braindecode dataset holds volts unless its preprocessing rescaled it
  (braindecode pipelines often scale to µV without saying so): its factor is
  judged once from the dataset as a whole, from up to 16 windows spread over
  all its windows, whichever of them a call reads (a ``SliceDataset``'s fold
  is judged by its whole dataset).
- Arrays and tensors carry no units. Their factor is guessed from the
  training windows' amplitude and kept as the estimator's ``to_microvolts_``
  (with :class:`MultiDataset`, that of the first dataset without units of
  its own; each pooled dataset is converted by its own factor for
  pretraining).

The guess: EEG has channel standard deviations of a few to a few hundred µV,
so a median channel standard deviation below 0.01 (in the data's units)
means volts and anything else means µV; data in mV need ``units="mV"``.

``transform``, ``encode`` and ``predict`` reuse these decisions
(:func:`transform_units`): every window of a call is converted by the same
factor, never guessed from the call's windows, so a window's features do not
depend on what it is transformed with. When a call's amplitude disagrees with
the factor used for arrays or Epochs, a ``UserWarning`` says so; the factor
is kept.

Validation
----------
Every bad input is a ``ValueError`` that names the problem: wrong number of
dimensions, zero windows, non-numeric or complex values, channels that differ
between the recordings of one dataset or the items of a list, items of
different kinds in one list, and NaN or infinite values. Arrays are checked
for finiteness once, when wrapped; windows read from disk (or from a
braindecode dataset) are checked batch by batch, as they are read, so a lazy
dataset is never read as a whole just to validate it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import numpy as np

# The window sources and the units live in their own modules; their public names are re-exported here.
from ._sources import (_MULTIDATASET_HINT, ArraySource, BraindecodeSource, ConcatSource, EpochsSource, SubsetSource,
                       WindowSource, _check_same_windows, _is_braindecode, _is_epochs, _is_slice_dataset,
                       _StackedEpochsSource)
from ._units import fit_units, resolve_units, transform_units

__all__ = ["WindowSource", "ArraySource", "BraindecodeSource", "EpochsSource", "SubsetSource", "ConcatSource",
           "MultiDataset", "as_window_source", "as_window_sources", "resolve_units", "fit_units", "transform_units",
           "extract_targets"]


class MultiDataset:
    """Several datasets pooled for pretraining: what ``SeqCLRTransformer.fit`` takes to learn from all of them.

    The encoder is channel-wise, so datasets with different channel counts,
    montages and window lengths can be pooled; each pretraining batch is drawn
    from one of them, and each is converted to µV by its own units. This
    wrapper is the only way to pass more than one dataset: a plain list is
    always one sequence of windows (see :mod:`skseqclr.inputs`), so pooling
    cannot happen by accident. ``transform``, ``encode`` and ``predict`` take
    one dataset at a time and refuse a ``MultiDataset``; transform each of
    :attr:`datasets` instead. ``SeqCLRClassifier.fit`` accepts one as
    ``X_unlabelled``.

    Parameters
    ----------
    datasets : list or tuple
        The datasets, each anything the estimators accept as ``X`` (an array of
        shape ``(n_windows, n_channels, n_times)``, ``mne.Epochs``, a braindecode
        windows dataset, a ``SliceDataset``, or a list that is one sequence of
        windows). A 2-D array is ``(n_windows, n_times)`` single-channel
        windows. Nested ``MultiDataset`` objects are flattened. Nothing is read
        until ``fit``.

    Attributes
    ----------
    datasets : tuple
        The datasets, in order; ``groups`` passed to ``fit`` cover their
        windows in this order.

    Examples
    --------
    >>> from skseqclr import MultiDataset, SeqCLRTransformer
    >>> seqclr = SeqCLRTransformer(model_size="small").fit(
    ...     MultiDataset([eegmat_windows, eegbci_epochs]))  # doctest: +SKIP
    >>> features = seqclr.transform(eegbci_epochs)  # doctest: +SKIP
    """

    def __init__(self, datasets):
        if isinstance(datasets, MultiDataset):
            datasets = datasets.datasets
        if not isinstance(datasets, (list, tuple)):
            raise TypeError(
                f"MultiDataset takes a list or tuple of datasets, got {type(datasets).__name__}; "
                "e.g. MultiDataset([X_a, X_b]). One dataset needs no MultiDataset."
            )
        flat = []
        for dataset in datasets:
            flat.extend(dataset.datasets if isinstance(dataset, MultiDataset) else [dataset])
        if not flat:
            raise ValueError("MultiDataset of an empty list: give at least one dataset.")
        self.datasets = tuple(flat)

    def __repr__(self):
        kinds = ", ".join(type(d).__name__ for d in self.datasets[:4])
        more = ", ..." if len(self.datasets) > 4 else ""
        n = len(self.datasets)
        return f"MultiDataset({n} dataset{'s' if n != 1 else ''}: {kinds}{more})"


def refuse_multidataset(X, action="read as one set of windows"):
    if isinstance(X, MultiDataset):
        raise ValueError(
            f"{X!r} cannot be {action}: a MultiDataset pools datasets for pretraining "
            "(SeqCLRTransformer.fit, or SeqCLRClassifier.fit's X_unlabelled); transform, encode and predict "
            "take one dataset at a time, e.g. [model.transform(d) for d in multi.datasets]."
        )


_ITEM_KINDS = {"array": "arrays", "epochs": "mne.Epochs", "braindecode": "braindecode datasets",
               "slice": "SliceDatasets", "source": "WindowSources"}


def _item_kind(x, index) -> str:
    """What item ``index`` of a list is; a clear ValueError for what no list may hold."""
    if isinstance(x, MultiDataset):
        raise ValueError(f"Item {index} of the list is a {x!r}; a MultiDataset holds datasets, a list cannot "
                         "hold a MultiDataset.")
    if isinstance(x, WindowSource):
        return "source"
    if _is_slice_dataset(x):
        return "slice"
    if _is_epochs(x):
        return "epochs"
    if _is_braindecode(x):
        return "braindecode"
    if x is None or isinstance(x, (str, bytes, os.PathLike)):
        what = "None" if x is None else f"a {type(x).__name__} ({str(x)[:60]!r})"
        raise ValueError(
            f"Item {index} of the list is {what}, not EEG windows: a list is one sequence of windows "
            "(arrays of shape (n_channels, n_times)), window sets, mne.Epochs or braindecode windows datasets."
        )
    if isinstance(x, tuple) and 2 <= len(x) <= 3 and isinstance(x[0], np.ndarray) and x[0].ndim == 2 \
            and np.ndim(x[1]) == 0:
        raise ValueError(
            f"Item {index} of the list looks like an item (X, y, ...) of a braindecode dataset, which is what "
            "scikit-learn's indexing makes of one; for cross-validation, wrap the dataset in "
            "skorch.helper.SliceDataset(dataset, idx=0)."
        )
    return "array"


def _sequence_source(X, sfreq, ch_names) -> WindowSource:
    """A list or tuple as one sequence of windows (see the module's Accepted inputs)."""
    items = list(X)
    if not items:
        raise ValueError(f"Found 0 windows: the {type(X).__name__} is empty; at least one window is required.")
    kinds = [_item_kind(x, i) for i, x in enumerate(items)]
    for i, kind in enumerate(kinds):
        if kind != kinds[0]:
            raise ValueError(
                f"The list mixes {_ITEM_KINDS[kinds[0]]} (item 0) and {_ITEM_KINDS[kind]} (item {i}); a list is "
                "one sequence of windows of one kind. Convert them to one kind (e.g. epochs.get_data() for "
                f"arrays), or {_MULTIDATASET_HINT}."
            )
    if kinds[0] == "array":
        return _stacked_arrays(X, items, sfreq, ch_names)
    if kinds[0] == "epochs":
        return _concatenated_epochs(items)
    if kinds[0] == "braindecode":
        module = sys.modules.get("braindecode.datasets.base")
        concat = getattr(module, "BaseConcatDataset", None) or type(items[0])
        return BraindecodeSource(concat(items))
    return ConcatSource([as_window_source(x) for x in items])


def _stacked_arrays(X, items, sfreq, ch_names) -> ArraySource:
    """Items that are arrays: windows stacked, or window sets concatenated, into one ArraySource."""
    arrays = []
    for i, x in enumerate(items):
        if "torch" in sys.modules and isinstance(x, sys.modules["torch"].Tensor):
            x = x.detach().cpu().numpy()
        try:
            arrays.append(np.asarray(x))
        except ValueError as error:  # ragged nested lists
            raise ValueError(f"Item {i} of the list is not a regular array of windows: {error}") from None
    shapes = [a.shape for a in arrays]
    ndims = [a.ndim for a in arrays]
    for i, ndim in enumerate(ndims):
        if (ndim <= 1) != (ndims[0] <= 1) or (ndims[0] > 1 and ndim != ndims[0]):
            raise ValueError(
                f"The list mixes arrays of {ndims[0]} and {ndim} dimensions (item 0 of shape {shapes[0]}, item "
                f"{i} of shape {shapes[i]}); a list holds windows of shape (n_channels, n_times), or window sets "
                "of shape (n_windows, n_channels, n_times), not both."
            )
    if ndims[0] <= 1:
        # numbers or single-channel windows: the list is one 2-D (n_windows, n_times) array, as in scikit-learn
        for i, shape in enumerate(shapes):
            if shape != shapes[0]:
                raise ValueError(f"The list's single-channel windows have different lengths: {shapes[0]} (item 0) "
                                 f"and {shape} (item {i}) samples; cut them to one length.")
        return ArraySource(X, sfreq=sfreq, ch_names=ch_names)
    if ndims[0] > 3:
        raise ValueError(
            f"Item 0 of the list has {ndims[0]} dimensions (shape {shapes[0]}); a list holds windows of shape "
            "(n_channels, n_times) or window sets of shape (n_windows, n_channels, n_times)."
        )
    for i, shape in enumerate(shapes):
        if shape[-2] != shapes[0][-2]:
            raise ValueError(
                f"The list's windows have different channel counts: {shapes[0][-2]} (item 0) and {shape[-2]} "
                f"(item {i}). A list is one sequence of windows with the same channels, stacked into "
                f"(n_windows, n_channels, n_times); {_MULTIDATASET_HINT}."
            )
        if shape[-1] != shapes[0][-1]:
            raise ValueError(
                f"The list's windows have different lengths: {shapes[0][-1]} samples (item 0) and {shape[-1]} "
                f"(item {i}); cut them to one length, or {_MULTIDATASET_HINT}."
            )
    return ArraySource(np.stack(arrays) if ndims[0] == 2 else np.concatenate(arrays), sfreq=sfreq,
                       ch_names=ch_names)


def _epochs_signature(epochs):
    info = epochs.info
    return (list(info["ch_names"]), list(info["bads"]), float(info["sfreq"]), len(epochs.times),
            [ch["kind"] for ch in info["chs"]])


def _concatenated_epochs(items) -> WindowSource:
    """``mne.Epochs`` of a list as one source: preloaded ones stacked at once, without
    ``mne.concatenate_epochs`` (whose per-object work is slow for the one-epoch objects of cross-validation);
    others read one after the other."""
    if not all(epochs.preload for epochs in items):
        return ConcatSource([EpochsSource(epochs) for epochs in items])
    first = EpochsSource(items[0])
    reference = _epochs_signature(items[0])
    blocks = []
    for i, epochs in enumerate(items):
        picks = first.picks
        if _epochs_signature(epochs) != reference:
            other = EpochsSource(epochs)
            _check_same_windows(first, other, i)
            picks = other.picks
        blocks.append(epochs.get_data(picks=picks, copy=False).astype(np.float32, copy=False))
    return _StackedEpochsSource(np.concatenate(blocks), sfreq=first.sfreq, ch_names=first.ch_names)


def as_window_source(X, sfreq=None, ch_names=None) -> WindowSource:
    """Wrap any supported input in a :class:`WindowSource`.

    Parameters
    ----------
    X : array-like, braindecode BaseConcatDataset, mne.Epochs, skorch SliceDataset, WindowSource, or a list of these
        The windows (see the module docstring); a list or tuple is one
        sequence of windows. A :class:`MultiDataset` is refused.
    sfreq : float or None
        Sampling frequency in Hz for numpy input; for MNE and braindecode input
        it must agree with the data's own, if given.
    ch_names : list of str or None
        Channel names for numpy input; for MNE and braindecode input they
        must be the data's own, if given.

    Returns
    -------
    WindowSource
    """
    if isinstance(X, WindowSource):
        source = X
    elif isinstance(X, MultiDataset):
        refuse_multidataset(X)
    elif isinstance(X, (list, tuple)):
        source = _sequence_source(X, sfreq, ch_names)
        if isinstance(source, ArraySource) and not isinstance(source, _StackedEpochsSource):
            return source
    elif _is_slice_dataset(X):
        if X.idx != 0:
            raise ValueError(f"SliceDataset(idx={X.idx}) selects targets, not windows; use idx=0 for X.")
        inner = as_window_source(X.dataset, sfreq=sfreq, ch_names=ch_names)
        return SubsetSource(inner, X.indices_)
    elif _is_braindecode(X):
        source = BraindecodeSource(X)
    elif _is_epochs(X):
        source = EpochsSource(X)
    elif isinstance(X, (str, bytes)) or X is None:
        raise ValueError(f"Expected EEG windows, got {type(X).__name__}.")
    else:
        return ArraySource(X, sfreq=sfreq, ch_names=ch_names)
    if sfreq is not None and source.sfreq is not None and not np.isclose(sfreq, source.sfreq):
        raise ValueError(
            f"sfreq={sfreq} Hz disagrees with the data's own sampling frequency "
            f"({source.sfreq} Hz); leave sfreq=None for MNE and braindecode input."
        )
    if ch_names is not None and [str(c) for c in ch_names] != list(source.ch_names):
        raise ValueError(
            f"ch_names ({', '.join(map(str, list(ch_names)[:4]))}, ...: {len(ch_names)}) disagree with the data's "
            f"own channel names ({', '.join(list(source.ch_names)[:4])}, ...: {len(source.ch_names)}); leave "
            "ch_names=None for MNE and braindecode input."
        )
    return source


def as_window_sources(X, sfreq=None, ch_names=None) -> list[WindowSource]:
    """Sources of the datasets of a :class:`MultiDataset`, or of one input (anything else).

    Parameters
    ----------
    X : MultiDataset or any input of :func:`as_window_source`
    sfreq, ch_names
        As for :func:`as_window_source`, applied to every dataset.

    Returns
    -------
    list of WindowSource
        One per dataset; a list ``X`` is one dataset (a sequence of windows).
    """
    if isinstance(X, MultiDataset):
        return [as_window_source(x, sfreq=sfreq, ch_names=ch_names) for x in X.datasets]
    return [as_window_source(X, sfreq=sfreq, ch_names=ch_names)]


def extract_targets(X) -> np.ndarray | None:
    """Targets carried by the input, if any.

    braindecode windows datasets carry a target per window (the ``target``
    column of their metadata); ``mne.Epochs`` carry event codes (mapped back to
    their names through ``event_id``). Arrays carry none.

    Returns
    -------
    np.ndarray of shape (n_windows,) or None
        For a list, the targets of its items in order (None if one has none).
    """
    refuse_multidataset(X, "given labels as one dataset")
    if isinstance(X, (list, tuple)) and X and all(_is_epochs(x) or _is_braindecode(x) or _is_slice_dataset(x)
                                                  for x in X):
        parts = [extract_targets(x) for x in X]
        return None if any(part is None for part in parts) else np.concatenate(parts)
    if _is_slice_dataset(X):
        targets = extract_targets(X.dataset)
        return None if targets is None else targets[np.asarray(X.indices_)]
    if _is_braindecode(X):
        metadata = X.get_metadata()
        if "target" in metadata:
            return metadata["target"].to_numpy()
        return np.asarray([X[i][1] for i in range(len(X))])
    if _is_epochs(X):
        codes = X.events[:, 2]
        names = {code: name for name, code in X.event_id.items()}
        return np.asarray([names.get(code, code) for code in codes])
    return None


def is_sequence_of_windows(X) -> bool:
    """True for inputs that sklearn's array validation must not touch.

    Lists are left to scikit-learn only when they are nested lists of
    numbers or of 1-D windows (a 2-D array); a list of 2-D windows, of
    window sets, Epochs or datasets, or an empty list goes to
    :func:`as_window_source`, which stacks or refuses it with its own messages.
    """
    if isinstance(X, (list, tuple)):
        return len(X) == 0 or not all(_is_row_of_numbers(x) for x in X)
    return _is_braindecode(X) or _is_epochs(X) or _is_slice_dataset(X) or isinstance(X, (WindowSource, MultiDataset))


def _is_row_of_numbers(x) -> bool:
    """A number or a 1-D window: an item of a list that is a 2-D array, as scikit-learn reads it."""
    if isinstance(x, (str, bytes)):
        return False
    try:
        return _item_kind(x, 0) == "array" and np.ndim(x) <= 1
    except ValueError:
        return False


def n_samples(X) -> int:
    """Number of windows in any supported input, without reading them."""
    if isinstance(X, Sequence) or hasattr(X, "__len__"):
        return len(X)
    return np.shape(X)[0]
