"""Tests of skseqclr.datasets: the synthetic generator and the EEGMAT / EEGBCI loaders."""

from __future__ import annotations

import hashlib
import socket

import numpy as np
import pytest

from skseqclr import datasets
from skseqclr.datasets import (EEGMAT_CHANNELS, EEGMAT_REGISTRY, fetch_eegmat, find_eegmat, load_eegbci,
                               load_eegbci_continuous,
                               make_synthetic_eeg)
from skseqclr.inputs import as_window_source, extract_targets

from conftest import shared_path


# ----------------------------------------------------------------- synthetic

def test_synthetic_shapes_units_and_balance():
    X, y = make_synthetic_eeg(n_windows=30, n_channels=5, n_times=256, sfreq=100.0, n_classes=3, random_state=0)
    assert X.shape == (30, 5, 256) and X.dtype == np.float32
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [10, 10, 10]
    channel_std = X.std(axis=-1)
    assert 5 < np.median(channel_std) < 100  # tens of µV, like scalp EEG


def test_synthetic_is_seeded():
    a = make_synthetic_eeg(n_windows=8, random_state=3)
    b = make_synthetic_eeg(n_windows=8, random_state=3)
    c = make_synthetic_eeg(n_windows=8, random_state=4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0])


def _mean_spectrum(X, sfreq):
    freqs = np.fft.rfftfreq(X.shape[-1], 1 / sfreq)
    return freqs, (np.abs(np.fft.rfft(X, axis=-1)) ** 2).mean(axis=(0, 1))


def test_synthetic_class_rhythms_and_one_over_f_background():
    sfreq = 128.0
    X, y = make_synthetic_eeg(n_windows=120, n_channels=4, n_times=512, sfreq=sfreq, random_state=0)
    freqs, p0 = _mean_spectrum(X[y == 0], sfreq)
    _, p1 = _mean_spectrum(X[y == 1], sfreq)
    alpha, beta = (freqs >= 9) & (freqs <= 11), (freqs >= 19) & (freqs <= 21)
    # class 0 carries a 10 Hz rhythm, class 1 a 20 Hz one
    assert p0[alpha].mean() > 3 * p1[alpha].mean()
    assert p1[beta].mean() > 3 * p0[beta].mean()
    # the background (no rhythm) falls with frequency: power at 3-5 Hz >> at 40-50 Hz
    Xn, _ = make_synthetic_eeg(n_windows=60, n_channels=4, sfreq=sfreq, noise=1.0, random_state=1)
    freqs, p = _mean_spectrum(Xn, sfreq)
    assert p[(freqs >= 3) & (freqs <= 5)].mean() > 5 * p[(freqs >= 40) & (freqs <= 50)].mean()


def test_synthetic_noise_scales_background():
    quiet, _ = make_synthetic_eeg(n_windows=40, noise=0.0, random_state=0)
    loud, _ = make_synthetic_eeg(n_windows=40, noise=3.0, random_state=0)
    assert loud.std() > 3 * quiet.std()


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_windows=0), "n_windows"),
    (dict(n_channels=2.5), "n_channels"),
    (dict(n_classes=1), "n_classes"),
    (dict(n_classes=9), "at most 8"),
    (dict(sfreq=-1.0), "sfreq"),
    (dict(sfreq=40.0), "too low"),
    (dict(noise=-0.1), "noise"),
])
def test_synthetic_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_synthetic_eeg(**kwargs)


# -------------------------------------------------------------------- eegmat

def test_eegmat_registry_covers_every_file():
    names = {f"Subject{s:02d}_{k}.edf" for s in range(36) for k in (1, 2)} | {"subject-info.csv"}
    assert set(EEGMAT_REGISTRY) == names
    assert all(h.startswith("sha256:") and len(h) == 7 + 64 for h in EEGMAT_REGISTRY.values())


@pytest.mark.shared_data
def test_eegmat_registry_matches_local_files():
    folder = shared_path("eegmat")
    for name in ("Subject00_2.edf", "subject-info.csv"):
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert EEGMAT_REGISTRY[name] == f"sha256:{digest}"


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection or call pooch fails the test."""
    import pooch

    def refuse(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(pooch, "retrieve", refuse)


@pytest.mark.shared_data
def test_fetch_eegmat_local_windows(no_network):
    folder = shared_path("eegmat")
    windows = fetch_eegmat(folder, subjects=[0, 1], sfreq=128)
    description = windows.description
    assert len(windows.datasets) == 4
    assert description["subject"].tolist() == [0, 0, 1, 1]
    assert description["condition"].tolist() == ["rest", "arithmetic"] * 2
    assert {"age", "gender", "count_quality"} <= set(description.columns)
    source = as_window_source(windows)
    assert source.ch_names == list(EEGMAT_CHANNELS)
    assert source.sfreq == 128 and source.n_times == 512 and source.n_channels == 19
    targets = extract_targets(windows)
    metadata = windows.get_metadata()
    # rest recordings last ~182 s (45 windows of 4 s), arithmetic ~62 s (15)
    assert np.bincount(targets).tolist() == [90, 30]
    assert (metadata["target"] == (metadata["condition"] == "arithmetic")).all()
    # volts, as MNE reads EDF: scalp EEG has a std of a few to tens of µV
    assert 1e-7 < np.median(source.read(np.arange(5)).std(axis=-1)) < 1e-3


@pytest.mark.shared_data
def test_fetch_eegmat_parent_folder_continuous_and_stride(no_network):
    parent = shared_path("eegmat").parent
    raws = fetch_eegmat(parent, subjects=2, window_size_s=None, preload=False)
    assert [d.raw.info["sfreq"] for d in raws.datasets] == [500.0, 500.0]
    assert raws.datasets[0].raw.ch_names == list(EEGMAT_CHANNELS)
    overlapping = fetch_eegmat(parent, subjects=[2], window_size_s=4.0, window_stride_s=2.0, sfreq=64)
    plain = fetch_eegmat(parent, subjects=[2], window_size_s=4.0, sfreq=64)
    assert len(overlapping) in (2 * len(plain) - 1, 2 * len(plain) - 2, 2 * len(plain))


@pytest.mark.shared_data
def test_fetch_eegmat_downloads_only_missing_files(tmp_path, monkeypatch):
    """With a partial copy, only the missing files go to pooch, with their registry hashes."""
    import pooch

    source = shared_path("eegmat")
    (tmp_path / "Subject03_1.edf").symlink_to(source / "Subject03_1.edf")
    calls = []

    def fake_retrieve(url, known_hash, fname, path, progressbar):
        calls.append((url, known_hash, fname))
        (path / fname).symlink_to(source / fname)
        return str(path / fname)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    windows = fetch_eegmat(tmp_path, subjects=[3], sfreq=64)
    assert [c[2] for c in calls] == ["Subject03_2.edf", "subject-info.csv"]
    assert calls[0][0] == "https://physionet.org/files/eegmat/1.0.0/Subject03_2.edf"
    assert calls[0][1] == EEGMAT_REGISTRY["Subject03_2.edf"]
    assert windows.description["condition"].tolist() == ["rest", "arithmetic"]


def test_fetch_eegmat_without_download_names_missing_file(tmp_path, no_network):
    with pytest.raises(FileNotFoundError, match="Subject05_1.edf"):
        fetch_eegmat(tmp_path, subjects=[5], download=False)


@pytest.mark.shared_data
def test_fetch_eegmat_default_path_from_environment(monkeypatch, no_network):
    folder = shared_path("eegmat")
    monkeypatch.setenv("SKSEQCLR_DATA", str(folder.parent))
    assert find_eegmat() == folder
    assert find_eegmat(folder.parent) == folder
    assert datasets.data_home() == folder.parent


@pytest.mark.parametrize("kwargs, match", [
    (dict(subjects=[36]), "Unknown subjects"),
    (dict(subjects=[]), "empty"),
    (dict(window_size_s=0), "window_size_s"),
    (dict(sfreq=-5), "sfreq"),
])
def test_fetch_eegmat_bad_input(kwargs, match, no_network, tmp_path):
    with pytest.raises(ValueError, match=match):
        fetch_eegmat(tmp_path, **kwargs)


# -------------------------------------------------------------------- eegbci

@pytest.mark.shared_data
def test_load_eegbci_windows_from_cues(no_network):
    path = shared_path("eegbci")
    windows = load_eegbci(1, runs=[4, 8], path=path, tmin=0.5, tmax=2.5, sfreq=80)
    source = as_window_source(windows)
    assert source.n_channels == 64 and source.sfreq == 80 and source.n_times == 160
    assert "C3" in source.ch_names  # eegbci.standardize renamed 'C3..'
    description = windows.description
    assert description["run"].tolist() == [4, 8]
    assert set(description["class_0"]) == {"left fist"} and set(description["task"]) == {"imagery"}
    targets = extract_targets(windows)
    # 15 cues per run, T1 and T2 roughly balanced
    assert len(targets) == 30 and set(np.unique(targets)) == {0, 1}
    # one window per cue, starting tmin after it
    metadata = windows.get_metadata()
    run4 = windows.datasets[0].raw
    cue_onsets = run4.annotations.onset[np.isin(run4.annotations.description, ["T1", "T2"])]
    starts = metadata[metadata["i_window_in_trial"] == 0]["i_start_in_trial"].to_numpy()[:len(cue_onsets)]
    np.testing.assert_allclose(starts / 80.0, cue_onsets + 0.5, atol=1 / 80)


@pytest.mark.shared_data
def test_load_eegbci_parent_folder(no_network):
    path = shared_path("eegbci").parent
    windows = load_eegbci(1, runs=6, path=path)
    assert windows.description["class_1"].tolist() == ["both feet"]
    assert as_window_source(windows).n_times == 640  # 4 s at 160 Hz


@pytest.mark.parametrize("runs, match", [([4, 6], "mix"), ([1], "no T1/T2"), ([], "no T1/T2")])
def test_load_eegbci_bad_runs(runs, match):
    with pytest.raises(ValueError, match=match):
        load_eegbci(1, runs=runs, path="/nonexistent")


def test_load_eegbci_bad_times_and_subject():
    with pytest.raises(ValueError, match="tmin < tmax"):
        load_eegbci(1, tmin=2.0, tmax=1.0)
    with pytest.raises(ValueError, match="Unknown subject"):
        load_eegbci(0)


@pytest.mark.shared_data
def test_load_eegbci_band_pass_filters_whole_runs(no_network):
    path = shared_path("eegbci")
    raw_windows = load_eegbci(1, runs=4, path=path, sfreq=128)
    filtered = load_eegbci(1, runs=4, path=path, sfreq=128, l_freq=8.0, h_freq=30.0)
    X_raw, X_filtered = (as_window_source(w).read(np.arange(len(w))) for w in (raw_windows, filtered))
    freqs, power_raw = _mean_spectrum(X_raw, 128)
    ratio = _mean_spectrum(X_filtered, 128)[1] / power_raw
    assert np.median(ratio[(freqs > 12) & (freqs < 26)]) > 0.8  # the pass band kept
    assert np.median(ratio[(freqs > 1) & (freqs < 4)]) < 0.01  # below it removed
    assert np.median(ratio[(freqs > 40) & (freqs < 60)]) < 0.01  # above it removed
    # filtered as whole runs, then cut: the cue windows are stretches of the filtered continuous run
    run = load_eegbci_continuous(1, runs=4, path=path, sfreq=128, l_freq=8.0, h_freq=30.0, window_size_s=None)
    continuous = run.datasets[0].raw.get_data()
    starts = filtered.get_metadata()["i_start_in_trial"].to_numpy()
    np.testing.assert_allclose(X_filtered, np.stack([continuous[:, s:s + 512] for s in starts]), atol=1e-12)


@pytest.mark.shared_data
def test_load_eegbci_continuous_windows_cover_runs(no_network):
    path = shared_path("eegbci")
    windows = load_eegbci_continuous(1, runs=[3, 6], path=path, sfreq=128, window_size_s=4.0)
    runs = load_eegbci_continuous(1, runs=[3, 6], path=path, sfreq=128, window_size_s=None)
    source = as_window_source(windows)
    assert source.n_channels == 64 and source.sfreq == 128 and source.n_times == 512
    assert windows.description["run"].tolist() == [3, 6]
    assert windows.description["task"].tolist() == ["execution", "imagery"]
    n_per_run = [len(d) for d in windows.datasets]
    assert n_per_run == [r.raw.n_times // 512 for r in runs.datasets]  # consecutive, last incomplete one dropped
    X = source.read(np.arange(len(windows)))
    signal = runs.datasets[1].raw.get_data()
    np.testing.assert_allclose(X[n_per_run[0] + 2], signal[:, 1024:1536])  # run 6's third window
    overlapping = load_eegbci_continuous(1, runs=3, path=path, sfreq=128, window_size_s=4.0, window_stride_s=2.0)
    assert len(overlapping) == 2 * n_per_run[0] - 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(l_freq=30.0, h_freq=8.0), "l_freq < h_freq"),
    (dict(h_freq=80.0), "Nyquist"),
    (dict(l_freq=-1.0), "positive frequency"),
    (dict(runs=[0, 15]), "runs 1-14"),
    (dict(runs=[]), "runs 1-14"),
    (dict(window_size_s=0), "window_size_s"),
])
def test_load_eegbci_continuous_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_eegbci_continuous(1, path="/nonexistent", **kwargs)


def test_load_eegbci_bad_band():
    with pytest.raises(ValueError, match="l_freq < h_freq"):
        load_eegbci(1, l_freq=40.0, h_freq=30.0, path="/nonexistent")


@pytest.mark.shared_data
def test_load_eegbci_continuous_window_longer_than_run(no_network):
    with pytest.raises(ValueError, match="longer than the shortest recording"):
        load_eegbci_continuous(1, runs=3, path=shared_path("eegbci"), window_size_s=200.0)
