"""Every input kind the estimators accept, read lazily where it should be, and every bad input.

Each kind goes through :func:`skseqclr.inputs.as_window_source` and through a
brief ``SeqCLRTransformer.fit``/``transform`` with the tiny test model.
Recordings are synthetic, written to ``tmp_path`` as FIF files and read back
with ``preload=False``, so laziness is real disk reading; one test uses a
shared eegmat EDF file when it is present.
"""

from __future__ import annotations

import warnings

import mne
import numpy as np
import pytest
import torch
from braindecode.datasets import BaseConcatDataset, RawDataset
from braindecode.preprocessing import create_fixed_length_windows, create_windows_from_events
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from skorch.helper import SliceDataset

from conftest import shared_path
from skseqclr import Preprocessing, SeqCLRTransformer
from skseqclr.inputs import (
    ArraySource,
    BraindecodeSource,
    EpochsSource,
    SubsetSource,
    as_window_source,
    extract_targets,
    resolve_units,
)

SFREQ = 128.0
N_TIMES = 160  # 1.25 s: longer than the paper's time shift (50) and zero-mask (150) need
CH_NAMES = ["C3", "Cz", "C4"]
EVENT_ID = {"left": 1, "right": 2}

mne.set_log_level("ERROR")


def _fit_kwargs(tiny, **overrides):
    kwargs = dict(tiny, n_epochs=1, max_steps=1, batch_size=8, random_state=0)
    kwargs.update(overrides)
    return kwargs


def _eeg_volts(n_channels, n_times, seed=0):
    """EEG-like noise in volts (channel standard deviation 20 µV)."""
    return 20e-6 * np.random.default_rng(seed).standard_normal((n_channels, n_times))


def _write_raw(path, data=None, ch_names=CH_NAMES, n_events=8, extra_channels=False):
    """A recording with ``n_events`` annotated events, saved as FIF; returns the path."""
    data = _eeg_volts(len(ch_names), int(SFREQ * 24)) if data is None else data
    names, types = list(ch_names), ["eeg"] * len(ch_names)
    if extra_channels:  # channels an EEG window set must leave out
        data = np.vstack([data, 100e-6 * np.ones((1, data.shape[1])), np.zeros((1, data.shape[1]))])
        names += ["EOG", "STI"]
        types += ["eog", "stim"]
    raw = mne.io.RawArray(data, mne.create_info(names, SFREQ, types))
    onsets = (np.arange(n_events) * 2 * SFREQ + SFREQ // 2).astype(int)
    events = np.column_stack([onsets, np.zeros(n_events, int), 1 + np.arange(n_events) % 2])
    raw.set_annotations(mne.annotations_from_events(events, SFREQ, {v: k for k, v in EVENT_ID.items()}))
    raw.save(path, overwrite=True)
    return path


def _events(raw):
    events, _ = mne.events_from_annotations(raw, event_id=EVENT_ID)
    return events


@pytest.fixture
def fif(tmp_path):
    return _write_raw(tmp_path / "recording_raw.fif")


# braindecode's EEGWindowsDataset serves windows from the recording as it was
# read (its ``preload`` only applies to MNE-Epochs-based windows), so a lazy
# dataset is one made from a raw read with ``preload=False``.
def _fixed_windows(*paths, preload=False):
    recordings = [RawDataset(mne.io.read_raw_fif(p, preload=preload), description={"recording": i})
                  for i, p in enumerate(paths)]
    return create_fixed_length_windows(BaseConcatDataset(recordings), window_size_samples=N_TIMES,
                                       window_stride_samples=N_TIMES, on_last_window="drop", preload=preload)


def _event_windows(path, preload=False):
    recording = RawDataset(mne.io.read_raw_fif(path, preload=preload), description={"recording": 0})
    return create_windows_from_events(BaseConcatDataset([recording]), trial_start_offset_samples=0,
                                      trial_stop_offset_samples=N_TIMES, mapping=EVENT_ID, preload=preload)


class DiskReads:
    """Records every read of a non-preloaded MNE raw from its file(s)."""

    def __init__(self, raw, monkeypatch):
        assert not raw.preload
        self.raw, self.spans = raw, []
        cls = type(raw)
        read = cls._read_segment_file  # MNE calls it on the class, through a protector object

        def spy(reader, data, idx, fi, start, stop, *args, **kwargs):
            if list(reader._filenames) == list(raw._filenames):
                self.spans.append(stop - start)
            return read(reader, data, idx, fi, start, stop, *args, **kwargs)

        monkeypatch.setattr(cls, "_read_segment_file", spy)

    def check_per_window(self, n_times):
        """Every read was one window, never the recording; the raw stayed lazy."""
        assert self.spans, "nothing was read from disk"
        assert max(self.spans) <= n_times < self.raw.n_times
        assert not self.raw.preload


# --------------------------------------------------------------------- numpy
def test_numpy_3d(tiny):
    X = 20 * np.random.default_rng(0).standard_normal((12, 3, N_TIMES)).astype(np.float32)
    source = as_window_source(X, sfreq=SFREQ)
    assert isinstance(source, ArraySource) and not source.lazy
    assert (source.n_windows, source.n_channels, source.n_times, source.sfreq) == (12, 3, N_TIMES, SFREQ)
    np.testing.assert_array_equal(source.read([5, 0]), X[[5, 0]])
    assert source.ch_names == ["ch0", "ch1", "ch2"]

    model = SeqCLRTransformer(**_fit_kwargs(tiny, sfreq=SFREQ)).fit(X)
    features = model.transform(X)
    assert features.shape == (12, model.n_features_out_) and model.n_features_out_ % 3 == 0
    assert model.sfreq_ == SFREQ and np.isfinite(features).all()


def test_numpy_2d_is_single_channel_windows(tiny):
    X = 20 * np.random.default_rng(0).standard_normal((10, N_TIMES))
    source = as_window_source(X, sfreq=SFREQ)
    assert (source.n_windows, source.n_channels, source.n_times) == (10, 1, N_TIMES)
    np.testing.assert_allclose(source.read([3])[0, 0], X[3], rtol=1e-6)
    assert source.read([0]).dtype == np.float32

    model = SeqCLRTransformer(**_fit_kwargs(tiny, sfreq=SFREQ)).fit(X)
    features_2d = model.transform(X)
    np.testing.assert_allclose(features_2d, model.transform(X[:, np.newaxis, :]), rtol=1e-5, atol=1e-6)
    assert features_2d.shape[0] == 10


# ---------------------------------------------------------------- braindecode
@pytest.mark.parametrize("make_windows", [_fixed_windows, _event_windows])
def test_braindecode_windows_are_read_lazily(fif, tiny, make_windows, monkeypatch):
    windows = make_windows(fif)
    raw = windows.datasets[0].raw
    source = as_window_source(windows)
    assert isinstance(source, BraindecodeSource) and source.lazy
    assert (source.n_channels, source.n_times, source.sfreq) == (3, N_TIMES, SFREQ)
    assert source.ch_names == CH_NAMES
    reference = mne.io.read_raw_fif(fif, preload=True).get_data()
    start = int(windows.get_metadata()["i_start_in_trial"].iloc[2])
    np.testing.assert_allclose(source.read([2])[0], reference[:, start : start + N_TIMES], rtol=1e-6)

    disk = DiskReads(raw, monkeypatch)
    batch_sizes = []
    read = BraindecodeSource._read

    def record(self, indices):
        batch_sizes.append(len(indices))
        return read(self, indices)

    monkeypatch.setattr(BraindecodeSource, "_read", record)
    model = SeqCLRTransformer(**_fit_kwargs(tiny)).fit(windows)
    # fit reads training batches and bounded samples (unit guess, input scale): at most 64 windows
    assert max(batch_sizes) <= 64
    batch_sizes.clear()
    features = model.transform(windows)
    assert features.shape[0] == len(windows) and model.sfreq_ == SFREQ
    assert model.to_microvolts_ == 1e6  # volts detected
    disk.check_per_window(N_TIMES)
    # transform reads a bounded sample (the unit guess), then batches of batch_size // n_channels
    # windows, never the whole set at once
    guess, *batches = batch_sizes
    assert guess <= 16 and max(batches) <= 8 // 3 and sum(batches) == len(windows)


def test_braindecode_preloaded_and_targets(fif):
    windows = _event_windows(fif, preload=True)
    source = as_window_source(windows)
    assert not source.lazy and source.n_windows == 8
    np.testing.assert_array_equal(extract_targets(windows), [1, 2] * 4)  # EVENT_ID's codes, in event order
    assert extract_targets(np.zeros((3, 2, 10))) is None


def test_braindecode_with_several_recordings(tmp_path):
    paths = [_write_raw(tmp_path / f"r{i}_raw.fif", data=_eeg_volts(3, int(SFREQ * 8), seed=i)) for i in range(2)]
    windows = _fixed_windows(*paths)
    source = as_window_source(windows)
    per_recording = int(SFREQ * 8) // N_TIMES
    assert source.n_windows == 2 * per_recording
    second = mne.io.read_raw_fif(paths[1], preload=True).get_data()
    np.testing.assert_allclose(source.read([per_recording])[0], second[:, :N_TIMES], rtol=1e-6)


@pytest.mark.shared_data
def test_braindecode_over_a_lazy_edf_recording(tiny, monkeypatch):
    edf = shared_path("eegmat", "Subject00_1.edf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = mne.io.read_raw_edf(edf, preload=False)
    raw.pick(["EEG Fz", "EEG Cz"]).crop(tmax=3.0, include_tmax=False)  # lazy: nothing read yet
    windows = create_fixed_length_windows(
        BaseConcatDataset([RawDataset(raw, description={"subject": 0})]), window_size_samples=250,
        window_stride_samples=250, on_last_window="drop", preload=False)
    disk = DiskReads(windows.datasets[0].raw, monkeypatch)
    model = SeqCLRTransformer(**_fit_kwargs(tiny, n_epochs=0)).fit(windows)
    features = model.transform(windows)
    assert features.shape[0] == 6 and np.isfinite(features).all()
    assert model.sfreq_ == 500.0 and model.to_microvolts_ == 1e6
    disk.check_per_window(250)


# ------------------------------------------------------------------------ MNE
@pytest.mark.parametrize("preload", [False, True])
def test_mne_epochs(tmp_path, tiny, preload, monkeypatch):
    fif = _write_raw(tmp_path / "with_eog_raw.fif", extra_channels=True)
    raw = mne.io.read_raw_fif(fif, preload=False)
    epochs = mne.Epochs(raw, _events(raw), event_id=EVENT_ID, tmin=0, tmax=(N_TIMES - 1) / SFREQ,
                        baseline=None, preload=preload)
    source = as_window_source(epochs)
    assert isinstance(source, EpochsSource) and source.lazy is not preload
    assert source.ch_names == CH_NAMES  # EOG and stimulus channels left out
    assert (source.n_windows, source.n_times, source.sfreq) == (8, N_TIMES, SFREQ)
    np.testing.assert_allclose(source.read([1, 4]), epochs.get_data(picks="eeg")[[1, 4]], rtol=1e-6)
    assert list(extract_targets(epochs)) == ["left", "right"] * 4

    disk = None if preload else DiskReads(raw, monkeypatch)
    model = SeqCLRTransformer(**_fit_kwargs(tiny)).fit(epochs)
    assert model.transform(epochs).shape[0] == 8 and model.sfreq_ == SFREQ
    if disk is not None:
        disk.check_per_window(N_TIMES)
        assert not epochs.preload


def test_mne_epochs_array(tiny):
    data = np.stack([_eeg_volts(3, N_TIMES, seed=i) for i in range(6)])
    epochs = mne.EpochsArray(data, mne.create_info(CH_NAMES, SFREQ, "eeg"))
    source = as_window_source(epochs)
    np.testing.assert_allclose(source.read(np.arange(6)), data, rtol=1e-6)
    assert resolve_units("auto", source) == 1e6
    model = SeqCLRTransformer(**_fit_kwargs(tiny)).fit(epochs)
    assert model.transform(epochs).shape[0] == 6


def test_mne_epochs_exclude_bad_channels():
    epochs = mne.EpochsArray(np.stack([_eeg_volts(3, N_TIMES)]), mne.create_info(CH_NAMES, SFREQ, "eeg"))
    epochs.info["bads"] = ["Cz"]
    assert as_window_source(epochs).ch_names == ["C3", "C4"]


# --------------------------------------------------------------------- skorch
def test_slice_dataset_is_unwrapped_without_copying(fif, tiny, monkeypatch):
    windows = _fixed_windows(fif)
    sliced = SliceDataset(windows)
    subset = sliced[np.array([7, 2, 4])]  # what GridSearchCV's splits do

    reads = []
    getitem = BaseConcatDataset.__getitem__
    monkeypatch.setattr(BaseConcatDataset, "__getitem__", lambda self, i: reads.append(i) or getitem(self, i))
    source = as_window_source(subset)
    assert isinstance(source, SubsetSource) and source.n_windows == 3
    assert reads == []  # wrapping reads no window
    np.testing.assert_array_equal(source.read([0, 1, 2]), np.stack([windows[i][0] for i in (7, 2, 4)]))
    assert reads[:3] == [7, 2, 4]  # only the selected windows are read

    targets = extract_targets(SliceDataset(windows, idx=1)[np.array([7, 2, 4])])
    np.testing.assert_array_equal(targets, extract_targets(windows)[[7, 2, 4]])
    with pytest.raises(ValueError, match="idx=1"):
        as_window_source(SliceDataset(windows, idx=1))


def test_slice_dataset_under_cross_validation(fif, tiny):
    windows = _fixed_windows(fif)
    X = SliceDataset(windows)
    y = np.arange(len(windows)) % 2
    pipe = make_pipeline(SeqCLRTransformer(**_fit_kwargs(tiny, n_epochs=0)), LogisticRegression())
    scores = cross_val_score(pipe, X, y, cv=2)
    assert scores.shape == (2,) and np.isfinite(scores).all()


# ------------------------------------------------------------- sfreq, units
def test_sfreq_comes_from_metadata_and_must_agree(fif):
    windows = _fixed_windows(fif)
    assert as_window_source(windows).sfreq == SFREQ
    assert as_window_source(windows, sfreq=SFREQ).sfreq == SFREQ
    with pytest.raises(ValueError, match="disagrees"):
        as_window_source(windows, sfreq=100.0)
    assert as_window_source(np.zeros((2, 1, 10)) + 1).sfreq is None


@pytest.mark.parametrize("scale, expected", [(1e-6, 1e6), (1.0, 1.0)])
def test_units_are_detected(scale, expected):
    X = scale * 20 * np.random.default_rng(0).standard_normal((4, 2, 100))
    assert resolve_units("auto", as_window_source(X)) == expected


@pytest.mark.parametrize("units, expected", [("V", 1e6), ("mV", 1e3), ("uV", 1.0), ("µV", 1.0), (2.5, 2.5)])
def test_explicit_units(units, expected):
    assert resolve_units(units, as_window_source(np.ones((2, 1, 10)))) == expected


@pytest.mark.parametrize("units", ["volts", -1.0, 0.0, float("nan")])
def test_bad_units(units):
    with pytest.raises(ValueError, match="units"):
        resolve_units(units, as_window_source(np.ones((2, 1, 10))))


def test_volts_and_microvolts_give_the_same_features(tiny):
    X_uv = 20 * np.random.default_rng(0).standard_normal((6, 2, N_TIMES)).astype(np.float32)
    model = SeqCLRTransformer(**_fit_kwargs(tiny, sfreq=SFREQ)).fit(X_uv)
    # units="auto" is decided at fit, from the training data: a model fitted on volts reads volts
    in_volts = SeqCLRTransformer(**_fit_kwargs(tiny, sfreq=SFREQ)).fit(X_uv * 1e-6)
    assert (model.to_microvolts_, in_volts.to_microvolts_) == (1.0, 1e6)
    np.testing.assert_allclose(in_volts.transform(X_uv * 1e-6), model.transform(X_uv), rtol=1e-4, atol=1e-4)
    explicit = SeqCLRTransformer(**_fit_kwargs(tiny, sfreq=SFREQ, preprocessing=Preprocessing(units="V"))).fit(
        X_uv * 1e-6)
    assert explicit.to_microvolts_ == 1e6


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_arrays_are_refused(tiny, bad):
    X = np.ones((4, 2, N_TIMES))
    X[2, 1, 17] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        as_window_source(X)
    with pytest.raises(ValueError, match="NaN or infinite"):
        SeqCLRTransformer(**_fit_kwargs(tiny, sfreq=SFREQ)).fit(X)


def test_values_beyond_float32_are_refused():
    with pytest.raises(ValueError, match="NaN or infinite"):
        as_window_source(np.full((2, 1, 10), 1e300))


@pytest.mark.parametrize("preload", [False, True])
def test_non_finite_windows_of_a_braindecode_dataset_are_refused(tmp_path, tiny, preload):
    data = _eeg_volts(3, int(SFREQ * 8))
    data[1, 3 * N_TIMES + 5] = np.nan  # inside window 3
    windows = _fixed_windows(_write_raw(tmp_path / "nan_raw.fif", data=data), preload=preload)
    source = as_window_source(windows)  # wrapping does not read the dataset
    source.read([0, 1, 2])
    with pytest.raises(ValueError, match=r"NaN or infinite.*window\(s\) 3\)"):  # of the batch 2, 3: the one with NaN
        source.read([2, 3])
    with pytest.raises(ValueError, match="NaN or infinite"):
        SeqCLRTransformer(**_fit_kwargs(tiny, preprocessing=Preprocessing(units="V"))).fit(windows)


@pytest.mark.parametrize("shape", [(N_TIMES,), (2, 3, 4, N_TIMES), ()])
def test_wrong_ndim_is_refused(shape):
    with pytest.raises(ValueError, match="n_windows, n_channels, n_times.*dimension.*Reshape your data"):
        as_window_source(np.ones(shape))


@pytest.mark.parametrize("shape", [(4, 0), (4, 0, N_TIMES), (4, 2, 0)])
def test_windows_without_channels_or_samples_are_refused(shape):
    with pytest.raises(ValueError, match=r"0 feature\(s\).*at least one channel and one sample"):
        as_window_source(np.ones(shape))


def test_sparse_input_is_refused():
    from scipy import sparse

    with pytest.raises(ValueError, match="Sparse input is not supported"):
        as_window_source(sparse.csr_matrix(np.eye(4)))


@pytest.mark.parametrize("shape", [(0, 3, N_TIMES), (0, N_TIMES)])
def test_zero_windows_are_refused(tiny, shape):
    with pytest.raises(ValueError, match="0 windows"):
        as_window_source(np.ones(shape))
    with pytest.raises(ValueError, match="0 windows"):
        SeqCLRTransformer(**_fit_kwargs(tiny, sfreq=SFREQ)).fit(np.ones(shape))


def test_zero_windows_after_slicing_are_refused(fif):
    with pytest.raises(ValueError, match="0 windows"):
        as_window_source(SliceDataset(_fixed_windows(fif))[np.array([], dtype=int)])


def _object_array(*values):
    X = np.ones((2, 1, 4), dtype=object)
    X[0, 0, : len(values)] = values
    return X


@pytest.mark.parametrize("X, error, match", [
    (np.array([[["a", "b"]]]), ValueError, "real numbers.*<U1"),
    (_object_array("a"), ValueError, "real numbers.*could not convert"),
    (_object_array(None), ValueError, "NaN"),  # numpy converts None to NaN
    (_object_array([1.0]), ValueError, "real numbers.*sequence"),
    (_object_array({"foo": "bar"}), TypeError, "real numbers.*argument must be a string or a real number"),
    (np.ones((2, 1, 4), dtype=complex), ValueError, "Complex"),
    (np.ones((2, 1, 4), dtype=bool), ValueError, "real numbers.*bool"),
    ([np.ones((2, 4)), np.ones((3, 4))], ValueError, "different channel counts"),  # a list of 2-D windows
    ([[1.0, 2.0], [1.0]], ValueError, "different lengths"),  # a ragged nested list
])
def test_non_numeric_windows_are_refused(X, error, match):
    # TypeError where numpy's conversion raises one: scikit-learn's estimator checks expect it.
    with pytest.raises(error, match=match):
        as_window_source(X)


def test_object_arrays_of_numbers_are_numeric():
    X = np.arange(8.0).reshape(2, 1, 4).astype(object)
    np.testing.assert_array_equal(as_window_source(X).read([1]), [[[4.0, 5.0, 6.0, 7.0]]])


def test_windows_shorter_than_the_encoder_are_refused(tiny):
    no_augmentation = dict(amplitude_scale=None, time_shift=None, dc_shift=None, zero_mask=None,
                           gaussian_noise=None, bandstop=None)
    short = np.ones((4, 2, 3)) + np.arange(3)
    with pytest.raises(ValueError, match="too short for the conv encoder"):
        SeqCLRTransformer(**_fit_kwargs(tiny, **no_augmentation)).fit(short)
    model = SeqCLRTransformer(**_fit_kwargs(tiny, n_epochs=0, **no_augmentation)).fit(np.ones((4, 2, 64)) + np.arange(64))
    with pytest.raises(ValueError, match="too short for the conv encoder"):
        model.transform(short)


@pytest.mark.parametrize("n_times, match", [(40, "time_shift"), (120, "zero_mask")])
def test_windows_shorter_than_an_augmentation_needs_are_refused(tiny, n_times, match):
    X = 20 * np.random.default_rng(0).standard_normal((4, 2, n_times))
    # given ranges stay in samples (the default "auto" is capped to fit any window)
    paper = dict(time_shift=(-50, 50), zero_mask=(0, 150))
    with pytest.raises(ValueError, match=f"{match}.*only {n_times} samples"):
        SeqCLRTransformer(**_fit_kwargs(tiny, sfreq=SFREQ, **paper)).fit(X)


def test_missing_sfreq_for_the_bandstop_is_refused(tiny):
    X = 20 * np.random.default_rng(0).standard_normal((8, 2, N_TIMES))
    with pytest.raises(ValueError, match="bandstop.*sampling frequency.*sfreq="):
        SeqCLRTransformer(**_fit_kwargs(tiny, bandstop=(2.8, 82.5))).fit(X)
    model = SeqCLRTransformer(**_fit_kwargs(tiny, bandstop=None)).fit(X)  # no band-stop, no sfreq needed
    assert model.sfreq_ is None


def test_mismatched_channels_across_recordings_are_refused(tmp_path):
    first = _write_raw(tmp_path / "a_raw.fif", data=_eeg_volts(3, int(SFREQ * 4)))
    second = _write_raw(tmp_path / "b_raw.fif", data=_eeg_volts(2, int(SFREQ * 4)), ch_names=["C3", "C4"])
    with pytest.raises(ValueError, match="Mismatched channels.*recording 1 has 2 channels"):
        as_window_source(_fixed_windows(first, second))
    reordered = _write_raw(tmp_path / "c_raw.fif", data=_eeg_volts(3, int(SFREQ * 4)), ch_names=["C4", "Cz", "C3"])
    with pytest.raises(ValueError, match="Mismatched channels"):
        as_window_source(_fixed_windows(first, reordered))


def test_continuous_braindecode_recordings_are_refused(fif):
    recordings = BaseConcatDataset([RawDataset(mne.io.read_raw_fif(fif, preload=False), description={"r": 0})])
    with pytest.raises(ValueError, match="cut windows first"):
        as_window_source(recordings)


def test_epochs_without_eeg_channels_are_refused():
    epochs = mne.EpochsArray(np.ones((2, 1, 10)), mne.create_info(["EOG"], SFREQ, "eog"))
    with pytest.raises(ValueError, match="no good EEG"):
        as_window_source(epochs)


def test_torch_tensors_are_accepted():
    X = torch.randn(3, 2, 20)
    np.testing.assert_array_equal(as_window_source(X).read([1]), X[[1]].numpy())
