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

Units
-----
The paper states its DC-shift range in microvolts (§2.2), so the package
augments in µV: every batch is multiplied by the factor from
:func:`resolve_units` when it is moved to the device. MNE and braindecode hold
EEG in volts, numpy input is whatever the user has. ``units="auto"`` guesses
from the amplitude: EEG has channel standard deviations of a few to a few
hundred µV, so a median channel standard deviation below 0.01 (in the data's
units) means volts and anything else means µV. Pass ``units="V"``, ``"mV"``,
``"uV"`` or a number (the factor to µV) to say it explicitly, e.g. for data in
mV, whose amplitudes the guess would take for µV.

Validation
----------
Every bad input is a ``ValueError`` that names the problem: wrong number of
dimensions, zero windows, non-numeric or complex values, channels that differ
between the recordings of one dataset, and NaN or infinite values. Arrays are
checked for finiteness once, when wrapped; windows read from disk (or from a
braindecode dataset) are checked batch by batch, as they are read, so a lazy
dataset is never read as a whole just to validate it.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

__all__ = ["WindowSource", "ArraySource", "BraindecodeSource", "EpochsSource", "SubsetSource",
           "as_window_source", "as_window_sources", "resolve_units", "extract_targets"]

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
            _check_finite(data, f"{self.kind} {_describe_indices(indices)}")
        return data

    def guess_to_microvolts(self) -> float:
        """Factor to µV guessed from amplitude (see the module's Units section)."""
        sample = np.linspace(0, self.n_windows - 1, num=min(self.n_windows, 16)).astype(np.int64)
        std = float(np.median(self.read(sample).std(axis=-1)))
        return 1e6 if std < _VOLTS_BELOW_STD else 1.0

    def __len__(self):
        return self.n_windows

    def __repr__(self):
        return (
            f"{type(self).__name__}(n_windows={self.n_windows}, n_channels={self.n_channels}, "
            f"n_times={self.n_times}, sfreq={self.sfreq})"
        )


def _describe_indices(indices: np.ndarray) -> str:
    shown = ", ".join(str(i) for i in indices[:5].tolist())
    return f"window(s) {shown}{', ...' if len(indices) > 5 else ''}"


def _check_finite(data: np.ndarray, where: str) -> None:
    if not np.isfinite(data).all():
        raise ValueError(
            f"The input contains NaN or infinite values (in {where}); remove or interpolate "
            "them (for example with mne's interpolate_bads or annotations) before fitting."
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
                    "pick the same channels in every recording, or pass the recordings as a list "
                    "of separate datasets to SeqCLRTransformer.fit."
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
        self.from_2d = getattr(source, "from_2d", False)

    def _read(self, indices):
        return self.source._read(self.indices[indices])

    def guess_to_microvolts(self):
        return self.source.guess_to_microvolts()


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


def as_window_source(X, sfreq=None, ch_names=None) -> WindowSource:
    """Wrap any supported input in a :class:`WindowSource`.

    Parameters
    ----------
    X : array-like, braindecode BaseConcatDataset, mne.Epochs, skorch SliceDataset or WindowSource
        The windows (see the module docstring).
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


def _is_collection_of_datasets(X) -> bool:
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    return all(
        isinstance(x, WindowSource) or _is_braindecode(x) or _is_epochs(x) or _is_slice_dataset(x)
        or (hasattr(x, "ndim") and np.ndim(x) in (2, 3))
        for x in X
    ) and not all(np.ndim(x) == 1 for x in X)


def as_window_sources(X, sfreq=None, ch_names=None) -> list[WindowSource]:
    """Wrap one input, or a list of inputs (multi-dataset pretraining), in sources."""
    if _is_collection_of_datasets(X):
        return [as_window_source(x, sfreq=sfreq, ch_names=ch_names) for x in X]
    return [as_window_source(X, sfreq=sfreq, ch_names=ch_names)]


def resolve_units(units, source: WindowSource) -> float:
    """Factor that converts ``source``'s data to microvolts.

    Parameters
    ----------
    units : {"auto", "V", "mV", "uV"} or float
        See the module's Units section.
    source : WindowSource
    """
    if units == "auto":
        return source.guess_to_microvolts()
    if isinstance(units, str):
        if units not in _UNIT_FACTORS:
            raise ValueError(f"units={units!r} is not one of 'auto', 'V', 'mV', 'uV' or a number.")
        return _UNIT_FACTORS[units]
    factor = float(units)
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(f"units={units!r}: a numeric factor to µV must be positive and finite.")
    return factor


def extract_targets(X) -> np.ndarray | None:
    """Targets carried by the input, if any.

    braindecode windows datasets carry a target per window (the ``target``
    column of their metadata); ``mne.Epochs`` carry event codes (mapped back to
    their names through ``event_id``). Arrays carry none.

    Returns
    -------
    np.ndarray of shape (n_windows,) or None
    """
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
    """True for inputs that sklearn's array validation must not touch."""
    return _is_braindecode(X) or _is_epochs(X) or _is_slice_dataset(X) or isinstance(X, WindowSource)


def n_samples(X) -> int:
    """Number of windows in any supported input, without reading them."""
    if isinstance(X, Sequence) or hasattr(X, "__len__"):
        return len(X)
    return np.shape(X)[0]
