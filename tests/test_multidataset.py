"""Pretraining on several datasets at once (paper §1: "combine multiple EEG datasets").

The encoder is channel-wise, so datasets with different montages, channel
counts and window lengths can be pooled, through ``skseqclr.MultiDataset``
(a plain list is one sequence of windows: see test_hostile_inputs.py); each
batch comes from one dataset. Sampling rates must agree, or be resampled on
the fly with ``resample_to``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import TINY
from skseqclr import MultiDataset, Preprocessing, SeqCLRTransformer
from skseqclr.inputs import as_window_sources
from skseqclr.training.loading import plan_epoch

#: Augmentation ranges that fit windows of 64 samples.
SHORT = dict(time_shift=(-8, 8), zero_mask=(0, 16))


def eeg(n_windows, n_channels, n_times, seed):
    """Noise plus a 10 Hz rhythm at 128 Hz, in µV."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_times) / 128.0
    rhythm = 30 * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 2 * np.pi, (n_windows, n_channels, 1)))
    return (20 * rng.standard_normal((n_windows, n_channels, n_times)) + rhythm).astype(np.float32)


def epochs(data_uv, sfreq):
    import mne

    info = mne.create_info([f"EEG{i:03d}" for i in range(data_uv.shape[1])], sfreq, "eeg")
    return mne.EpochsArray(data_uv * 1e-6, info, verbose=False)


def test_pretrain_on_3_and_8_channel_datasets_of_different_lengths():
    three = eeg(16, 3, 96, seed=0)
    eight = eeg(16, 8, 64, seed=1)
    seqclr = SeqCLRTransformer(**TINY, **SHORT, sfreq=128, n_epochs=1, batch_size=16, random_state=0)
    seqclr.fit(MultiDataset([three, eight]))

    # 16 windows per dataset, 4 channels drawn per window, 16 channels per step: 4 windows a batch,
    # so 4 batches from each dataset in the one epoch.
    assert seqclr.history_[0]["steps"] == 8
    assert np.isfinite(seqclr.history_[0]["loss"])
    assert seqclr.n_channels_fit_ == (3, 8)
    per_channel = seqclr._n_features_per_channel()
    features_three, features_eight = seqclr.transform(three), seqclr.transform(eight)
    assert features_three.shape == (16, 3 * per_channel)
    assert features_eight.shape == (16, 8 * per_channel)
    assert np.isfinite(features_three).all() and np.isfinite(features_eight).all()
    # the same channel gives the same features whichever dataset it sits in
    np.testing.assert_allclose(seqclr.encode(eight[:, :3, :])[:, 0], seqclr.encode(eight)[:, 0], rtol=1e-5,
                               atol=1e-5)

    with pytest.raises(ValueError, match="fitted on windows with 3 or 8 channels"):
        seqclr.transform(eeg(4, 5, 64, seed=2))
    assert seqclr.encode(eeg(4, 5, 64, seed=2)).shape == (4, 5, per_channel)


def test_each_batch_comes_from_one_dataset_and_all_are_used():
    sources = as_window_sources(MultiDataset([eeg(10, 3, 96, seed=0), eeg(12, 8, 64, seed=1)]), sfreq=128)
    batches = plan_epoch(sources, 4, seed=0, epoch=0)
    by_source = {0: [], 1: []}
    for source_index, indices in batches:
        assert indices.max() < sources[source_index].n_windows
        by_source[source_index].append(indices)
    assert len(by_source[0]) == 2 and len(by_source[1]) == 3  # full batches of 4 windows
    assert len(np.unique(np.concatenate(by_source[1]))) == 12


def test_mismatched_sampling_rates_are_refused():
    data = eeg(8, 2, 128, seed=0)
    seqclr = SeqCLRTransformer(**TINY, **SHORT, n_epochs=1, batch_size=8, random_state=0)
    with pytest.raises(ValueError, match=r"different sampling frequencies \[128.0, 256.0\] Hz.*resample_to"):
        seqclr.fit(MultiDataset([epochs(data, 128.0), epochs(np.repeat(data, 2, axis=-1), 256.0)]))


def test_resample_to_pools_128_and_256_hz_data():
    import torchaudio.functional as TAF

    slow = eeg(8, 2, 128, seed=0)
    fast = eeg(8, 3, 256, seed=1)
    seqclr = SeqCLRTransformer(**TINY, **SHORT, preprocessing=Preprocessing(resample_to=128), n_epochs=1, batch_size=8, random_state=0)
    seqclr.fit(MultiDataset([epochs(slow, 128.0), epochs(fast, 256.0)]))
    assert seqclr.sfreq_ == 128.0
    assert seqclr.history_[0]["steps"] == 8  # 2 windows a batch (8 channels, 4 per window): 4 per dataset

    # transform resamples the 256 Hz windows with torchaudio: the same as encoding them resampled beforehand
    resampled = TAF.resample(torch.from_numpy(fast), 256, 128).numpy()
    np.testing.assert_allclose(seqclr.transform(epochs(fast, 256.0)),
                               seqclr.transform(epochs(resampled, 128.0)), rtol=1e-4, atol=1e-4)
    # and differs from reading the 256 Hz samples as if they were 128 Hz ones
    assert not np.allclose(seqclr.transform(epochs(fast, 256.0)), seqclr.transform(epochs(fast, 128.0)),
                           atol=1e-3)


def test_classifier_on_an_encoder_pretrained_with_resample_to():
    import torchaudio.functional as TAF

    from skseqclr import SeqCLRClassifier

    slow, fast = eeg(8, 2, 128, seed=0), eeg(12, 2, 256, seed=1)
    seqclr = SeqCLRTransformer(**TINY, **SHORT, preprocessing=Preprocessing(resample_to=128), n_epochs=1, batch_size=8, random_state=0)
    seqclr.fit(MultiDataset([epochs(slow, 128.0), epochs(fast, 256.0)]))
    y = np.arange(12) % 2
    clf = SeqCLRClassifier(pretrained=seqclr, lstm_sizes=(4, 2, 2), hidden_size=8, n_epochs=1, random_state=0)
    proba = clf.fit(epochs(fast, 256.0), y).predict_proba(epochs(fast, 256.0))
    assert proba.shape == (12, 2)
    # the classifier reads the 256 Hz windows resampled to the encoder's 128 Hz, like transform does
    resampled = epochs(TAF.resample(torch.from_numpy(fast), 256, 128).numpy(), 128.0)
    np.testing.assert_allclose(clf.predict_proba(resampled), proba, rtol=1e-4, atol=1e-5)
