"""fit's snapshot_steps and at_step: one pretraining run gives the transformer as it was after each chosen length."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skseqclr import SeqCLRTransformer
from skseqclr.training.pretrainer import Pretrainer


@pytest.fixture
def windows():
    return (20.0 * np.random.default_rng(0).standard_normal((16, 3, 256))).astype(np.float32)


def _transformer(tiny, **params):
    return SeqCLRTransformer(**tiny, sfreq=128, batch_size=8, random_state=0, **params)


def _stopped(tiny, windows, monkeypatch, step, **params):
    """The run of ``_transformer(tiny, **params)`` stopped by Ctrl-C after ``step`` steps: the same learning-rate
    schedule (a cosine over the whole run) up to there."""
    original = Pretrainer._train_step

    def train_step(self, *batch):
        if self.step == step - 1:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, *batch)

    with monkeypatch.context() as patch:
        patch.setattr(Pretrainer, "_train_step", train_step)
        with pytest.warns(RuntimeWarning, match=f"interrupted by Ctrl-C after step {step} "):
            return _transformer(tiny, **params).fit(windows)


def test_at_step_is_the_run_stopped_there(tiny, windows, monkeypatch):
    seqclr = _transformer(tiny, max_steps=4).fit(windows, snapshot_steps=[3, 1])
    assert sorted(seqclr.snapshots_) == [1, 3]
    final = seqclr.transform(windows)
    features = {}
    for step in (1, 3):
        earlier = seqclr.at_step(step)
        assert earlier.n_steps_ == step and earlier.snapshots_ == {}
        stopped = _stopped(tiny, windows, monkeypatch, step, max_steps=4)
        features[step] = earlier.transform(windows)
        np.testing.assert_array_equal(features[step], stopped.transform(windows))
    assert not np.allclose(features[1], features[3])
    assert not np.allclose(features[3], final)
    np.testing.assert_array_equal(seqclr.transform(windows), final)  # at_step copied, did not change it
    assert seqclr.n_steps_ == 4 and sorted(seqclr.snapshots_) == [1, 3]


def test_at_step_keeps_the_epochs_completed_by_then(tiny, windows):
    # 16 windows, 2 per batch (batch_size 8 / 4 channels per window): 8 steps per epoch
    seqclr = _transformer(tiny, n_epochs=2).fit(windows, snapshot_steps=range(4, 17, 4))
    assert sorted(seqclr.snapshots_) == [4, 8, 12, 16] and len(seqclr.history_) == 2
    assert seqclr.at_step(4).history_ == []
    assert seqclr.at_step(8).history_ == seqclr.history_[:1]
    assert seqclr.at_step(16).history_ == seqclr.history_


@pytest.mark.parametrize("bad", [0, 5, "10", [-1], [True], [1.5], ["2"], [None]])
def test_bad_snapshot_steps(tiny, windows, bad):
    with pytest.raises(ValueError, match="snapshot_steps must be None or an iterable of step counts >= 0"):
        _transformer(tiny, max_steps=2).fit(windows, snapshot_steps=bad)


def test_snapshot_steps_past_the_run_and_without_training(tiny, windows):
    with pytest.raises(ValueError, match="asks for step 5, but this fit trains 4 steps"):
        _transformer(tiny, max_steps=4).fit(windows, snapshot_steps=[2, 5])
    # the untrained control stays one parameter away
    assert _transformer(tiny, n_epochs=0).fit(windows, snapshot_steps=[1]).snapshots_ == {}


def test_at_step_errors(tiny, windows):
    with pytest.raises(NotFittedError):
        _transformer(tiny, max_steps=2).at_step(1)
    seqclr = _transformer(tiny, max_steps=2).fit(windows, snapshot_steps=[1])
    with pytest.raises(ValueError, match="No snapshot after step 2; this fit kept: 1"):
        seqclr.at_step(2)
    with pytest.raises(ValueError, match=r"kept: none \(snapshot_steps=None\)"):
        _transformer(tiny, max_steps=1).fit(windows).at_step(1)


def test_snapshot_steps_clone_and_save(tiny, windows, tmp_path):
    seqclr = _transformer(tiny, max_steps=2)
    assert "snapshot_steps" not in clone(seqclr).get_params()  # a fit argument, not a parameter
    seqclr.fit(windows, snapshot_steps=iter(range(1, 3)))  # read once: an iterator will do
    assert sorted(seqclr.snapshots_) == [1, 2]
    path = seqclr.at_step(1).save(tmp_path / "step1.safetensors")
    loaded = SeqCLRTransformer.load(path)
    assert loaded.n_steps_ == 1 and loaded.snapshots_ == {}
    np.testing.assert_allclose(loaded.transform(windows), seqclr.at_step(1).transform(windows), rtol=1e-6)


def test_step_0_is_the_untrained_control_of_the_same_seed(tiny, windows):
    seqclr = _transformer(tiny, max_steps=2).fit(windows, snapshot_steps=[0, 2])
    assert sorted(seqclr.snapshots_) == [0, 2]
    initial = seqclr.at_step(0)
    assert initial.n_steps_ == 0 and initial.history_ == []
    untrained = _transformer(tiny, n_epochs=0).fit(windows)
    np.testing.assert_array_equal(initial.transform(windows), untrained.transform(windows))
    assert not np.allclose(initial.transform(windows), seqclr.transform(windows))
