"""Input scaling modes (:mod:`skseqclr.scaling`), in particular one gain per window (``scaling="window"``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skseqclr import Preprocessing, Readout, SeqCLRClassifier, SeqCLRTransformer
from skseqclr.augmentations import ChannelAugmenter
from skseqclr.scaling import channel_statistics, scaling_statistics, window_scale
from skseqclr.training.pretrainer import ContrastiveViews


def test_window_scale_is_the_median_channel_standard_deviation_of_each_window():
    windows = torch.randn(3, 5, 200) * torch.tensor([1.0, 2.0, 3.0, 4.0, 50.0]).reshape(1, 5, 1)
    expected = windows.std(dim=-1, unbiased=False).median(dim=-1).values
    assert window_scale(windows).shape == (3, 1)
    torch.testing.assert_close(window_scale(windows)[:, 0], expected)
    assert float(window_scale(torch.zeros(1, 4, 10))) > 0  # a flat window is not divided by zero


def test_window_mode_needs_the_window_scales():
    with pytest.raises(ValueError, match="scaling='window' needs"):
        channel_statistics(torch.randn(4, 10), "window")


def test_scaling_statistics_agree_with_channel_statistics_outside_window_mode():
    windows = torch.randn(3, 4, 50) * 7 + 2
    for mode in ("global", "channel", "none"):
        center, scale = scaling_statistics(windows, windows, mode, input_scale=5.0)
        expected = channel_statistics(windows.flatten(0, 1), mode, input_scale=5.0)
        torch.testing.assert_close(center, expected[0])
        torch.testing.assert_close(scale, expected[1])


def test_recombined_channels_are_divided_by_their_windows_scale():
    windows = torch.randn(6, 4, 64) * torch.arange(1.0, 7.0).reshape(6, 1, 1)  # a different gain per window
    views = ContrastiveViews(batch_size=6 * 8, channels_per_window=8, recombination=True,
                             augmenter=ChannelAugmenter([]), scaling="window")
    view_a, _ = views(windows, torch.Generator().manual_seed(0))
    scales = window_scale(windows)
    n_matched = 0
    for row, view in enumerate(view_a):
        window = row // 8
        raw = view * scales[window]
        # every view is one of its own window's n² channels (an original or a difference) over that window's scale
        candidates = (windows[window][:, None] - windows[window][None, :]).flatten(0, 1)
        candidates[:: 4 + 1] = windows[window]  # the diagonal holds the originals
        n_matched += int(torch.isclose(candidates, raw, atol=1e-4).all(dim=-1).any())
    assert n_matched == len(view_a)


@pytest.fixture
def windows(rng):
    return (20 * rng.standard_normal((16, 5, 160))).astype(np.float32)


def fitted(tiny, windows, **params):
    defaults = dict(sfreq=100.0, n_epochs=1, batch_size=16, random_state=0, zero_mask=(0, 20),
                    readout=Readout(log_power=True))
    return SeqCLRTransformer(**tiny, **{**defaults, **params}).fit(windows)


def test_window_scaling_removes_a_windows_overall_gain_and_keeps_its_topography(tiny, windows):
    est = fitted(tiny, windows, preprocessing=Preprocessing(scaling="window"))
    features = est.encode(windows)
    np.testing.assert_allclose(est.encode(7.0 * windows), features, rtol=1e-4, atol=1e-4)
    louder_first = windows.copy()
    louder_first[:, 0] *= 3.0  # channel 0 only: the median of the five channels' deviations barely moves
    changed = np.abs(est.encode(louder_first) - features).max(axis=-1).mean(axis=0)
    assert changed[0] > 0.5  # channel 0's amplitude relative to the others is kept in its features
    # the global constant keeps the absolute amplitude instead
    glob = fitted(tiny, windows, preprocessing=Preprocessing(scaling="global"))
    assert np.abs(glob.encode(7.0 * windows) - glob.encode(windows)).max() > 0.5


def test_window_scaling_reaches_the_classifier_head(tiny, windows, rng):
    y = rng.integers(0, 2, len(windows))
    clf = SeqCLRClassifier(pretrained=fitted(tiny, windows, preprocessing=Preprocessing(scaling="window")), n_epochs=1,
                           random_state=0)
    clf.fit(windows, y)
    np.testing.assert_allclose(clf.predict_proba(5.0 * windows), clf.predict_proba(windows), atol=1e-4)
