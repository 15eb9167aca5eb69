"""SeqCLRClassifier (the paper's log-softmax classifier) and LogSoftmaxClassifier (pooled features)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from conftest import TINY
from skseqclr import Checkpointing, LogSoftmaxClassifier, SeqCLRClassifier, SeqCLRTransformer

SFREQ = 128.0
#: Augmentation ranges that fit windows of 64 samples (0.5 s at 128 Hz).
SHORT = dict(time_shift=(-8, 8), zero_mask=(0, 16))
#: A head small enough for a training epoch in tens of milliseconds.
HEAD = dict(lstm_sizes=(8, 4, 2), hidden_size=16)


def rhythm_windows(n_windows, n_channels=2, n_times=64, seed=0, labels=("rest", "task")):
    """Windows in µV whose class is the frequency of a rhythm in noise (6 Hz vs 24 Hz)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_windows) % 2
    rng.shuffle(y)
    t = np.arange(n_times) / SFREQ
    phase = rng.uniform(0, 2 * np.pi, (n_windows, n_channels, 1))
    freq = np.where(y == 1, 24.0, 6.0)[:, None, None]
    X = 20 * rng.standard_normal((n_windows, n_channels, n_times)) + 40 * np.sin(2 * np.pi * freq * t + phase)
    return X.astype(np.float32), np.asarray(labels)[y]


@pytest.fixture(scope="module")
def data():
    X, y = rhythm_windows(120, seed=0)
    X_test, y_test = rhythm_windows(60, seed=1)
    return X, y, X_test, y_test


@pytest.fixture(scope="module")
def pretrained(data):
    """A briefly pretrained tiny encoder."""
    return SeqCLRTransformer(**TINY, **SHORT, sfreq=SFREQ, n_epochs=1, max_steps=5, batch_size=32,
                             random_state=0).fit(data[0])


@pytest.fixture(scope="module")
def frozen(data, pretrained):
    X, y = data[:2]
    return SeqCLRClassifier(pretrained=pretrained, **HEAD, n_epochs=10, lr=3e-3, random_state=0).fit(X, y)


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------- learning and the classifier surface
def test_learns_rhythms_with_string_labels(frozen, data):
    X_test, y_test = data[2:]
    assert list(frozen.classes_) == ["rest", "task"]
    predictions = frozen.predict(X_test)
    assert set(predictions) <= {"rest", "task"}
    assert frozen.score(X_test, y_test) >= 0.8  # chance is 0.5


def test_probabilities_are_consistent(frozen, data):
    X_test = data[2]
    proba = frozen.predict_proba(X_test)
    log_proba = frozen.predict_log_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.exp(log_proba), proba)
    decision = frozen.decision_function(X_test)
    np.testing.assert_allclose(decision, log_proba[:, 1] - log_proba[:, 0])
    np.testing.assert_array_equal(frozen.predict(X_test), frozen.classes_[(decision > 0).astype(int)])


def test_history_records_each_epoch(frozen):
    assert frozen.n_iter_ == len(frozen.history_) == 10
    assert {"epoch", "train_loss", "dur"} <= set(frozen.history_[0])  # skorch's history
    assert frozen.history_[-1]["train_loss"] < frozen.history_[0]["train_loss"]


def test_integer_labels_and_three_classes(pretrained):
    X, y = rhythm_windows(30, seed=2)
    y3 = np.arange(30) % 3 + 10
    clf = SeqCLRClassifier(pretrained=pretrained, **HEAD, n_epochs=1, random_state=0).fit(X, y3)
    np.testing.assert_array_equal(clf.classes_, [10, 11, 12])
    assert clf.predict_proba(X).shape == (30, 3)
    assert clf.decision_function(X).shape == (30, 3)
    assert set(clf.predict(X)) <= {10, 11, 12}


# --------------------------------------------------------------------------- frozen vs fine-tuned encoder
def test_frozen_encoder_is_unchanged(frozen, pretrained):
    assert _same_state(_state(frozen.encoder_), _state(pretrained.encoder_))
    assert frozen.encoder_ is not pretrained.encoder_


def test_finetuning_changes_the_encoder_but_not_the_pretrained_one(data, pretrained):
    X, y = data[0][:40], data[1][:40]
    before = _state(pretrained.encoder_)
    clf = SeqCLRClassifier(pretrained=pretrained, finetune=True, encoder_lr=1e-2, **HEAD, n_epochs=1,
                           random_state=0).fit(X, y)
    after = _state(clf.encoder_)
    changed = [k for k in before if before[k].is_floating_point() and not torch.equal(before[k], after[k])]
    conv_weights = [k for k in before if k.endswith("weight")]
    assert set(conv_weights) <= set(changed)
    assert _same_state(before, _state(pretrained.encoder_))


def test_cache_gives_the_same_model_as_encoding_every_epoch(data, pretrained):
    X, y = data[0][:40], data[1][:40]
    fits = [SeqCLRClassifier(pretrained=pretrained, **HEAD, n_epochs=2, cache_encoded=cache,
                             random_state=0).fit(X, y) for cache in (True, False)]
    np.testing.assert_allclose(fits[0].predict_proba(X), fits[1].predict_proba(X), rtol=1e-5, atol=1e-6)


def test_same_random_state_same_model(data, pretrained):
    X, y = data[0][:40], data[1][:40]
    params = dict(pretrained=pretrained, **HEAD, n_epochs=2, dropout=0.5, validation_fraction=0.25)
    a = SeqCLRClassifier(**params, random_state=3).fit(X, y)
    b = SeqCLRClassifier(**params, random_state=3).fit(X, y)
    c = SeqCLRClassifier(**params, random_state=4).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.history_[-1]["train_loss"] == b.history_[-1]["train_loss"]
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


# --------------------------------------------------------------------------- class weights and early stopping
@pytest.mark.parametrize("favoured", ["rest", "task"])
def test_class_weight_dict_moves_predictions(data, pretrained, favoured):
    X, y = data[0][:40], data[1][:40]
    other = "task" if favoured == "rest" else "rest"
    clf = SeqCLRClassifier(pretrained=pretrained, **HEAD, n_epochs=4, lr=1e-2, random_state=0,
                           class_weight={favoured: 1000.0, other: 1e-4}).fit(X, y)
    assert np.mean(clf.predict(data[2]) == favoured) > 0.9


def test_balanced_class_weight_on_imbalanced_labels(pretrained):
    from skseqclr.training.finetune import class_weight_tensor

    X, y = rhythm_windows(40, seed=5)
    y = np.where(np.arange(40) < 30, "rest", "task")
    weights = class_weight_tensor("balanced", np.array(["rest", "task"]), (y == "task").astype(int), "cpu")
    np.testing.assert_allclose(weights.numpy(), [40 / (2 * 30), 40 / (2 * 10)])
    clf = SeqCLRClassifier(pretrained=pretrained, **HEAD, n_epochs=1, class_weight="balanced",
                           random_state=0).fit(X, y)
    assert clf.predict_proba(X).shape == (40, 2)
    with pytest.raises(ValueError, match="class_weight"):
        SeqCLRClassifier(pretrained=pretrained, class_weight="bogus").fit(X, y)


def test_early_stopping_stops_and_keeps_the_best_epoch(data, pretrained):
    X, y = data[0][:40], data[1][:40]
    clf = SeqCLRClassifier(pretrained=pretrained, **HEAD, n_epochs=60, lr=5e-2, validation_fraction=0.25,
                           patience=2, random_state=0).fit(X, y)
    valid_losses = [record["valid_loss"] for record in clf.history_]
    assert len(clf.history_) < 60
    assert clf.n_iter_ == len(clf.history_)
    assert clf.best_epoch_ == int(np.argmin(valid_losses))
    assert len(clf.history_) == clf.best_epoch_ + 1 + 2  # stopped after `patience` epochs without progress
    assert all(0.0 <= record["valid_acc"] <= 1.0 for record in clf.history_)


# --------------------------------------------------------------------------- where the encoder comes from
def test_clone_keeps_a_fitted_transformer(pretrained):
    clf = SeqCLRClassifier(pretrained=pretrained, lr=0.5)
    copy = clone(clf)
    assert copy.pretrained is pretrained and copy.lr == 0.5
    unfitted = SeqCLRTransformer(**TINY)
    assert clone(SeqCLRClassifier(pretrained=unfitted)).pretrained is not unfitted


def test_frozen_estimator_is_accepted(data, pretrained):
    from sklearn.frozen import FrozenEstimator

    clf = SeqCLRClassifier(pretrained=FrozenEstimator(pretrained), **HEAD, n_epochs=1, random_state=0)
    clf = clone(clf).fit(data[0][:16], data[1][:16])
    assert clf.transformer_ is pretrained


def test_saved_weights_initialise_the_encoder(tmp_path, data, pretrained):
    path = pretrained.save(tmp_path / "encoder.safetensors")
    clf = SeqCLRClassifier(pretrained=str(path), **HEAD, n_epochs=1, random_state=0).fit(data[0][:20], data[1][:20])
    assert _same_state(_state(clf.encoder_), _state(pretrained.encoder_))
    assert clf.transformer_.input_scale_ == pytest.approx(pretrained.input_scale_)


def test_unfitted_transformer_is_pretrained_in_fit_on_unlabelled_data(data):
    X, y = data[0][:16], data[1][:16]
    X_unlabelled = rhythm_windows(16, n_channels=3, n_times=80, seed=7)[0]
    template = SeqCLRTransformer(**TINY, **SHORT, sfreq=SFREQ, n_epochs=1, batch_size=16, random_state=0)
    clf = SeqCLRClassifier(pretrained=template, **HEAD, n_epochs=1, random_state=0)
    clf.fit(X, y, X_unlabelled=X_unlabelled)
    assert not hasattr(template, "encoder_")  # the parameter is cloned, never fitted in place
    assert clf.transformer_.n_channels_fit_ == (2, 3)
    # 16 windows with 4 channels drawn from each: 4 batches of 4 windows per dataset
    assert clf.transformer_.history_[0]["steps"] == 8
    assert clf.predict(X).shape == (16,)


def test_already_pretrained_encoder_ignores_unlabelled_data_with_a_warning(data, pretrained):
    clf = SeqCLRClassifier(pretrained=pretrained, **HEAD, n_epochs=1, random_state=0)
    with pytest.warns(UserWarning, match="X_unlabelled is ignored"):
        clf.fit(data[0][:16], data[1][:16], X_unlabelled=data[0])


# --------------------------------------------------------------------------- ecosystem inputs and sklearn tools
def test_braindecode_dataset_targets_and_slice_dataset(pretrained):
    from braindecode.datasets import create_from_X_y
    from skorch.helper import SliceDataset

    X, y = rhythm_windows(24, seed=3, labels=(0, 1))
    dataset = create_from_X_y(X * 1e-6, y, drop_last_window=False, sfreq=SFREQ, ch_names=["C3", "C4"])
    clf = SeqCLRClassifier(pretrained=pretrained, **HEAD, n_epochs=2, batch_size=8, random_state=0)
    clf.fit(dataset)  # y from the dataset; volts converted to µV by units="auto"
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    numpy_clf = clone(clf).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(dataset), numpy_clf.predict_proba(X), rtol=1e-4, atol=1e-5)
    scores = cross_val_score(clone(clf).set_params(n_epochs=1), SliceDataset(dataset, idx=0), y, cv=2)
    assert scores.shape == (2,)


def test_mne_epochs_with_event_names(pretrained):
    import mne

    X, y = rhythm_windows(20, seed=4, labels=(1, 2))
    info = mne.create_info(["C3", "C4"], SFREQ, "eeg")
    events = np.c_[np.arange(20) * 100, np.zeros(20, int), y]
    epochs = mne.EpochsArray(X * 1e-6, info, events=events, event_id={"left": 1, "right": 2}, verbose=False)
    clf = SeqCLRClassifier(pretrained=pretrained, **HEAD, n_epochs=1, random_state=0).fit(epochs)
    assert list(clf.classes_) == ["left", "right"]
    assert clf.score(epochs) >= 0.0


def test_pipeline_cross_val_score_and_grid_search(data, pretrained):
    X, y = data[0][:32], data[1][:32]
    clf = SeqCLRClassifier(pretrained=pretrained, **HEAD, n_epochs=1, random_state=0)
    pipe = make_pipeline(FunctionTransformer(lambda windows: windows * 1.0), clf)
    assert pipe.fit(X, y).predict(X).shape == (32,)
    scores = cross_val_score(clf, X, y, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    search = GridSearchCV(clf, {"lr": [1e-3, 1e-2]}, cv=2).fit(X, y)
    assert search.best_params_["lr"] in (1e-3, 1e-2)
    assert search.best_estimator_.transformer_ is pretrained


def test_verbose_prints_the_epoch_log(data, pretrained, capsys):
    SeqCLRClassifier(pretrained=pretrained, **HEAD, n_epochs=1, verbose=1, random_state=0).fit(
        data[0][:16], data[1][:16])
    assert "train_loss" in capsys.readouterr().out  # skorch's table of the epochs


# --------------------------------------------------------------------------- bad input
def test_predict_before_fit():
    for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        with pytest.raises(NotFittedError):
            getattr(SeqCLRClassifier(), method)(np.zeros((2, 2, 64), np.float32))
        with pytest.raises(NotFittedError):
            getattr(LogSoftmaxClassifier(), method)(np.zeros((2, 3)))


def test_one_class_is_refused_before_any_pretraining(data):
    # pretrained=None would pretrain a paper-size encoder: the label error must come first
    with pytest.raises(ValueError, match="at least 2 classes"):
        SeqCLRClassifier().fit(data[0][:10], np.full(10, "rest"))


def test_y_of_wrong_length(data, pretrained):
    with pytest.raises(ValueError, match="y has 9 labels but X has 10 windows"):
        SeqCLRClassifier(pretrained=pretrained).fit(data[0][:10], data[1][:9])


def test_y_required_for_arrays(data, pretrained):
    with pytest.raises(ValueError, match="requires y"):
        SeqCLRClassifier(pretrained=pretrained).fit(data[0][:10])


def test_encoder_weights_of_another_architecture(tmp_path, data, pretrained):
    path = pretrained.save(tmp_path / "conv.safetensors")
    expects_recurrent = SeqCLRTransformer(encoder="recurrent", model_size="small", n_epochs=0, **SHORT, sfreq=SFREQ,
                                          checkpointing=Checkpointing(init_weights=path))
    with pytest.raises(ValueError, match="are for a conv encoder"):
        SeqCLRClassifier(pretrained=expects_recurrent).fit(data[0][:10], data[1][:10])
    other_sizes = SeqCLRTransformer(model_size={**TINY["model_size"], "n_residual": 2}, n_epochs=0, **SHORT,
                                    sfreq=SFREQ, checkpointing=Checkpointing(init_weights=path))
    with pytest.raises(ValueError, match="set encoder and model_size"):
        SeqCLRClassifier(pretrained=other_sizes).fit(data[0][:10], data[1][:10])


def test_damaged_weights_file(tmp_path, data, pretrained):
    from safetensors.torch import load_file, save_file
    from safetensors import safe_open

    path = pretrained.save(tmp_path / "encoder.safetensors")
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    tensors = load_file(str(path))
    name = next(k for k in tensors if k.startswith("encoder.") and k.endswith("weight"))
    tensors[name] = torch.zeros(tensors[name].shape[0] + 1, *tensors[name].shape[1:])
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match="do not fit the architecture"):
        SeqCLRClassifier(pretrained=path).fit(data[0][:10], data[1][:10])


def test_bad_pretrained_and_parameters(data, pretrained):
    X, y = data[0][:10], data[1][:10]
    with pytest.raises(ValueError, match="pretrained must be"):
        SeqCLRClassifier(pretrained=42).fit(X, y)
    for params, match in [({"finetune": "yes"}, "finetune"), ({"n_epochs": 0}, "n_epochs"), ({"lr": -1}, "lr"),
                          ({"validation_fraction": 1.5}, "validation_fraction"), ({"dropout": 1.0}, "dropout"),
                          ({"lstm_sizes": (4, 4)}, "lstm_sizes"), ({"cache_encoded": "sometimes"}, "cache_encoded")]:
        with pytest.raises(ValueError, match=match):
            SeqCLRClassifier(pretrained=pretrained, **params).fit(X, y)


def test_other_channel_count_or_rate_at_predict(frozen, data):
    import mne

    with pytest.raises(ValueError, match="X has 3 channels, but SeqCLRClassifier was fitted on windows with 2"):
        frozen.predict(np.zeros((4, 3, 64), np.float32))
    epochs = mne.EpochsArray(data[2][:4] * 1e-6, mne.create_info(["C3", "C4"], 256.0, "eeg"), verbose=False)
    with pytest.raises(ValueError, match="pretrained on 128.0 Hz data, X is at 256.0 Hz"):
        frozen.predict(epochs)
    with pytest.raises(ValueError, match="too short"):
        frozen.predict(np.zeros((4, 2, 3), np.float32))


# --------------------------------------------------------------------------- the pooled-feature route
def test_log_softmax_classifier_after_seqclr_transformer(data):
    X, y, X_test, y_test = data
    pipe = Pipeline([
        ("seqclr", SeqCLRTransformer(**TINY, **SHORT, sfreq=SFREQ, n_epochs=0, random_state=0)),
        ("clf", LogSoftmaxClassifier(random_state=0)),
    ]).fit(X, y)
    assert pipe.score(X_test, y_test) >= 0.8
    proba = pipe.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert list(pipe.classes_) == ["rest", "task"]


def test_log_softmax_classifier_hidden_layers_and_early_stopping():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 5))
    y = np.where(X[:, 0] * X[:, 1] > 0, "same", "opposite")  # not linearly separable
    linear = LogSoftmaxClassifier(n_epochs=100, random_state=0).fit(X, y)
    mlp = LogSoftmaxClassifier(hidden_layer_sizes=(32,), n_epochs=100, random_state=0).fit(X, y)
    assert mlp.score(X, y) > linear.score(X, y) + 0.15
    stopped = LogSoftmaxClassifier(hidden_layer_sizes=(32,), n_epochs=500, lr=0.1, validation_fraction=0.2,
                                   patience=3, random_state=0).fit(X, y)
    assert len(stopped.history_) < 500
    assert stopped.best_epoch_ == int(np.argmin([r["valid_loss"] for r in stopped.history_]))

