"""The average reference of features: ``skseqclr.referencing`` and ``Readout(feature_reference=...)``."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from skseqclr import Readout, SeqCLRTransformer
from skseqclr.recombination import feature_channel_pairs, neighbour_pairs
from skseqclr.referencing import channel_kinds, reference_within_kinds, referenced_kinds

NAMES = ["Fz", "Cz", "Pz", "O1"]


def test_each_kind_is_referenced_to_its_own_mean_and_the_means_follow(rng):
    features = rng.standard_normal((5, 6, 3)).astype(np.float32)
    kinds = np.array([0, 0, 0, 1, 1, 1])
    out = reference_within_kinds(features, kinds)
    assert out.shape == (5, 6 + 2, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, :3].mean(axis=1), 0, atol=1e-6)
    np.testing.assert_allclose(out[:, 3:6].mean(axis=1), 0, atol=1e-6)
    np.testing.assert_allclose(out[:, 6], features[:, :3].mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(out[:, 7], features[:, 3:].mean(axis=1), rtol=1e-6)
    # nothing is lost: each channel is its deviation plus its kind's mean
    np.testing.assert_allclose(out[:, :3] + out[:, 6:7], features[:, :3], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[:, 3:6] + out[:, 7:8], features[:, 3:], rtol=1e-5, atol=1e-6)


def test_a_shift_shared_by_a_kinds_channels_moves_only_its_mean(rng):
    """A window's overall gain moves every channel's log power alike: the referenced rows do not see it."""
    features = rng.standard_normal((4, 5, 2))
    kinds = np.array([0, 0, 0, 1, 1])
    shifted = features.copy()
    shifted[:, :3] += 2.5
    a, b = reference_within_kinds(features, kinds), reference_within_kinds(shifted, kinds)
    np.testing.assert_allclose(b[:, :5], a[:, :5], atol=1e-12)
    np.testing.assert_allclose(b[:, 5] - a[:, 5], 2.5, atol=1e-12)
    np.testing.assert_allclose(b[:, 6], a[:, 6], atol=1e-12)


def test_a_kind_with_one_channel_is_left_as_it_is(rng):
    features = rng.standard_normal((3, 3, 2))
    out = reference_within_kinds(features, [0, 1, 1])
    assert out.shape == (3, 4, 2)
    np.testing.assert_array_equal(out[:, 0], features[:, 0])
    assert [list(m) for m in referenced_kinds([0, 1, 1])] == [[1, 2]]
    np.testing.assert_array_equal(reference_within_kinds(features[:, :1], [0]), features[:, :1])


def test_channel_kinds_and_bad_shapes():
    first, second, _ = feature_channel_pairs("original+neighbours", NAMES)
    kinds = channel_kinds(first, second)
    assert list(kinds[:4]) == [0, 0, 0, 0] and set(kinds[4:]) == {1}
    with pytest.raises(ValueError, match="one kind per channel"):
        reference_within_kinds(np.zeros((2, 3, 4)), [0, 0])
    with pytest.raises(ValueError, match="one kind per channel"):
        reference_within_kinds(np.zeros((2, 12)), [0] * 12)


@pytest.fixture
def windows(rng):
    return (20 * rng.standard_normal((12, 4, 160))).astype(np.float32)


def fitted(tiny, X, **params):
    defaults = dict(sfreq=100.0, n_epochs=1, batch_size=16, random_state=0, zero_mask=(0, 20),
                    readout=Readout(feature_reference=True, pooling=("std", "logms")))
    return SeqCLRTransformer(**tiny, **{**defaults, **params}).fit(X)


def test_transform_is_the_referenced_encoding_with_the_kinds_means(tiny, windows):
    info = mne.create_info(NAMES, 100.0, "eeg")
    epochs = mne.EpochsArray(windows.astype(np.float64) * 1e-6, info, verbose=False)
    assert Readout().feature_reference is False  # off by default: it costs per subject and within one
    est = fitted(tiny, epochs)
    referenced = est.transform(epochs)
    raw = est.set_params(readout__feature_reference=False).encode(epochs)  # a transform-time setting: no pretraining again
    n_read = 4 + len(neighbour_pairs(NAMES))
    assert raw.shape == (12, n_read, 8)
    expected = np.concatenate([raw[:, :4] - raw[:, :4].mean(axis=1, keepdims=True),
                               raw[:, 4:] - raw[:, 4:].mean(axis=1, keepdims=True),
                               raw[:, :4].mean(axis=1, keepdims=True), raw[:, 4:].mean(axis=1, keepdims=True)],
                              axis=1)
    np.testing.assert_allclose(referenced, expected.reshape(12, -1), rtol=1e-5, atol=1e-5)
    names = est.set_params(readout__feature_reference=True).get_feature_names_out()
    assert len(names) == referenced.shape[1] == est.n_features_out_
    assert list(names[-16::8]) == ["original-mean_h0_std", "difference-mean_h0_std"]
    assert est.set_params(readout__feature_reference=False).n_features_out_ == n_read * 8


def test_feature_reference_is_validated(tiny, windows):
    with pytest.raises(ValueError, match="feature_reference must be True or False"):
        fitted(tiny, windows, readout=Readout(feature_reference="average"))
    est = fitted(tiny, windows)
    with pytest.raises(ValueError, match="feature_reference must be True or False"):
        est.set_params(readout__feature_reference="yes").transform(windows)


def test_saved_with_and_loaded_without_the_reference(tiny, windows, tmp_path):
    est = fitted(tiny, windows)
    loaded = SeqCLRTransformer.load(est.save(tmp_path / "model.safetensors"))
    assert loaded.readout.feature_reference is True
    np.testing.assert_allclose(loaded.transform(windows), est.transform(windows), rtol=1e-5, atol=1e-5)
    off = SeqCLRTransformer.load(tmp_path / "model.safetensors", readout__feature_reference=False)
    np.testing.assert_allclose(off.transform(windows), est.set_params(readout__feature_reference=False).transform(windows),
                               rtol=1e-5, atol=1e-5)


def test_files_from_before_the_reference_load_without_it(tiny, windows, tmp_path, monkeypatch):
    """A file whose parameters lack ``feature_reference`` was written when features were not referenced."""
    est = fitted(tiny, windows, readout=Readout(feature_reference=True, pooling=("mean", "std", "logms")))
    portable = est._portable_params

    def without_reference():  # the flat parameters of an earlier version, before feature_reference existed
        params = portable()
        params.update(params.pop("readout"), **params.pop("preprocessing"))
        params.pop("feature_reference")
        return params

    monkeypatch.setattr(est, "_portable_params", without_reference)
    loaded = SeqCLRTransformer.load(est.save(tmp_path / "old.safetensors"))
    assert loaded.readout.feature_reference is False
    assert loaded.transform(windows).shape == (12, 4 * 12)


def test_an_effect_every_channel_shares_survives_the_reference(tiny, rng):
    """Two classes that differ in a 10-Hz rhythm of the same power on both channels: referenced without the
    kinds' means, the features lose it (0.56 in a cross-validation like this one); with them, they keep it."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import Pipeline

    t = np.arange(160) / 100.0
    y = np.arange(32) % 2
    X = 10 * rng.standard_normal((32, 2, 160))
    X += (30 * y)[:, None, None] * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 6, (32, 2, 1)))
    seqclr = SeqCLRTransformer(**tiny, sfreq=100.0, n_epochs=1, batch_size=16, random_state=0,
                               readout=Readout(feature_reference=True))
    pipe = Pipeline([("seqclr", seqclr), ("clf", LogisticRegression(max_iter=500))])
    assert np.all(cross_val_score(pipe, X.astype(np.float32), y, cv=2) > 0.6)
