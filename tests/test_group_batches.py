"""Pretraining batches drawn from one group (subject) each: ``group_batches=True``.

With windows of many subjects in a batch, telling subjects apart solves much
of the contrastive task; with one subject per batch every negative comes from
the same subject (Cheng et al., 2020, subject-specific negatives).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import config_context
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from conftest import TINY
from skseqclr import MultiDataset, SeqCLRTransformer
from skseqclr.training import pretrainer as training
from skseqclr.inputs import as_window_source
from skseqclr.training.loading import plan_epoch

SHORT = dict(time_shift=(-8, 8), zero_mask=(0, 16))


def subject_windows(sizes, n_channels=2, n_times=96, seed=0):
    """Noise windows whose first sample of channel 0 is the subject's number (µV), and their subjects."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(len(sizes)), sizes)
    rng.shuffle(groups)
    windows = (20 * rng.standard_normal((len(groups), n_channels, n_times))).astype(np.float32)
    windows[:, 0, 0] = groups
    return windows, groups


def test_each_batch_holds_one_group_and_every_window_is_used_once():
    windows, groups = subject_windows([5, 12, 3, 9])
    source = as_window_source(windows)
    batches = plan_epoch([source], 4, seed=0, epoch=0, groups=[groups])
    for _, indices in batches:
        assert len(np.unique(groups[indices])) == 1
        assert 1 <= len(indices) <= 4
    used = np.concatenate([indices for _, indices in batches])
    np.testing.assert_array_equal(np.sort(used), np.arange(len(groups)))  # none dropped, none twice
    # a group is split into the fewest batches, as equal as possible: 5 -> 3+2, 12 -> 4x4, 3 -> 3, 9 -> 3x3
    sizes = sorted((int(groups[i[0]]), len(i)) for _, i in batches)
    assert sizes == [(0, 2), (0, 3), (1, 4), (1, 4), (1, 4), (2, 3), (3, 3), (3, 3), (3, 3)]
    # reproducible per (seed, epoch), reshuffled across epochs
    again = plan_epoch([source], 4, seed=0, epoch=0, groups=[groups])
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(batches, again))
    other_epoch = plan_epoch([source], 4, seed=0, epoch=1, groups=[groups])
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(batches, other_epoch))


def test_group_batches_shard_across_ranks_disjointly_with_equal_lengths():
    windows, groups = subject_windows([5, 12, 3, 9])
    source = as_window_source(windows)
    plans = [plan_epoch([source], 4, seed=3, epoch=0, groups=[groups], rank=r, world_size=2) for r in range(2)]
    assert len(plans[0]) == len(plans[1]) == 4  # 9 batches, 4 per rank
    used = np.concatenate([indices for plan in plans for _, indices in plan])
    assert len(used) == len(set(used.tolist()))
    assert all(len(np.unique(groups[indices])) == 1 for plan in plans for _, indices in plan)


@pytest.fixture
def batches_read(monkeypatch):
    """``(source_index, subject markers)`` of every batch pretraining reads (see :func:`subject_windows`)."""
    seen = []
    original = training.iterate_batches

    def recording(sources, batches, **kwargs):
        for source_index, batch in original(sources, batches, **kwargs):
            seen.append((source_index, batch[:, 0, 0].numpy().copy()))
            yield source_index, batch

    monkeypatch.setattr(training, "iterate_batches", recording)
    return seen


def test_fit_reads_single_subject_batches_only_with_group_batches(batches_read):
    windows, groups = subject_windows([6, 6, 6, 6])
    params = dict(**TINY, **SHORT, sfreq=128, units="uV", n_epochs=2, batch_size=16, random_state=0)
    grouped = SeqCLRTransformer(**params, group_batches=True).fit(windows, groups=groups)
    # 4 windows a batch (16 channels, 4 per window): each subject of 6 gives 2 batches of 3, 2 epochs
    assert grouped.n_steps_ == 8 * 2 and np.isfinite(grouped.history_[-1]["loss"])
    assert all(len(np.unique(batch)) == 1 for _, batch in batches_read)

    batches_read.clear()
    SeqCLRTransformer(**params).fit(windows, groups=groups)  # groups ignored without group_batches
    assert any(len(np.unique(batch)) > 1 for _, batch in batches_read)


def test_groups_of_a_multidataset_follow_its_order(batches_read):
    first, first_groups = subject_windows([4, 4], seed=1)
    second, second_groups = subject_windows([4, 4, 4], n_channels=3, n_times=64, seed=2)
    SeqCLRTransformer(**TINY, **SHORT, sfreq=128, units="uV", n_epochs=1, batch_size=16, group_batches=True,
                      random_state=0).fit(MultiDataset([first, second]), groups=np.concatenate([first_groups, second_groups + 10]))
    assert sorted((s, int(b[0])) for s, b in batches_read) == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)]
    assert all(len(np.unique(b)) == 1 for _, b in batches_read)


def test_groups_route_through_a_pipeline():
    windows, groups = subject_windows([6, 6, 6, 6])
    labels = np.arange(len(groups)) % 2
    with config_context(enable_metadata_routing=True):
        seqclr = SeqCLRTransformer(**TINY, **SHORT, sfreq=128, units="uV", n_epochs=1, batch_size=16,
                                   group_batches=True, random_state=0).set_fit_request(groups=True)
        pipe = make_pipeline(seqclr, LogisticRegression())
        pipe.fit(windows, labels, groups=groups)
    assert pipe[0].n_steps_ == 8  # 4 subjects x 2 batches of 3 windows


@pytest.mark.parametrize("groups, message", [
    (None, r"group_batches=True needs the group \(subject\) of every window: fit\(X, groups=\.\.\.\)"),
    (np.zeros(23), r"groups must have one entry per window \(24\), got shape \(23,\)"),
    (np.zeros((24, 1)), r"groups must have one entry per window \(24\), got shape \(24, 1\)"),
    (np.r_[np.zeros(23), np.nan], "groups contains NaN"),
])
def test_wrong_groups_are_named(groups, message):
    windows, _ = subject_windows([6, 6, 6, 6])
    seqclr = SeqCLRTransformer(**TINY, **SHORT, sfreq=128, units="uV", n_epochs=1, group_batches=True)
    with pytest.raises(ValueError, match=message):
        seqclr.fit(windows, groups=groups)


def test_the_untrained_control_needs_no_groups():
    windows, _ = subject_windows([6, 6, 6, 6])
    params = dict(**TINY, **SHORT, sfreq=128, units="uV", batch_size=16, group_batches=True, random_state=0)
    untrained = SeqCLRTransformer(**params, n_epochs=0).fit(windows)
    assert untrained.n_steps_ == 0
    reference = SeqCLRTransformer(**{**params, "group_batches": False}, n_epochs=0).fit(windows)
    np.testing.assert_array_equal(untrained.transform(windows), reference.transform(windows))


def test_group_batches_must_be_a_bool():
    windows, groups = subject_windows([6, 6])
    with pytest.raises(ValueError, match="group_batches must be True or False"):
        SeqCLRTransformer(**TINY, sfreq=128, group_batches="yes").fit(windows, groups=groups)

