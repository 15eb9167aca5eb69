"""SeqCLRClassifier trained by skorch: user callbacks, skorch's history, the frozen-encoder cache, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from skorch.history import History

from conftest import TINY
from skseqclr import SeqCLRClassifier, SeqCLRTransformer
from skseqclr.training import TrainingDivergedError
from test_classifier import HEAD, SFREQ, SHORT, rhythm_windows


@pytest.fixture(scope="module")
def data():
    return rhythm_windows(40, seed=0)


@pytest.fixture(scope="module")
def pretrained(data):
    return SeqCLRTransformer(**TINY, **SHORT, sfreq=SFREQ, n_epochs=1, max_steps=2, batch_size=32,
                             random_state=0).fit(data[0])


def _classifier(pretrained, **params):
    return SeqCLRClassifier(pretrained=pretrained, **HEAD, **{"n_epochs": 3, "random_state": 0, **params})


# --------------------------------------------------------------------------- skorch's history
def test_history_is_skorchs(data, pretrained):
    clf = _classifier(pretrained, validation_fraction=0.25, patience=50).fit(*data)
    assert isinstance(clf.history_, History)
    assert clf.history_[:, "epoch"] == [1, 2, 3] and clf.n_iter_ == 3
    valid_losses = clf.history_[:, "valid_loss"]
    assert np.isfinite(clf.history_[:, "train_loss"]).all() and np.isfinite(valid_losses).all()
    assert all(0.0 <= accuracy <= 1.0 for accuracy in clf.history_[:, "valid_acc"])
    # 30 training windows in batches of 32, 10 validation windows
    assert clf.history_[:, "train_batch_count"] == [1, 1, 1] and clf.history_[:, "valid_batch_count"] == [1, 1, 1]
    assert clf.best_epoch_ == int(np.argmin(valid_losses))


def test_without_validation_the_last_epoch_is_kept(data, pretrained):
    clf = _classifier(pretrained).fit(*data)
    assert clf.best_epoch_ == 2 and "valid_loss" not in clf.history_[-1]


# --------------------------------------------------------------------------- user callbacks
def test_user_early_stopping_stops_on_a_plateau(data, pretrained):
    # a learning rate of 1e-12 leaves the loss where it is: a plateau from the first epoch
    stopping = EarlyStopping(monitor="train_loss", patience=2, threshold=1e-3)
    clf = _classifier(pretrained, n_epochs=50, lr=1e-12, dropout=0.0, callbacks=[stopping]).fit(*data)
    assert len(clf.history_) == 1 + 2 < 50
    assert stopping.dynamic_threshold_ is None  # the user's callback is copied, not trained in place
    learning = _classifier(pretrained, n_epochs=6, lr=1e-2, callbacks=[("stop", EarlyStopping(
        monitor="train_loss", patience=2, threshold=1e-3))]).fit(*data)
    assert len(learning.history_) == 6  # while the loss falls, it does not stop


def test_lr_scheduler_changes_the_learning_rate(data, pretrained):
    halving = _classifier(pretrained, lr=1e-2, callbacks=[LRScheduler(policy="StepLR", step_size=1, gamma=0.5)])
    assert halving.fit(*data).history_[:, "event_lr"] == pytest.approx([1e-2, 5e-3, 2.5e-3])
    # a rate of 0 after the first epoch: the head keeps the weights of that epoch
    stopped = _classifier(pretrained, lr=1e-2, callbacks=[LRScheduler(policy="StepLR", step_size=1, gamma=0.0)])
    one_epoch = _classifier(pretrained, lr=1e-2, n_epochs=1).fit(*data)
    np.testing.assert_array_equal(stopped.fit(*data).predict_proba(data[0]), one_epoch.predict_proba(data[0]))
    assert not np.array_equal(halving.predict_proba(data[0]), one_epoch.predict_proba(data[0]))


def test_a_scorer_name_adds_scores(data, pretrained):
    clf = _classifier(pretrained, n_epochs=1, validation_fraction=0.25, callbacks=["balanced_accuracy"]).fit(*data)
    assert 0.0 <= clf.history_[-1, "valid_balanced_accuracy"] <= 1.0
    assert 0.0 <= clf.history_[-1, "train_balanced_accuracy"] <= 1.0


def test_callbacks_see_the_encoder_as_a_parameter_group_when_finetuning(data, pretrained):
    rates = []

    class RecordRates(Callback):
        def on_epoch_end(self, net, **kwargs):
            rates.append([group["lr"] for group in net.optimizer_.param_groups])

    _classifier(pretrained, finetune=True, n_epochs=1, lr=1e-2, encoder_lr=1e-4,
                callbacks=[RecordRates()]).fit(data[0][:16], data[1][:16])
    assert sorted(rates[0]) == [1e-4, 1e-2]


CALLBACK_CASES = [
    ("an unknown scorer name", ["bogus"], "callbacks"),
    ("one callback, not in a list", EarlyStopping(), "callbacks"),
    ("a number", [42], "callbacks"),
    ("a pair whose second item is no callback", [("stop", 42)], "callbacks"),
    ("a scorer name, not in a list", "accuracy", "callbacks"),
]


@pytest.mark.parametrize("case, callbacks, word", CALLBACK_CASES, ids=[case[0] for case in CALLBACK_CASES])
def test_bad_callbacks_are_refused_at_fit(case, callbacks, word, data, pretrained):
    with pytest.raises((ValueError, TypeError)) as info:
        _classifier(pretrained, callbacks=callbacks).fit(*data)
    assert word in str(info.value)


# --------------------------------------------------------------------------- what stays SeqCLR's own
def test_cache_encodes_once(data, pretrained, monkeypatch):
    import skseqclr.training.classifier_net as classifier_net  # the network fit trains, and its cache

    calls = []
    encode = classifier_net.encode_windows
    monkeypatch.setattr(classifier_net, "encode_windows", lambda *args, **kw: calls.append(1) or encode(*args, **kw))
    _classifier(pretrained, batch_size=8, cache_encoded=True).fit(*data)
    assert len(calls) == 40 // 8  # the cache, once; the head trains on it for 3 epochs
    calls.clear()
    _classifier(pretrained, batch_size=8, cache_encoded=False).fit(*data)
    assert len(calls) == 5 + 3 * 5  # the head's input statistics, then every batch of every epoch


def test_divergence_stops_training(data, pretrained):
    clf = _classifier(pretrained, finetune=True, lr=1e30, encoder_lr=1e30)
    with pytest.raises(TrainingDivergedError, match=r"lr=1e\+30, encoder_lr=1e\+30") as info:
        clf.fit(*data)
    assert info.value.step >= 1 and f"step {info.value.step}" in str(info.value)
    assert not hasattr(clf, "history_")


def test_pickle_round_trip(data, pretrained):
    clf = _classifier(pretrained, validation_fraction=0.25, callbacks=[LRScheduler(policy="StepLR", step_size=1)])
    clf.fit(*data)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(data[0]), clf.predict_proba(data[0]))
    assert copy.history_[:, "valid_loss"] == clf.history_[:, "valid_loss"] and copy.best_epoch_ == clf.best_epoch_


def test_workers_read_the_training_batches(data, pretrained):
    fits = [_classifier(pretrained, n_epochs=1, cache_encoded=False, num_workers=workers).fit(*data)
            for workers in (0, 1)]
    np.testing.assert_array_equal(fits[0].predict_proba(data[0]), fits[1].predict_proba(data[0]))
    assert torch.equal(fits[0].head_.mean, fits[1].head_.mean)


def test_clone_keeps_the_callbacks(pretrained):
    from sklearn.base import clone

    callbacks = [LRScheduler(policy="StepLR", step_size=2, gamma=0.5), ("stop", EarlyStopping(patience=3)),
                 "balanced_accuracy"]
    copy = clone(_classifier(pretrained, callbacks=callbacks)).callbacks
    assert copy[0].step_size == 2 and copy[0].gamma == 0.5 and copy[1][1].patience == 3
    assert copy[2] == "balanced_accuracy" and copy[0] is not callbacks[0]
