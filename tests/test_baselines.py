"""Tests of the classic EEG baselines in skseqclr.evaluation.baselines."""

from __future__ import annotations

import builtins

import mne
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from skseqclr.evaluation.baselines import (LogPower, LogVarianceBandPower, WindowsToArray, make_riemannian_pipeline,
                                make_tangent_space)
from skseqclr.datasets import make_synthetic_eeg


def _sine_windows(freqs_hz, sfreq=128.0, n_times=512, amplitude_uv=10.0):
    t = np.arange(n_times) / sfreq
    return np.stack([[amplitude_uv * np.sin(2 * np.pi * f * t)] for f in freqs_hz]).astype(np.float32)


def test_log_power_is_log_variance_in_microvolts():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 5.0, (6, 3, 200)).astype(np.float32)  # µV
    features = LogPower().fit_transform(X)
    np.testing.assert_allclose(features, np.log(X.astype(np.float64).var(axis=-1)), rtol=1e-6)
    # the same data in volts gives the same features: both are log µV²
    np.testing.assert_allclose(LogPower().fit_transform(X * 1e-6), features, atol=1e-4)
    assert LogPower().fit(X).get_feature_names_out().tolist() == ["ch0_logvar", "ch1_logvar", "ch2_logvar"]


def test_referenced_log_power_keeps_the_topography_and_drops_the_windows_gain():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 5.0, (6, 4, 200)).astype(np.float32) * np.array([1, 2, 3, 4], dtype=np.float32)[:, None]
    plain = LogPower().fit_transform(X)
    referenced = LogPower(reference=True).fit_transform(X)
    np.testing.assert_allclose(referenced, plain - plain.mean(axis=1, keepdims=True))
    np.testing.assert_allclose(LogPower(reference=True).fit_transform(10 * X), referenced, atol=1e-6)
    assert not np.allclose(LogPower().fit_transform(10 * X), plain)
    louder_first = X.copy()
    louder_first[:, 0] *= 3
    shift = LogPower(reference=True).fit_transform(louder_first) - referenced
    np.testing.assert_allclose(shift[:, 0], np.log(9) * 3 / 4, rtol=1e-5)  # log 9 minus its share of the mean
    assert LogPower(reference=True).fit(X).get_feature_names_out()[0] == "ch0_logvar_ref"
    with pytest.raises(ValueError, match="reference must be True or False"):
        LogPower(reference="yes").fit(X)


def test_band_power_picks_the_band_of_a_sine():
    X = _sine_windows([6.0, 10.0, 20.0])
    features = LogVarianceBandPower(sfreq=128).fit_transform(X)
    assert features.shape == (3, 3)
    # each sine lands in its own band: theta, alpha, beta
    assert features.argmax(axis=1).tolist() == [0, 1, 2]
    # in-band power of a 10 µV sine: variance 50 µV²
    np.testing.assert_allclose(features[1, 1], np.log(50.0), atol=0.1)
    assert features[1, 1] - features[1, 0] > 3  # strongly attenuated outside


def test_referenced_band_power_subtracts_each_bands_channel_mean():
    rng = np.random.default_rng(1)
    X = rng.normal(0, 5.0, (5, 3, 256)).astype(np.float32)
    bands = ((4, 8), (8, 13))
    plain = LogVarianceBandPower(bands=bands, sfreq=128).fit_transform(X).reshape(5, 3, 2)
    referenced = LogVarianceBandPower(bands=bands, sfreq=128, reference=True).fit_transform(X).reshape(5, 3, 2)
    np.testing.assert_allclose(referenced, plain - plain.mean(axis=1, keepdims=True))
    np.testing.assert_allclose(
        LogVarianceBandPower(bands=bands, sfreq=128, reference=True).fit_transform(4 * X).reshape(5, 3, 2),
        referenced, atol=1e-6)
    with pytest.raises(ValueError, match="reference must be True or False"):
        LogVarianceBandPower(sfreq=128, reference=1).fit(X)


def test_band_power_custom_bands_and_names():
    X = _sine_windows([10.0, 40.0], sfreq=200.0)
    est = LogVarianceBandPower(bands=[(30, 50), (8, 12)], sfreq=200).fit(X)
    features = est.transform(X)
    assert features.argmax(axis=1).tolist() == [1, 0]
    assert est.get_feature_names_out().tolist() == ["ch0_30-50Hz", "ch0_8-12Hz"]
    assert est.sos_.shape[0] == 2


def test_band_power_batches_agree():
    X, _ = make_synthetic_eeg(n_windows=7, n_channels=2, random_state=0)
    whole = LogVarianceBandPower(sfreq=128).fit_transform(X)
    batched = LogVarianceBandPower(sfreq=128, batch_size=3).fit_transform(X)
    np.testing.assert_allclose(whole, batched)


def test_baselines_accept_mne_epochs_and_separate_synthetic_classes():
    X, y = make_synthetic_eeg(n_windows=80, n_channels=4, random_state=0)
    info = mne.create_info(4, 128.0, "eeg")
    epochs = mne.EpochsArray(X * 1e-6, info, verbose="error")  # volts, as MNE stores them
    np.testing.assert_allclose(LogVarianceBandPower().fit_transform(epochs),
                               LogVarianceBandPower(sfreq=128).fit_transform(X), rtol=1e-4, atol=1e-4)
    # the classes differ in rhythm frequency, not power: bands separate them, broadband power barely
    bands = cross_val_score(make_pipeline(LogVarianceBandPower(sfreq=128), LogisticRegression()), X, y, cv=4)
    assert bands.mean() > 0.9


@pytest.mark.parametrize("kwargs, match", [
    (dict(bands=[(8, 70)]), "Nyquist"),
    (dict(bands=[(13, 8)]), "low < high"),
    (dict(bands="alpha"), "pairs"),
    (dict(filter_order=0), "filter_order"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=True), "batch_size must be a positive integer, got True"),
    (dict(filter_order=True), "filter_order must be a positive integer, got True"),
])
def test_band_power_bad_parameters(kwargs, match):
    X = _sine_windows([10.0])
    with pytest.raises(ValueError, match=match):
        LogVarianceBandPower(sfreq=128, **kwargs).fit(X)


def test_band_power_errors():
    X = _sine_windows([10.0])
    with pytest.raises(ValueError, match="sampling frequency"):
        LogVarianceBandPower().fit(X)
    with pytest.raises(ValueError, match="too short"):
        LogVarianceBandPower(sfreq=128).fit(X[:, :, :20])
    est = LogVarianceBandPower(sfreq=128).fit(X)
    with pytest.raises(ValueError, match="channels"):
        est.transform(np.repeat(X, 2, axis=1))
    with pytest.raises(ValueError, match="units"):
        LogPower(units="nV").fit(X)


def test_riemannian_pipeline_classifies_and_tangent_space_shape():
    pytest.importorskip("pyriemann")
    # with a weak background the class rhythms' different topographies dominate the covariances
    X, y = make_synthetic_eeg(n_windows=60, n_channels=4, noise=0.5, random_state=1)
    features = make_tangent_space().fit_transform(X)
    assert features.shape == (60, 4 * 5 // 2)
    pipe = make_riemannian_pipeline()
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.9
    clone(pipe)  # a plain sklearn pipeline


def test_windows_to_array_converts_to_microvolts():
    X = _sine_windows([10.0]) * 1e-6
    out = WindowsToArray().fit_transform(X)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, X.astype(np.float64) * 1e6, rtol=1e-6)


def test_riemannian_without_pyriemann_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_pyriemann(name, *args, **kwargs):
        if name == "pyriemann" or name.startswith("pyriemann."):
            raise ImportError("No module named 'pyriemann'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyriemann)
    with pytest.raises(ImportError, match=r"pip install \"skseqclr\[riemann\]\""):
        make_riemannian_pipeline()
