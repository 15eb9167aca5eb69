"""Reading features on recombined channels: ``SeqCLRTransformer(readout=Readout(feature_channels=...))``."""

from __future__ import annotations

import mne
import numpy as np
import pytest
import torch

from skseqclr import Preprocessing, Readout, SeqCLRTransformer
from skseqclr.recombination import (feature_channel_pairs, has_standard_positions, neighbour_pairs,
                                    resolve_feature_channels)
from skseqclr.scaling import window_scale

NAMES = ["Fz", "Cz", "Pz", "O1"]


def test_named_sets_of_feature_channels():
    assert feature_channel_pairs("original", NAMES) == ([0, 1, 2, 3], [0, 1, 2, 3], NAMES)
    first, second, names = feature_channel_pairs("differences", NAMES[:3])
    assert (first, second) == ([0, 0, 1], [1, 2, 2])
    assert names == ["Fz-Cz", "Fz-Pz", "Cz-Pz"]
    first, second, names = feature_channel_pairs("all", NAMES)
    assert len(names) == 4 + 4 * 3 // 2 and names[:4] == NAMES and names[4] == "Fz-Cz"


def test_pairs_by_name_or_index():
    first, second, names = feature_channel_pairs([("Fz", "Pz"), (3, 3), ("O1", 1)], NAMES)
    assert (first, second, names) == ([0, 3, 3], [2, 3, 1], ["Fz-Pz", "O1", "O1-Cz"])


@pytest.mark.parametrize("feature_channels, message", [
    ("bipolar", "is not one of"),
    ([], "non-empty sequence"),
    (5, "non-empty sequence"),
    ([("Fz", "T8")], "'T8', which the windows do not have"),
    ([(0, 4)], "index 4 is not a channel"),
    ([(0, -1)], "index -1 is not a channel"),
    ([(True, 0)], "index True is not a channel"),
    ([("Fz", "Cz", "Pz")], "must be a \\(channel, channel\\) pair"),
    (["FzCz"], "must be a \\(channel, channel\\) pair"),
])
def test_bad_feature_channels_are_refused(feature_channels, message):
    with pytest.raises(ValueError, match=message):
        feature_channel_pairs(feature_channels, NAMES)


def test_differences_need_two_channels():
    with pytest.raises(ValueError, match="at least 2 channels"):
        feature_channel_pairs("differences", ["Cz"])


TEN_TWENTY = ["Fp1", "Fp2", "F3", "F4", "F7", "F8", "T3", "T4", "C3", "C4", "T5", "T6", "P3", "P4", "O1", "O2",
              "Fz", "Cz", "Pz"]
#: The longitudinal bipolar montage ("double banana") and the transverse chains of the 10-20 system.
BIPOLAR_CHAINS = [
    ("Fp1", "F7"), ("F7", "T3"), ("T3", "T5"), ("T5", "O1"), ("Fp2", "F8"), ("F8", "T4"), ("T4", "T6"),
    ("T6", "O2"), ("Fp1", "F3"), ("F3", "C3"), ("C3", "P3"), ("P3", "O1"), ("Fp2", "F4"), ("F4", "C4"),
    ("C4", "P4"), ("P4", "O2"), ("Fz", "Cz"), ("Cz", "Pz"), ("F7", "F3"), ("F3", "Fz"), ("Fz", "F4"),
    ("F4", "F8"), ("T3", "C3"), ("C3", "Cz"), ("Cz", "C4"), ("C4", "T4"), ("T5", "P3"), ("P3", "Pz"),
    ("Pz", "P4"), ("P4", "T6"),
]


def test_neighbours_of_the_10_20_system_contain_its_bipolar_chains():
    pairs = neighbour_pairs(TEN_TWENTY)
    assert len(pairs) == 44 and all(i < j for i, j in pairs)
    named = {frozenset((TEN_TWENTY[i], TEN_TWENTY[j])) for i, j in pairs}
    assert {frozenset(pair) for pair in BIPOLAR_CHAINS} <= named
    # far electrodes are not neighbours
    assert not named & {frozenset(("Fp1", "O1")), frozenset(("T3", "T4")), frozenset(("F7", "F8"))}
    # old and new names of the temporal electrodes, and any case, give the same electrodes
    renamed = [{"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}.get(name, name).upper() for name in TEN_TWENTY]
    assert neighbour_pairs(renamed) == pairs


def test_neighbour_sets_of_feature_channels():
    pairs = neighbour_pairs(TEN_TWENTY)
    first, second, names = feature_channel_pairs("neighbours", TEN_TWENTY)
    assert list(zip(first, second)) == pairs and names[0] == "Fp1-Fp2"
    first, second, names = feature_channel_pairs("original+neighbours", TEN_TWENTY)
    assert names[:19] == TEN_TWENTY and list(zip(first, second))[19:] == pairs
    assert feature_channel_pairs("neighbours", ["Cz", "C4"])[2] == ["Cz-C4"]


@pytest.mark.parametrize("ch_names, message", [
    (["Fz", "EEG Cz"], "do not know 'EEG Cz'"),
    (["ch0", "ch1", "ch2"], "do not know 'ch0', 'ch1', 'ch2'"),
    ([f"ch{i}" for i in range(10)], "'ch7' \\(and 2 more\\)"),
    (["Cz"], "at least 2 channels"),
    (["Cz", "CZ", "Pz"], "distinct channel names"),
])
def test_neighbours_need_distinct_10_05_names(ch_names, message):
    with pytest.raises(ValueError, match=message):
        feature_channel_pairs("neighbours", ch_names)


@pytest.fixture
def windows(rng):
    return (20 * rng.standard_normal((12, 4, 160))).astype(np.float32)


def fitted(tiny, windows, **params):
    defaults = dict(sfreq=100.0, n_epochs=1, batch_size=16, random_state=0, zero_mask=(0, 20))
    return SeqCLRTransformer(**tiny, **{**defaults, **params}).fit(windows)


def differences(windows):
    first, second, _ = feature_channel_pairs("differences", [f"ch{i}" for i in range(windows.shape[1])])
    return windows[:, first] - windows[:, second]


def test_differences_are_encoded_like_bipolar_windows_under_global_scaling(tiny, windows):
    est = fitted(tiny, windows, readout=Readout(log_power=True))
    originals = est.encode(windows)
    read = est.set_params(readout__feature_channels="differences").encode(windows)
    assert read.shape == (12, 6, originals.shape[-1])
    expected = est.set_params(readout__feature_channels="original").encode(differences(windows))
    np.testing.assert_allclose(read, expected, rtol=1e-4, atol=1e-4)
    both = est.set_params(readout__feature_channels="all").encode(windows)
    np.testing.assert_allclose(both, np.concatenate([originals, read], axis=1), rtol=1e-4, atol=1e-4)


def test_differences_share_their_windows_scale(tiny, windows, tmp_path):
    """Under scaling="window" a difference is divided by its window's constant, as in pretraining, not by a
    constant of the differences."""
    est = fitted(tiny, windows, preprocessing=Preprocessing(scaling="window"),
                 readout=Readout(feature_channels="differences"))
    read = est.encode(windows)
    scale = window_scale(torch.from_numpy(windows)).numpy()[:, :, None]
    unscaled = SeqCLRTransformer.load(est.save(tmp_path / "encoder.safetensors"), preprocessing__scaling="none",
                                      readout__feature_channels="original").encode(differences(windows) / scale)
    np.testing.assert_allclose(read, unscaled, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(est.encode(7.0 * windows), read, rtol=1e-4, atol=1e-4)


def test_transform_layout_and_names_follow_feature_channels(tiny, windows):
    est = fitted(tiny, windows, readout=Readout(feature_channels=[(0, 1), (2, 2)]))
    features = est.transform(windows)
    per_channel = 4 * 3  # encoder outputs x (mean, std, logms)
    assert features.shape == (12, 2 * per_channel) == (12, est.n_features_out_)
    names = est.get_feature_names_out()
    assert len(names) == features.shape[1] and names[0] == "ch0-ch1_h0_mean" and names[per_channel] == "ch2_h0_mean"
    est.set_params(readout__feature_channels="original")  # a transform-time setting: no pretraining again
    assert est.transform(windows).shape == (12, 4 * per_channel) == (12, est.n_features_out_)


def test_named_pairs_on_mne_epochs(tiny, windows):
    info = mne.create_info(NAMES, 100.0, "eeg")
    epochs = mne.EpochsArray(windows.astype(np.float64) * 1e-6, info, verbose=False)
    est = fitted(tiny, epochs, readout=Readout(feature_channels=[("Fz", "Pz"), ("Cz", "O1")]))
    expected = est.set_params(readout__feature_channels=[(0, 2), (1, 3)]).transform(epochs)
    np.testing.assert_allclose(est.set_params(readout__feature_channels=[("Fz", "Pz"), ("Cz", "O1")]).transform(epochs),
                               expected)
    assert list(est.get_feature_names_out()[::12]) == ["Fz-Pz_h0_mean", "Cz-O1_h0_mean"]


def test_neighbours_on_mne_epochs(tiny, windows):
    info = mne.create_info(NAMES, 100.0, "eeg")
    epochs = mne.EpochsArray(windows.astype(np.float64) * 1e-6, info, verbose=False)
    est = fitted(tiny, epochs, readout=Readout(feature_channels="original+neighbours"))
    pairs = neighbour_pairs(NAMES)
    explicit = [(i, i) for i in range(4)] + pairs
    np.testing.assert_allclose(est.transform(epochs), est.set_params(readout__feature_channels=explicit).transform(epochs),
                               rtol=1e-5, atol=1e-5)
    assert est.n_features_out_ == (4 + len(pairs)) * 12


def test_fit_refuses_pairs_the_windows_do_not_have_before_pretraining(tiny, windows):
    est = SeqCLRTransformer(**tiny, sfreq=100.0, n_epochs=50, readout=Readout(feature_channels=[("Fz", "Cz")]))
    with pytest.raises(ValueError, match="'Fz', which the windows do not have"):
        est.fit(windows)  # numpy windows are named ch0 ... ch3
    with pytest.raises(ValueError, match="feature_channels='bipolar' is not one of"):
        SeqCLRTransformer(**tiny, readout=Readout(feature_channels="bipolar")).fit(windows)
    with pytest.raises(ValueError, match="do not know 'ch0'"):
        SeqCLRTransformer(**tiny, sfreq=100.0, n_epochs=50,
                          readout=Readout(feature_channels="neighbours")).fit(windows)


def test_feature_channels_survive_save_and_load(tiny, windows, tmp_path):
    est = fitted(tiny, windows, readout=Readout(feature_channels=[(0, 1), (3, 3)]))
    loaded = SeqCLRTransformer.load(est.save(tmp_path / "model.safetensors"))
    np.testing.assert_allclose(loaded.transform(windows), est.transform(windows), rtol=1e-5, atol=1e-5)
    assert loaded.n_features_out_ == est.n_features_out_


@pytest.mark.parametrize("ch_names, expected", [
    (NAMES, "original+neighbours"),
    (["fz", "CZ"], "original+neighbours"),  # names match in any case
    (["ch0", "ch1", "ch2", "ch3"], "original"),  # numpy windows without names
    (["Fz", "Cz", "EOG"], "original"),  # one channel the 10-05 system does not place
    (["Fz", "fz"], "original"),  # duplicates
    (["Cz"], "original"),  # nothing to pair
])
def test_auto_reads_neighbours_only_where_every_electrode_can_be_placed(ch_names, expected):
    assert has_standard_positions(ch_names) == (expected == "original+neighbours")
    assert resolve_feature_channels("auto", ch_names) == expected
    assert feature_channel_pairs("auto", ch_names) == feature_channel_pairs(expected, ch_names)
    assert resolve_feature_channels([(0, 0)], ch_names) == [(0, 0)]  # anything else as it is


def test_auto_is_the_default_and_follows_the_windows_names(tiny, windows):
    est = fitted(tiny, windows)
    assert est.readout is None and Readout().feature_channels == "auto"
    assert est.n_features_out_ == 4 * 12  # numpy windows named ch0 ... ch3: the recorded channels
    np.testing.assert_array_equal(est.transform(windows), est.set_params(readout__feature_channels="original").transform(windows))
    info = mne.create_info(NAMES, 100.0, "eeg")
    epochs = mne.EpochsArray(windows.astype(np.float64) * 1e-6, info, verbose=False)
    on_epochs = fitted(tiny, epochs)
    n_read = 4 + len(neighbour_pairs(NAMES))
    assert on_epochs.n_features_out_ == n_read * 12 and on_epochs.transform(epochs).shape == (12, n_read * 12)
    assert on_epochs.get_feature_names_out()[4 * 12] == f"{NAMES[0]}-{NAMES[1]}_h0_mean"
    assert on_epochs.encode(windows).shape[1] == 4  # encode reads any windows on their own names


def test_ch_names_name_numpy_windows(tiny, windows, tmp_path):
    named = fitted(tiny, windows, ch_names=NAMES)
    info = mne.create_info(NAMES, 100.0, "eeg")
    epochs = mne.EpochsArray(windows.astype(np.float64) * 1e-6, info, verbose=False)
    on_epochs = fitted(tiny, epochs, sfreq=None)
    np.testing.assert_allclose(named.transform(windows), on_epochs.transform(epochs), rtol=1e-5, atol=1e-5)
    assert list(named.get_feature_names_out()) == list(on_epochs.get_feature_names_out())
    assert named.ch_names_ == NAMES
    loaded = SeqCLRTransformer.load(named.save(tmp_path / "named.safetensors"))
    np.testing.assert_allclose(loaded.transform(windows), named.transform(windows), rtol=1e-5, atol=1e-5)


def test_transform_refuses_windows_whose_names_change_the_layout(tiny, windows):
    info = mne.create_info(NAMES, 100.0, "eeg")
    epochs = mne.EpochsArray(windows.astype(np.float64) * 1e-6, info, verbose=False)
    est = fitted(tiny, epochs, sfreq=None)
    with pytest.raises(ValueError, match=r"reads 4 channels of X but read \d+ of the windows seen in fit"):
        est.transform(windows)  # numpy windows: no names, so "auto" would read the recorded channels only
    assert est.set_params(ch_names=NAMES).transform(windows).shape == (12, est.n_features_out_)


@pytest.mark.parametrize("ch_names, message", [
    (["Fz", "Cz"], "Got 2 channel names for windows with 4 channels"),
    ("Fz", "ch_names must be a list of channel names"),
    ([1, 2, 3, 4], "ch_names must be a list of channel names"),
])
def test_bad_ch_names_are_refused(tiny, windows, ch_names, message):
    with pytest.raises(ValueError, match=message):
        fitted(tiny, windows, ch_names=ch_names)


def test_ch_names_must_agree_with_named_windows(tiny, windows):
    info = mne.create_info(NAMES, 100.0, "eeg")
    epochs = mne.EpochsArray(windows.astype(np.float64) * 1e-6, info, verbose=False)
    with pytest.raises(ValueError, match="disagree with the data's own channel names"):
        fitted(tiny, epochs, sfreq=None, ch_names=["O1", "Pz", "Cz", "Fz"])


def test_recombination_must_be_a_known_choice(tiny, windows):
    with pytest.raises(ValueError, match="recombination must be True or False"):
        fitted(tiny, windows, recombination="neighbours")
