"""Views as random crops (``crop_length``): the two views of a channel are two stretches of it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skseqclr import MultiDataset, SeqCLRTransformer
from skseqclr.augmentations import ChannelAugmenter
from skseqclr.augmentations import functional as AF
from skseqclr.training.pretrainer import ContrastiveViews, SeqCLRNetwork


def test_crop_cuts_each_row_from_its_own_start():
    x = torch.arange(30.0).reshape(3, 10)
    start = torch.tensor([0, 3, 6])
    out = AF.crop(x, start, 4)
    expected = torch.stack([x[i, s:s + 4] for i, s in enumerate(start.tolist())])
    assert torch.equal(out, expected)


def views_of(windows, crop_length, seed=0):
    """Un-augmented, unscaled views of a batch of windows (original channels only)."""
    views = ContrastiveViews(batch_size=windows.shape[0] * windows.shape[1], channels_per_window=windows.shape[1],
                             recombination=False, augmenter=ChannelAugmenter([]), scaling="none",
                             crop_length=crop_length)
    return views(windows, torch.Generator().manual_seed(seed))


def test_views_are_two_contiguous_stretches_of_the_same_channel_from_independent_starts():
    n_windows, n_channels, n_times, length = 8, 3, 50, 20
    # sample t of channel c of window w holds 1000 * (w * n_channels + c) + t: a view tells where it came from
    offsets = 1000 * torch.arange(n_windows * n_channels, dtype=torch.float32).reshape(n_windows, n_channels, 1)
    windows = offsets + torch.arange(n_times, dtype=torch.float32)
    view_a, view_b = views_of(windows, length)
    assert view_a.shape == view_b.shape == (n_windows * n_channels, length)
    for view in (view_a, view_b):
        assert torch.equal(torch.diff(view, dim=1), torch.ones(len(view), length - 1))  # contiguous
    assert torch.equal(view_a[:, 0] // 1000, view_b[:, 0] // 1000)  # the same channel in both views
    start_a, start_b = view_a[:, 0] % 1000, view_b[:, 0] % 1000
    assert start_a.min() >= 0 and max(start_a.max(), start_b.max()) <= n_times - length
    assert (start_a != start_b).float().mean() > 0.8  # drawn per view, not shared
    assert len(torch.unique(torch.cat([start_a, start_b]))) > 10  # and spread over the window


def test_without_crop_length_both_views_are_the_whole_channel():
    windows = torch.randn(4, 2, 30)
    view_a, view_b = views_of(windows, None)
    channels = windows.flatten(0, 1)
    assert torch.equal(view_b, view_a)
    assert all(any(torch.equal(row, channel) for channel in channels) for row in view_a)


@pytest.fixture
def windows(rng):
    return (20 * rng.standard_normal((24, 3, 160))).astype(np.float32)


def make(tiny, **params):
    defaults = dict(sfreq=100.0, n_epochs=1, batch_size=16, random_state=0, zero_mask=(0, 20))
    defaults.update(params)
    return SeqCLRTransformer(**tiny, **defaults)


@pytest.fixture
def lengths(monkeypatch):
    """The length of every batch of views the network is given, in order."""
    seen = []
    forward = SeqCLRNetwork.forward

    def recording(self, x):
        seen.append(x.shape[-1])
        return forward(self, x)

    monkeypatch.setattr(SeqCLRNetwork, "forward", recording)
    return seen


def test_pretraining_encodes_crops_and_transform_encodes_whole_windows(tiny, windows, lengths):
    cropped = make(tiny, crop_length=64).fit(windows)
    assert set(lengths) == {64} and cropped.n_steps_ > 0 and np.isfinite(cropped.history_[-1]["loss"])
    whole = make(tiny).fit(windows)
    assert cropped.transform(windows).shape == whole.transform(windows).shape
    # same seed, same initial weights: only the views differ, so the trained encoders differ
    assert not np.allclose(cropped.transform(windows), whole.transform(windows))


def test_a_fractional_crop_length_is_that_fraction_of_the_shortest_window(tiny, windows, lengths):
    make(tiny, crop_length=0.4, time_shift=(-5, 5)).fit(windows)
    assert set(lengths) == {64}  # 0.4 of 160 samples
    lengths.clear()
    # datasets pooled for pretraining: the fraction of the shortest windows, so one length fits all
    make(tiny, crop_length=0.4, time_shift=(-5, 5), max_steps=6).fit(MultiDataset([windows, windows[:, :, :120]]))
    assert set(lengths) == {48}


FRACTION_HINT = "a positive number of samples or a fraction of the window between 0 and 1"


@pytest.mark.parametrize("crop_length, match", [
    (0, f"crop_length must be None, {FRACTION_HINT}, got 0"),
    (32.5, f"{FRACTION_HINT}, got 32.5"),
    (1.0, f"{FRACTION_HINT}, got 1.0"),
    (True, f"{FRACTION_HINT}, got True"),
    (161, r"crop_length=161 is longer than the windows \(160 samples\)"),
    (3, r"crop_length=3 is too short for the conv encoder .* at least 5 samples"),
    (0.02, r"crop_length=0.02 \(3 samples\) is too short for the conv encoder"),
    (15, r"zero_mask=\(0.0, 20.0\) masks up to 20.0 samples, but the pretraining crops \(crop_length=15\) "
         r"have only 15 samples"),
    (0.1, r"masks up to 20.0 samples, but the pretraining crops \(crop_length=0.1\) have only 16 samples"),
])
def test_bad_crop_lengths_are_named(tiny, windows, crop_length, match):
    with pytest.raises(ValueError, match=match):
        make(tiny, crop_length=crop_length, time_shift=(-5, 5)).fit(windows)


def test_whole_windows_are_still_named_as_windows_when_an_augmentation_does_not_fit(tiny, windows):
    with pytest.raises(ValueError, match=r"but windows have only 160 samples; shorten the range or lengthen windows"):
        make(tiny, zero_mask=(0, 170)).fit(windows)
