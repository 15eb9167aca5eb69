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
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

__all__ = ["WindowSource", "ArraySource", "BraindecodeSource", "EpochsSource", "SubsetSource", "ConcatSource",
           "MultiDataset", "as_window_source", "as_window_sources", "resolve_units", "fit_units", "transform_units",
           "extract_targets"]

_UNIT_FACTORS = {"V": 1e6, "mV": 1e3, "uV": 1.0, "µV": 1.0}
_VOLTS_BELOW_STD = 1e-2


class WindowSource(ABC):
    """Read-only, batched access to a set of equally shaped EEG windows.

    Attributes
    ----------
    n_windows, n_channels, n_times : int
        Shape of the window set.
    sfreq : float or None
        Sampling frequency in Hz, if known.
    ch_names : list of str
        Channel names (``ch0``, ``ch1``, ... when the input has none).
    lazy : bool
        True when windows are read from disk on demand.
    declares_units : bool
        True when the input's format declares its units (``mne.Epochs``:
        volts); see :meth:`own_to_microvolts`.
    """

    n_windows: int
    n_channels: int
    n_times: int
    sfreq: float | None
    ch_names: list[str]
    lazy = False
    kind = "windows"
    #: True when every window was checked for NaN/inf when the source was made.
    checked_finite = False
    declares_units = False

    @abstractmethod
    def _read(self, indices: np.ndarray) -> np.ndarray:
        """Windows at ``indices`` as a float32 array, without validation."""

    def read(self, indices) -> np.ndarray:
        """Read windows.

        Parameters
        ----------
        indices : array-like of int
            Window indices.

        Returns
        -------
        np.ndarray of shape (len(indices), n_channels, n_times), float32
            In the source's own units (see :meth:`to_microvolts`).
        """
        indices = np.asarray(indices, dtype=np.int64)
        data = self._read(indices)
        if not self.checked_finite:
            _check_finite(data, self.kind, indices)
        return data

    def own_to_microvolts(self) -> float | None:
        """Factor to µV that the input carries itself, whatever windows a call reads of it.

        ``mne.Epochs`` declare volts (1e6). A braindecode dataset's is judged
        once from the dataset as a whole (:meth:`guess_to_microvolts` on
        windows spread over all its recordings), since braindecode pipelines
        often rescale to µV without saying so. Arrays carry none (None).
        """
        return None

    def median_channel_std(self) -> float:
        """Median channel standard deviation of up to 16 windows spread over the set, in its own units."""
        sample = np.linspace(0, self.n_windows - 1, num=min(self.n_windows, 16)).astype(np.int64)
        return float(np.median(self.read(sample).std(axis=-1)))

    def guess_to_microvolts(self) -> float:
        """Factor to µV guessed from amplitude (see the module's Units section)."""
        return _guess_from_std(self.median_channel_std())

    def __len__(self):
        return self.n_windows

    def __repr__(self):
        return (
            f"{type(self).__name__}(n_windows={self.n_windows}, n_channels={self.n_channels}, "
            f"n_times={self.n_times}, sfreq={self.sfreq})"
        )


def _guess_from_std(std: float) -> float:
    return 1e6 if std < _VOLTS_BELOW_STD else 1.0


def _describe_indices(indices: np.ndarray) -> str:
    shown = ", ".join(str(i) for i in indices[:5].tolist())
    return f"window(s) {shown}{', ...' if len(indices) > 5 else ''}"


def _check_finite(data: np.ndarray, where: str, indices=None) -> None:
    """Refuse NaN/inf in ``data`` (windows first), naming the windows (``indices``: theirs in the input)."""
    finite = np.isfinite(data)
    if not finite.all():
        rows = np.flatnonzero(~finite.reshape(len(data), -1).all(axis=1))
        windows = rows if indices is None else np.asarray(indices)[rows]
        raise ValueError(
            f"The input contains NaN or infinite values (in {where}: {_describe_indices(windows)}); remove or "
            "interpolate them (for example with mne's interpolate_bads or annotations) before fitting."
        )


class ArraySource(WindowSource):
    """Windows held in memory as one array.

    Parameters
    ----------
    X : array-like of shape (n_windows, n_channels, n_times) or (n_windows, n_times)
    sfreq : float or None
    ch_names : list of str or None
    """

    kind = "array"

    def __init__(self, X, sfreq=None, ch_names=None):
        if "torch" in sys.modules and isinstance(X, sys.modules["torch"].Tensor):
            X = X.detach().cpu().numpy()
        if "scipy.sparse" in sys.modules and sys.modules["scipy.sparse"].issparse(X):
            raise ValueError(
                "Sparse input is not supported: EEG windows are dense arrays; convert with X.toarray()."
            )
        try:
            X = np.asarray(X)
        except ValueError as error:  # ragged nested lists
            raise ValueError(
                f"Windows must form one array of shape (n_windows, n_channels, n_times); {error}"
            ) from None
        if X.dtype == object:
            # scikit-learn's convention: an object array of numbers is numeric.
            try:
                X = X.astype(np.float64)
            except (TypeError, ValueError) as error:  # same type as numpy's, as sklearn expects
                raise type(error)(
                    f"Windows must be real numbers; an object array could not be converted: {error}"
                ) from None
        if not np.issubdtype(X.dtype, np.number):
            raise ValueError(f"Windows must be real numbers, got an array of dtype {X.dtype}.")
        self.from_2d = X.ndim == 2
        if X.ndim not in (2, 3):
            # "Reshape your data" is scikit-learn's wording for this error.
            raise ValueError(
                "Expected windows of shape (n_windows, n_channels, n_times), or "
                f"(n_windows, n_times) for single channels; got an array with {X.ndim} "
                f"dimension(s) of shape {X.shape}. Reshape your data, e.g. X.reshape(1, -1) "
                "for one single-channel window."
            )
        if X.shape[0] == 0:
            raise ValueError(f"Found 0 windows (shape={X.shape}); at least one window is required.")
        if 0 in X.shape[1:]:
            # Worded like scikit-learn's check_array for 2-D input.
            raise ValueError(
                f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required: "
                "windows need at least one channel and one sample."
            )
        if self.from_2d:
            X = X[:, np.newaxis, :]
        if np.iscomplexobj(X):
            raise ValueError(
                f"Complex data not supported (windows of dtype {X.dtype}); pass real signals "
                "(e.g. np.real(X) or np.abs(X))."
            )
        with np.errstate(over="ignore"):
            self.X = X if X.dtype == np.float32 else X.astype(np.float32)
        # Checked after the cast: float64 values beyond float32's range become inf.
        _check_finite(self.X, "the array")
        self.checked_finite = True
        self.n_windows, self.n_channels, self.n_times = self.X.shape
        self.sfreq = None if sfreq is None else float(sfreq)
        self.ch_names = _channel_names(ch_names, self.n_channels)

    def _read(self, indices):
        return self.X[indices]


class BraindecodeSource(WindowSource):
    """Windows of a braindecode ``BaseConcatDataset``, read on demand."""

    kind = "braindecode windows"

    def __init__(self, concat_dataset):
        datasets = getattr(concat_dataset, "datasets", None)
        if not datasets:
            raise ValueError("Found 0 windows: the braindecode dataset is empty.")
        first = datasets[0]
        if not (hasattr(first, "crop_inds") or hasattr(first, "windows")):
            raise ValueError(
                "Expected a braindecode dataset of windows, got one of continuous recordings "
                f"({type(first).__name__}); cut windows first with "
                "braindecode.preprocessing.create_fixed_length_windows or create_windows_from_events."
            )
        self.dataset = concat_dataset
        self.n_windows = len(concat_dataset)
        if self.n_windows == 0:
            raise ValueError("Found 0 windows: the braindecode dataset is empty.")
        infos = [_braindecode_info(d) for d in datasets]
        names = infos[0]["ch_names"]
        for i, info in enumerate(infos[1:], start=1):
            if info["ch_names"] != names:
                raise ValueError(
                    f"Mismatched channels: recording 0 has {len(names)} channels {names[:4]}..., "
                    f"recording {i} has {len(info['ch_names'])} channels {info['ch_names'][:4]}...; "
                    "pick the same channels in every recording, or pool the recordings for pretraining "
                    "with skseqclr.MultiDataset([...]) (SeqCLRTransformer.fit only)."
                )
        sfreqs = {info["sfreq"] for info in infos}
        if len(sfreqs) > 1:
            raise ValueError(
                f"Mismatched sampling frequencies {sorted(sfreqs)} Hz across recordings; "
                "resample them to one rate (braindecode's Preprocessor('resample', sfreq=...))."
            )
        self.sfreq = float(sfreqs.pop())
        self.ch_names = list(names)
        self.n_channels = len(names)
        self.n_times = self._window_length()
        self.lazy = not all(_braindecode_preloaded(d) for d in datasets)
        self._own_to_microvolts = None

    def own_to_microvolts(self):
        if self._own_to_microvolts is None:  # read once, on first use: not at all with explicit units
            self._own_to_microvolts = self.guess_to_microvolts()
        return self._own_to_microvolts

    def _window_length(self):
        lengths = set()
        for d in self.dataset.datasets:
            metadata = getattr(d, "metadata", None)
            if metadata is not None and {"i_start_in_trial", "i_stop_in_trial"} <= set(metadata.columns):
                lengths.update((metadata["i_stop_in_trial"] - metadata["i_start_in_trial"]).unique().tolist())
            else:
                lengths.add(int(np.asarray(d[0][0]).shape[-1]))
        if len(lengths) != 1:
            raise ValueError(
                f"Windows have different lengths {sorted(lengths)} samples; cut windows of one "
                "size (window_size_samples=...) so they can be batched."
            )
        return int(lengths.pop())

    def _read(self, indices):
        # One window at a time is how braindecode reads (each a slice of its
        # recording, from disk when not preloaded); the batch is assembled here.
        out = np.empty((len(indices), self.n_channels, self.n_times), dtype=np.float32)
        for row, index in enumerate(indices):
            window = np.asarray(self.dataset[int(index)][0])
            if window.shape != out.shape[1:]:
                raise ValueError(
                    f"Window {int(index)} of the braindecode dataset has shape {window.shape}, "
                    f"expected {out.shape[1:]} (n_channels, n_times) like the others; check the "
                    "dataset's transform and window sizes."
                )
            out[row] = window
        return out


def _braindecode_info(dataset):
    info = dataset.raw.info if getattr(dataset, "raw", None) is not None else dataset.windows.info
    names = list(info["ch_names"])
    if getattr(dataset, "targets_from", "metadata") != "metadata":
        # braindecode then serves misc channels as targets, not as part of X.
        types = dict(zip(names, info.get_channel_types()))
        names = [name for name in names if types[name] != "misc"]
    return {"ch_names": names, "sfreq": float(info["sfreq"])}


def _braindecode_preloaded(dataset):
    holder = dataset.raw if getattr(dataset, "raw", None) is not None else dataset.windows
    return bool(getattr(holder, "preload", False))


class EpochsSource(WindowSource):
    """Windows of ``mne.Epochs`` (EEG-type channels, bad channels excluded).

    EEG, sEEG, ECoG and DBS channels (all in volts) are used; other channels
    (EOG, ECG, stimulus, MEG, ...) are left out. Epochs that are not preloaded
    are read batch by batch; ``drop_bad()`` is called on them first (in
    place, as MNE does on the first access to their data), because MNE only
    knows how many epochs there are, and reads them by index, once rejected
    epochs are dropped.
    """

    kind = "epochs"
    declares_units = True

    def __init__(self, epochs):
        import mne

        self.epochs = epochs
        self.picks = mne.pick_types(epochs.info, eeg=True, seeg=True, ecog=True, dbs=True,
                                    exclude="bads")
        if len(self.picks) == 0:
            types = sorted(set(epochs.get_channel_types()))
            raise ValueError(
                f"The Epochs have no good EEG, sEEG, ECoG or DBS channels (channel types: {types}); "
                "set the channel types (epochs.set_channel_types) or check info['bads']."
            )
        self.lazy = not epochs.preload
        if self.lazy and not epochs._bad_dropped:
            epochs.drop_bad()
        self.n_windows = len(epochs)
        if self.n_windows == 0:
            raise ValueError("Found 0 windows: the Epochs object is empty (all epochs dropped?).")
        self.n_channels = len(self.picks)
        self.n_times = len(epochs.times)
        self.sfreq = float(epochs.info["sfreq"])
        self.ch_names = [epochs.ch_names[p] for p in self.picks]
        if not self.lazy:
            _check_finite(epochs.get_data(picks=self.picks, copy=False), "the Epochs")
            self.checked_finite = True

    def _read(self, indices):
        # ``item`` selects before copying, for preloaded epochs too, so a batch
        # never copies the whole data array.
        data = self.epochs.get_data(picks=self.picks, item=indices)
        if data.shape[0] != len(indices):
            raise ValueError(
                f"Asked the Epochs for {len(indices)} epochs and got {data.shape[0]}; epochs were "
                "dropped while reading. Call epochs.drop_bad() before passing them."
            )
        return data.astype(np.float32, copy=False)

    def own_to_microvolts(self):
        return 1e6  # MNE holds EEG, sEEG, ECoG and DBS in volts


class SubsetSource(WindowSource):
    """A subset of another source, given by indices (no copy)."""

    def __init__(self, source: WindowSource, indices):
        self.source = source
        self.indices = np.asarray(indices, dtype=np.int64)
        if self.indices.size == 0:
            raise ValueError("Found 0 windows: the selection is empty.")
        self.n_windows = len(self.indices)
        self.n_channels, self.n_times = source.n_channels, source.n_times
        self.sfreq, self.ch_names = source.sfreq, source.ch_names
        self.lazy, self.kind = source.lazy, source.kind
        self.checked_finite = source.checked_finite
        self.declares_units = source.declares_units
        self.from_2d = getattr(source, "from_2d", False)

    def _read(self, indices):
        return self.source._read(self.indices[indices])

    def guess_to_microvolts(self):
        return self.source.guess_to_microvolts()

    def own_to_microvolts(self):
        return self.source.own_to_microvolts()


class _StackedEpochsSource(ArraySource):
    """Preloaded ``mne.Epochs`` of a list, their EEG-type channels stacked into one array (volts)."""

    kind = "epochs"
    declares_units = True

    def own_to_microvolts(self):
        return 1e6  # MNE holds EEG, sEEG, ECoG and DBS in volts


class ConcatSource(WindowSource):
    """Sources with the same channels, window length and sampling frequency, read one after the other.

    Parameters
    ----------
    sources : list of WindowSource
    """

    def __init__(self, sources):
        sources = list(sources)
        if not sources:
            raise ValueError("Found 0 windows: nothing to concatenate.")
        first = sources[0]
        for i, other in enumerate(sources[1:], start=1):
            _check_same_windows(first, other, i)
        self.sources = sources
        self.offsets = np.cumsum([0] + [s.n_windows for s in sources])
        self.n_windows = int(self.offsets[-1])
        self.n_channels, self.n_times = first.n_channels, first.n_times
        self.sfreq, self.ch_names = first.sfreq, list(first.ch_names)
        self.kind, self.declares_units = first.kind, first.declares_units
        self.lazy = any(s.lazy for s in sources)
        self.checked_finite = all(s.checked_finite for s in sources)
        self.from_2d = all(getattr(s, "from_2d", False) for s in sources)

    def own_to_microvolts(self):
        return self.sources[0].own_to_microvolts()

    def _read(self, indices):
        owner = np.searchsorted(self.offsets, indices, side="right") - 1
        out = np.empty((len(indices), self.n_channels, self.n_times), dtype=np.float32)
        for k in np.unique(owner):
            rows = np.flatnonzero(owner == k)
            out[rows] = self.sources[k]._read(indices[rows] - self.offsets[k])
        return out


_MULTIDATASET_HINT = ("to pretrain on datasets with different channels or window lengths, pool them with "
                      "skseqclr.MultiDataset([dataset_a, dataset_b]) (SeqCLRTransformer.fit only)")


def _check_same_windows(first: WindowSource, other: WindowSource, index: int, what="item") -> None:
    """Refuse item ``index`` of a list if its windows cannot follow those of item 0."""
    if list(other.ch_names) != list(first.ch_names):
        raise ValueError(
            f"The {what}s of the list have different channels: {what} 0 has {first.n_channels} "
            f"({', '.join(first.ch_names[:4])}{', ...' if first.n_channels > 4 else ''}), {what} {index} has "
            f"{other.n_channels} ({', '.join(other.ch_names[:4])}{', ...' if other.n_channels > 4 else ''}; bad "
            f"channels excluded). A list is one sequence of windows with the same channels; pick the same "
            f"channels in each, or {_MULTIDATASET_HINT}."
        )
    if first.sfreq is not None and other.sfreq is not None and not np.isclose(first.sfreq, other.sfreq):
        raise ValueError(
            f"The {what}s of the list have different sampling frequencies: {first.sfreq} Hz ({what} 0) and "
            f"{other.sfreq} Hz ({what} {index}); resample them to one rate first (e.g. epochs.resample), or "
            f"{_MULTIDATASET_HINT} and set resample_to."
        )
    if other.n_times != first.n_times:
        raise ValueError(
            f"The {what}s of the list have windows of different lengths: {first.n_times} samples ({what} 0) "
            f"and {other.n_times} ({what} {index}); a list is one sequence of equally long windows: cut them "
            f"to one length, or {_MULTIDATASET_HINT}."
        )
    if other.own_to_microvolts() != first.own_to_microvolts():
        raise ValueError(
            f"The {what}s of the list hold different units: {what} 0 looks like "
            f"{_unit_name(first.own_to_microvolts())}, {what} {index} like {_unit_name(other.own_to_microvolts())}; "
            "convert them to one unit first."
        )


def _channel_names(ch_names, n_channels):
    if ch_names is None:
        return [f"ch{i}" for i in range(n_channels)]
    ch_names = [str(c) for c in ch_names]
    if len(ch_names) != n_channels:
        raise ValueError(f"Got {len(ch_names)} channel names for windows with {n_channels} channels.")
    return ch_names


def _is_instance_of(obj, module, name):
    mod = sys.modules.get(module)
    return mod is not None and isinstance(obj, getattr(mod, name))


def _is_slice_dataset(X):
    return _is_instance_of(X, "skorch.helper", "SliceDataset")


def _is_braindecode(X):
    return _is_instance_of(X, "braindecode.datasets.base", "BaseConcatDataset") or (
        type(X).__name__ == "BaseConcatDataset" and hasattr(X, "datasets")
    )


def _is_epochs(X):
    return _is_instance_of(X, "mne.epochs", "BaseEpochs")


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


def resolve_units(units, source: WindowSource) -> float:
    """Factor that converts ``source``'s data to microvolts, from ``source`` alone.

    Parameters
    ----------
    units : {"auto", "V", "mV", "uV"} or float
        See the module's Units section. ``"auto"`` gives the units the input
        declares (``mne.Epochs``: volts), else the guess from its amplitude.
    source : WindowSource

    Returns
    -------
    float
        The factor to µV.

    See Also
    --------
    fit_units, transform_units : How the estimators decide ``"auto"`` once, at fit.
    """
    if isinstance(units, str):
        if units == "auto":
            own = source.own_to_microvolts()
            return source.guess_to_microvolts() if own is None else float(own)
        if units not in _UNIT_FACTORS:
            raise ValueError(f"units={units!r} is not one of 'auto', 'V', 'mV', 'uV' or a number.")
        return _UNIT_FACTORS[units]
    try:
        factor = float(units)
    except (TypeError, ValueError):
        factor = float("nan")
    if isinstance(units, (bool, np.bool_)) or not np.isfinite(factor) or factor <= 0:
        raise ValueError(f"units={units!r} is not one of 'auto', 'V', 'mV', 'uV' or a number: a numeric factor "
                         "to µV must be positive and finite.")
    return factor


def fit_units(units, sources) -> tuple[list[float], float]:
    """The factors to µV of training datasets, and the one kept for the inputs of later calls.

    Parameters
    ----------
    units : {"auto", "V", "mV", "uV"} or float
    sources : list of WindowSource
        The training datasets.

    Returns
    -------
    factors : list of float
        One per training dataset (:func:`resolve_units`: with ``"auto"``,
        the units the dataset carries, :meth:`WindowSource.own_to_microvolts`,
        else the guess from its training windows' amplitude).
    kept : float
        The factor for inputs that carry no units (arrays, tensors) in later
        calls, the estimator's ``to_microvolts_``: the explicit units, or with
        ``"auto"`` the factor of the first training dataset that carries none,
        or that of the first dataset when all carry theirs.
    """
    factors = [resolve_units(units, source) for source in sources]
    if isinstance(units, str) and units == "auto":
        for source, factor in zip(sources, factors):
            if source.declares_units:
                _warn_if_unlike(source, factor, None)
        without_units = [f for s, f in zip(sources, factors) if s.own_to_microvolts() is None]
        return factors, (without_units or factors)[0]
    return factors, factors[0]


def transform_units(units, source: WindowSource, fitted: float) -> float:
    """The factor to µV of ``source`` at transform or predict time: the same for every window of a call.

    Parameters
    ----------
    units : {"auto", "V", "mV", "uV"} or float
    source : WindowSource
    fitted : float
        The factor kept at fit (``to_microvolts_``, from :func:`fit_units`).

    Returns
    -------
    float
        Explicit units as they are. With ``"auto"``: the units ``source``
        carries (``mne.Epochs``: volts; a braindecode dataset: judged once
        from the dataset as a whole, whichever windows of it are read), else
        ``fitted``. Never a guess from the windows of the call, so a window's
        features do not depend on the others; a ``UserWarning`` says when the
        call's amplitude disagrees with the factor used.
    """
    if not (isinstance(units, str) and units == "auto"):
        return resolve_units(units, source)
    own = source.own_to_microvolts()
    if own is None:
        _warn_if_unlike(source, fitted, fitted)
        return float(fitted)
    if source.declares_units:
        _warn_if_unlike(source, own, None)
    return float(own)


def _unit_name(factor):
    return {1e6: "volts", 1e3: "mV", 1.0: "µV"}.get(float(factor), f"units with factor {factor:g} to µV")


def _warn_if_unlike(source: WindowSource, factor: float, fitted) -> None:
    """Warn when the amplitude of ``source`` looks like other units than ``factor`` converts from."""
    std = source.median_channel_std()
    guess = _guess_from_std(std)
    if float(factor) not in (1.0, 1e6) or guess == float(factor):
        return
    why = (f"was decided at fit from the training data (to_microvolts_={fitted:g})" if fitted is not None
           else "takes the units they declare (MNE holds EEG in volts)")
    noun = {"array": "windows", "epochs": "mne.Epochs"}.get(source.kind, source.kind)
    warnings.warn(
        f"These {noun} look like {_unit_name(guess)} (median channel standard deviation {std:.3g} in "
        f"their own units) but are read as {_unit_name(factor)}, as units='auto' {why}; their features may be "
        "wrong. Pass units explicitly ('V', 'mV', 'uV' or a factor) if the inputs' units differ.",
        UserWarning, stacklevel=3,
    )


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
