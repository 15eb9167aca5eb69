"""Tests of per-group (per-subject) normalisation of windows and features."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.pipeline import make_pipeline

from skseqclr.evaluation.probe import LinearProbe
from skseqclr.evaluation.normalization import GroupStandardScaler, standardize_per_group


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

    import skseqclr.evaluation.normalization

    result = doctest.testmod(skseqclr.evaluation.normalization, raise_on_error=False)
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


def _windows_of_subjects_with_gains(seed=0, n_subjects=6, per_subject=20, n_channels=3, n_times=128):
    """Class 1 has 1.5x the amplitude of class 0 within every subject; subjects' channel gains span 10x."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_subjects), per_subject)
    y = np.tile([0, 1], n_subjects * per_subject // 2)
    gain = 10 ** rng.uniform(0, 1, size=(n_subjects, n_channels))[groups]
    amplitude = np.where(y == 1, 1.5, 1.0)[:, None] * gain
    X = amplitude[:, :, None] * rng.normal(size=(len(y), n_channels, n_times)) + 3.0 * groups[:, None, None]
    return X.astype(np.float32), y, groups


def test_channel_scaler_gives_every_subject_and_channel_the_same_amplitude():
    from skseqclr.evaluation.normalization import GroupChannelScaler, scale_channels_per_group

    X, y, groups = _windows_of_subjects_with_gains()
    scaler = GroupChannelScaler().fit(X[groups < 4], groups=groups[groups < 4])
    Z = scaler.transform(X, groups=groups)
    assert Z.shape == X.shape and Z.dtype == np.float32
    for g in np.unique(groups):
        rows = groups == g
        np.testing.assert_allclose(np.median(Z[rows].std(-1), axis=0), scaler.reference_scale_, rtol=1e-4)
        np.testing.assert_allclose(Z[rows].mean((0, 2)), 0, atol=1e-4 * scaler.reference_scale_)
        # within a subject the class difference (1.5x amplitude) is kept
        ratio = Z[rows & (y == 1)].std() / Z[rows & (y == 0)].std()
        assert 1.35 < ratio < 1.65
    np.testing.assert_allclose(scale_channels_per_group(X, groups, reference_scale=scaler.reference_scale_), Z)
    uncentred = scale_channels_per_group(X, groups, with_mean=False)
    assert abs(uncentred[groups == 5].mean()) > 1.0  # the offset of 15 survives, rescaled


def test_channel_scaler_keeps_the_input_units():
    from skseqclr.evaluation.normalization import GroupChannelScaler

    X, _, groups = _windows_of_subjects_with_gains()
    in_volts = GroupChannelScaler().fit(X * 1e-6, groups=groups)
    in_microvolts = GroupChannelScaler().fit(X, groups=groups)
    np.testing.assert_allclose(in_volts.reference_scale_ * 1e6, in_microvolts.reference_scale_, rtol=1e-5)
    assert 1.0 < in_microvolts.reference_scale_ < 10.0


def test_channel_scaler_makes_cross_subject_power_decoding_work():
    from skseqclr.evaluation.baselines import LogPower
    from skseqclr.evaluation.normalization import GroupChannelScaler

    X, y, groups = _windows_of_subjects_with_gains()
    train, test = groups < 4, groups >= 4
    raw = LinearProbe(C=1.0).fit(LogPower().fit_transform(X[train]), y[train]).score(
        LogPower().fit(X[train]).transform(X[test]), y[test])
    scaler = GroupChannelScaler().fit(X[train], groups=groups[train])
    Z_train, Z_test = scaler.transform(X[train], groups=groups[train]), scaler.transform(X[test], groups=groups[test])
    power = LogPower().fit(Z_train)
    scaled = LinearProbe(C=1.0).fit(power.transform(Z_train), y[train]).score(power.transform(Z_test), y[test])
    assert scaled > 0.9 and scaled > raw + 0.2


def test_channel_scaler_flat_channel_stays_finite():
    from skseqclr.evaluation.normalization import scale_channels_per_group

    X, _, groups = _windows_of_subjects_with_gains()
    X[groups == 2, 1] = 4.0
    Z = scale_channels_per_group(X, groups)
    assert np.isfinite(Z).all()
    np.testing.assert_array_equal(Z[groups == 2, 1], 0.0)


def test_channel_scaler_errors_name_the_problem():
    from skseqclr.evaluation.normalization import GroupChannelScaler, scale_channels_per_group

    X, _, groups = _windows_of_subjects_with_gains()
    with pytest.raises(ValueError, match="GroupChannelScaler needs groups.*set_transform_request"):
        GroupChannelScaler().fit(X)
    scaler = GroupChannelScaler().fit(X, groups=groups)
    with pytest.raises(ValueError, match="GroupChannelScaler needs groups.*set_transform_request"):
        scaler.transform(X)
    with pytest.raises(ValueError, match="one entry per row"):
        scaler.transform(X, groups=groups[:5])
    with pytest.raises(ValueError, match=r"Group\(s\) \[7\] have fewer than min_group_size=2"):
        scaler.transform(X[:3], groups=[7, 1, 1])
    with pytest.raises(ValueError, match="2 channels, but GroupChannelScaler was fitted on 3"):
        scaler.transform(X[:, :2], groups=groups)
    bad = X.copy()
    bad[3, 0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        scaler.transform(bad, groups=groups)
    with pytest.raises(ValueError, match=r"4 dimension\(s\)"):
        scaler.transform(X[None], groups=groups)
    with pytest.raises(ValueError, match="Found 0 windows"):
        GroupChannelScaler().fit(X[:0], groups=groups[:0])
    with pytest.raises(ValueError, match=r"scale_channels_per_group needs groups \(e.g. the subject of each window\)\. $"):
        scale_channels_per_group(X, None)
    with pytest.raises(ValueError, match="with_mean"):
        GroupChannelScaler(with_mean=1).fit(X, groups=groups)
    with pytest.raises(ValueError, match="min_group_size"):
        GroupChannelScaler(min_group_size=0).fit(X, groups=groups)


def test_channel_scaler_before_seqclr_in_a_routed_pipeline(tiny):
    """The user guide's GroupChannelScaler -> SeqCLRTransformer -> LinearProbe, groups routed, equals the steps by hand."""
    from skseqclr import Preprocessing, SeqCLRTransformer
    from skseqclr.evaluation.normalization import GroupChannelScaler

    X, y, groups = _windows_of_subjects_with_gains(n_subjects=4, per_subject=12, n_times=128)
    params = dict(**tiny, sfreq=64, n_epochs=1, batch_size=16, zero_mask=(0, 16), time_shift=(-8, 8),
                  preprocessing=Preprocessing(units="uV"), random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            GroupChannelScaler().set_fit_request(groups=True).set_transform_request(groups=True),
            SeqCLRTransformer(**params),
            LinearProbe(n_splits=2, Cs=(0.1, 1.0)).set_fit_request(groups=True),
        )
        pipe.fit(X[:36], y[:36], groups=groups[:36])
        predicted = pipe.predict(X[36:], groups=groups[36:])
    scaler = GroupChannelScaler().fit(X[:36], groups=groups[:36])
    seqclr = SeqCLRTransformer(**params).fit(scaler.transform(X[:36], groups=groups[:36]))
    probe = LinearProbe(n_splits=2, Cs=(0.1, 1.0)).fit(
        seqclr.transform(scaler.transform(X[:36], groups=groups[:36])), y[:36], groups=groups[:36])
    expected = probe.predict(seqclr.transform(scaler.transform(X[36:], groups=groups[36:])))
    np.testing.assert_array_equal(predicted, expected)


def test_seqclr_features_joined_with_five_band_log_variance_as_in_the_benchmark(tiny):
    """The benchmark's best recipe: SeqCLR features and the five-band baseline side by side, per subject."""
    from sklearn.pipeline import make_union

    from skseqclr import SeqCLRTransformer
    from skseqclr.evaluation.baselines import FIVE_BANDS, LogVarianceBandPower
    from skseqclr.datasets import make_synthetic_eeg

    X, y = make_synthetic_eeg(n_windows=48, n_channels=3, n_times=256, sfreq=128, random_state=0)
    groups = np.repeat(np.arange(6), 8)
    seqclr = SeqCLRTransformer(**tiny, sfreq=128, n_epochs=1, batch_size=16, crop_length=0.5, zero_mask=(0, 16),
                               time_shift=(-8, 8), random_state=0)
    bands = LogVarianceBandPower(bands=FIVE_BANDS, sfreq=128)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            make_union(seqclr, bands),
            GroupStandardScaler().set_fit_request(groups=True).set_transform_request(groups=True),
            LinearProbe(n_splits=2, Cs=(0.1, 1.0)).set_fit_request(groups=True),
        )
        pipe.fit(X[:32], y[:32], groups=groups[:32])
        predicted = pipe.predict(X[32:], groups=groups[32:])
    union = pipe[0]
    seqclr_features, band_features = (step.transform(X[32:]) for _, step in union.transformer_list)
    assert band_features.shape == (16, 3 * 5) and seqclr_features.shape[1] == union.transformer_list[0][1].n_features_out_
    joined = np.hstack([seqclr_features, band_features])
    np.testing.assert_allclose(union.transform(X[32:]), joined, rtol=1e-6)
    expected = pipe[-1].predict(standardize_per_group(joined, groups[32:]))
    np.testing.assert_array_equal(predicted, expected)
