"""Channel recombination (paper §2.1): the n² set, how it is sampled, and its memory use."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch
from scipy import stats

from skseqclr.recombination import (
    all_channel_pairs,
    n_recombined_channels,
    recombine,
    sample_channel_pairs,
)


def _expected_set(window: torch.Tensor) -> list[torch.Tensor]:
    """The paper's n² channels of one (n_channels, n_times) window, built by hand."""
    n = window.shape[0]
    originals = [window[i] for i in range(n)]
    differences = [window[i] - window[j] for i, j in itertools.permutations(range(n), 2)]
    return originals + differences


def _as_keys(signals) -> set[tuple]:
    return {tuple(np.round(s.numpy().astype(np.float64), 4)) for s in signals}


def test_three_channels_give_exactly_the_nine_expected_signals():
    window = torch.randn(1, 3, 32, generator=torch.Generator().manual_seed(0))
    expected = _expected_set(window[0])
    assert len(expected) == 9 == n_recombined_channels(3)
    assert len(_as_keys(expected)) == 9  # 3 originals + 6 ordered differences, all distinct

    first, second = all_channel_pairs(3)
    enumerated = recombine(window, first, second)[0]
    assert _as_keys(enumerated) == _as_keys(expected)

    # Sampling draws from exactly that set: enough draws hit all 9 and nothing else.
    generator = torch.Generator().manual_seed(1)
    first, second = sample_channel_pairs(1, 3, 400, generator=generator)
    sampled = recombine(window, first, second)[0]
    assert _as_keys(sampled) == _as_keys(expected)


def test_drawn_channels_are_computed_from_their_pairs():
    generator = torch.Generator().manual_seed(0)
    windows = torch.randn(5, 7, 50, generator=generator)
    first, second = sample_channel_pairs(5, 7, 6, generator=generator)
    out = recombine(windows, first, second)
    assert out.shape == (5, 6, 50)
    for b, k in itertools.product(range(5), range(6)):
        i, j = int(first[b, k]), int(second[b, k])
        expected = windows[b, i] if i == j else windows[b, i] - windows[b, j]
        torch.testing.assert_close(out[b, k], expected)
    assert (first != second).any() and (first == second).sum() < first.numel()


def test_without_recombination_only_original_channels_are_drawn():
    generator = torch.Generator().manual_seed(0)
    windows = torch.randn(4, 3, 20, generator=generator)
    first, second = sample_channel_pairs(4, 3, 300, recombination=False, generator=generator)
    assert torch.equal(first, second)
    assert set(first.unique().tolist()) == {0, 1, 2}
    out = recombine(windows, first, second)
    for b in range(4):
        assert _as_keys(out[b]) == _as_keys(list(windows[b]))


@pytest.mark.parametrize("recombination, n_categories", [(True, 9), (False, 3)])
def test_draws_are_uniform_over_the_set(recombination, n_categories):
    generator = torch.Generator().manual_seed(0)
    first, second = sample_channel_pairs(200, 3, 100, recombination=recombination, generator=generator)
    flat = (first * 3 + second).flatten()
    counts = torch.bincount(flat, minlength=9).numpy()
    observed = counts[counts > 0]
    assert len(observed) == n_categories
    # 20,000 draws: a chi-square goodness-of-fit test against the uniform distribution.
    assert stats.chisquare(observed).pvalue > 1e-3
    assert np.all(np.abs(observed / observed.sum() - 1 / n_categories) < 0.02)


def test_draws_are_reproducible_from_a_generator():
    draw = lambda seed: sample_channel_pairs(  # noqa: E731
        8, 19, 4, generator=torch.Generator().manual_seed(seed))
    a, b, c = draw(3), draw(3), draw(4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not (torch.equal(a[0], c[0]) and torch.equal(a[1], c[1]))


def _allocated_bytes(fn) -> int:
    """Total bytes the CPU allocator hands out while ``fn`` runs (torch's profiler).

    The non-Kineto profiler records the same per-op allocations and starts in
    milliseconds; Kineto takes seconds to initialise on a machine without GPUs.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            prof = torch.autograd.profiler.profile(profile_memory=True, use_kineto=False)
        except (TypeError, ValueError, RuntimeError):  # a torch without the legacy profiler
            prof = torch.autograd.profiler.profile(profile_memory=True)
        with prof:
            fn()
    return sum(e.self_cpu_memory_usage for e in prof.function_events if e.self_cpu_memory_usage > 0)


def test_memory_does_not_grow_with_n_squared():
    n_windows, n_times, k = 8, 1000, 4
    one_drawn_set = n_windows * k * n_times * 4  # bytes of the k drawn float32 channels

    def sample_and_recombine(n_channels):
        windows = torch.randn(n_windows, n_channels, n_times)
        generator = torch.Generator().manual_seed(0)
        return lambda: recombine(windows, *sample_channel_pairs(n_windows, n_channels, k, generator=generator))

    used_4 = _allocated_bytes(sample_and_recombine(4))
    used_64 = _allocated_bytes(sample_and_recombine(64))
    # A few tensors the size of the drawn set (the gathered pairs and the result)...
    assert used_64 <= 6 * one_drawn_set
    # ...the same for 4 and 64 channels (64 would mean 4096 recombined channels)...
    assert used_64 == used_4

    # ...while the same measurement sees a materialised n² set, so it would catch one.
    windows = torch.randn(n_windows, 64, n_times)
    materialised = _allocated_bytes(lambda: (windows[:, :, None] - windows[:, None, :]).flatten(1, 2)[:, :k])
    assert materialised >= n_windows * 64 * 64 * n_times * 4


def test_one_dimensional_pairs_broadcast_over_windows():
    windows = torch.randn(3, 4, 10)
    first, second = all_channel_pairs(4)
    out = recombine(windows, first, second)
    assert out.shape == (3, 16, 10)
    torch.testing.assert_close(out[:, 1], windows[:, 0] - windows[:, 1])
    torch.testing.assert_close(out[:, 5], windows[:, 1])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_windows=2, n_channels=3, channels_per_window=0), "channels_per_window"),
    (dict(n_windows=2, n_channels=0, channels_per_window=2), "at least one channel"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_channel_pairs(**kwargs)
