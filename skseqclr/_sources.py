"""The window sources behind :func:`skseqclr.inputs.as_window_source`.

A :class:`WindowSource` gives uniform, batched, read-only access to a set of
equally shaped EEG windows; one subclass per kind of input (arrays,
braindecode datasets, ``mne.Epochs``), plus subsets and concatenations of
sources. The public names are re-exported by :mod:`skseqclr.inputs`.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod

import numpy as np


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


def describe_windows(indices) -> str:
    """``"window(s) i, j, ..."``: the first five window indices, for error messages."""
    shown = ", ".join(str(i) for i in np.asarray(indices)[:5].tolist())
    return f"window(s) {shown}{', ...' if len(indices) > 5 else ''}"


def _check_finite(data: np.ndarray, where: str, indices=None) -> None:
    """Refuse NaN/inf in ``data`` (windows first), naming the windows (``indices``: theirs in the input)."""
    finite = np.isfinite(data)
    if not finite.all():
        rows = np.flatnonzero(~finite.reshape(len(data), -1).all(axis=1))
        windows = rows if indices is None else np.asarray(indices)[rows]
        raise ValueError(
            f"The input contains NaN or infinite values (in {where}: {describe_windows(windows)}); remove or "
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



def _unit_name(factor):
    return {1e6: "volts", 1e3: "mV", 1.0: "µV"}.get(float(factor), f"units with factor {factor:g} to µV")
