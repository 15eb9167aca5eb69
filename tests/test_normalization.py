"""Tests of per-group (per-subject) feature standardisation."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.pipeline import make_pipeline

from skseqclr.evaluation import LinearProbe
from skseqclr.normalization import GroupStandardScaler, standardize_per_group


def _subjects_with_offsets(seed=0, n_subjects=6, per_subject=40):
    """A class effect of +1 shared by all subjects, under per-subject offsets and gains 10x larger."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_subjects), per_subject)
    y = np.tile([0, 1], n_subjects * per_subject // 2)
    offset = rng.normal(scale=10, size=(n_subjects, 3))[groups]
    gain = rng.uniform(0.5, 3, size=(n_subjects, 3))[groups]
    X = offset + gain * (rng.normal(size=(len(y), 3)) + y[:, None])
    return X, y, groups


def test_standardize_per_group_uses_each_groups_own_statistics():
    X, _, groups = _subjects_with_offsets()
    Z = standardize_per_group(X, groups)
    for g in np.unique(groups):
        rows = groups == g
        np.testing.assert_allclose(Z[rows], (X[rows] - X[rows].mean(0)) / X[rows].std(0))
    centred = standardize_per_group(X, groups, with_std=False)
    np.testing.assert_allclose(centred[groups == 2], X[groups == 2] - X[groups == 2].mean(0))
    constant = standardize_per_group(np.ones((4, 2)), [0, 0, 1, 1])  # constant features: centred, not NaN
    np.testing.assert_array_equal(constant, 0)


def test_group_scaler_makes_cross_subject_decoding_work():
    X, y, groups = _subjects_with_offsets()
    train, test = groups < 4, groups >= 4
    raw = LinearProbe(C=1.0).fit(X[train], y[train]).score(X[test], y[test])
    scaler = GroupStandardScaler()
    Z_train = scaler.fit_transform(X[train], groups=groups[train])
    normalized = LinearProbe(C=1.0).fit(Z_train, y[train]).score(scaler.transform(X[test], groups=groups[test]),
                                                                  y[test])
    assert normalized > 0.6 and normalized > raw + 0.05


def test_group_scaler_in_a_pipeline_with_metadata_routing():
    X, y, groups = _subjects_with_offsets()
    train, test = groups < 4, groups >= 4
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(GroupStandardScaler().set_fit_request(groups=True).set_transform_request(groups=True),
                             LinearProbe(C=1.0).set_fit_request(groups=False))
        pipe.fit(X[train], y[train], groups=groups[train])
        predicted = pipe.predict(X[test], groups=groups[test])
    expected = LinearProbe(C=1.0).fit(standardize_per_group(X[train], groups[train]), y[train]).predict(
        standardize_per_group(X[test], groups[test]))
    np.testing.assert_array_equal(predicted, expected)
    assert list(pipe[0].get_feature_names_out()) == ["x0", "x1", "x2"]


def test_group_scaler_errors_name_the_problem():
    X, _, groups = _subjects_with_offsets()
    with pytest.raises(ValueError, match="needs groups.*metadata routing"):
        GroupStandardScaler().fit(X)
    scaler = GroupStandardScaler().fit(X, groups=groups)
    with pytest.raises(ValueError, match="needs groups"):
        scaler.transform(X)
    with pytest.raises(ValueError, match="one entry per row"):
        scaler.transform(X, groups=groups[:5])
    with pytest.raises(ValueError, match=r"Group\(s\) \[7\] have fewer than min_group_size=2"):
        scaler.transform(X[:3], groups=[7, 1, 1])
    with pytest.raises(ValueError, match="features"):
        scaler.transform(X[:, :2], groups=groups)
    with pytest.raises(ValueError, match="NaN"):
        scaler.transform(np.full_like(X, np.nan), groups=groups)
    with pytest.raises(ValueError, match="min_group_size"):
        GroupStandardScaler(min_group_size=0).fit(X, groups=groups)
    with pytest.raises(ValueError, match="with_std"):
        GroupStandardScaler(with_std="yes").fit(X, groups=groups)
    assert GroupStandardScaler(min_group_size=1).fit(X[:3], groups=[7, 1, 1]).transform(X[:3], groups=[7, 1, 1]).shape == (3, 3)


def test_docstring_example_runs():
    import doctest

    import skseqclr.normalization

    result = doctest.testmod(skseqclr.normalization, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0


def test_seqclr_pipeline_with_groups_routed_as_in_the_user_guide(tiny):
    """The user guide's recipe: SeqCLRTransformer -> GroupStandardScaler -> LinearProbe, groups routed."""
    from skseqclr import SeqCLRTransformer
    from skseqclr.datasets import make_synthetic_eeg

    X, y = make_synthetic_eeg(n_windows=48, n_channels=3, n_times=128, sfreq=64, random_state=0)
    groups = np.repeat(np.arange(6), 8)
    seqclr = SeqCLRTransformer(**tiny, sfreq=64, n_epochs=1, batch_size=16, zero_mask=(0, 16), time_shift=(-8, 8),
                              random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            seqclr,
            GroupStandardScaler().set_fit_request(groups=True).set_transform_request(groups=True),
            LinearProbe(n_splits=2, Cs=(0.1, 1.0)).set_fit_request(groups=True),
        )
        pipe.fit(X[:32], y[:32], groups=groups[:32])
        predicted = pipe.predict(X[32:], groups=groups[32:])
    assert predicted.shape == (16,) and pipe[-1].C_ in (0.1, 1.0)
    features = pipe[0].transform(X[32:])
    expected = pipe[-1].predict(standardize_per_group(features, groups[32:]))
    np.testing.assert_array_equal(predicted, expected)
