"""Divergence and non-finite values fail loudly instead of giving NaN features.

Pretraining and fine-tuning stop with :class:`skseqclr.training.pretrainer.TrainingDivergedError`
(a ``ValueError``) naming the likely cause as soon as the loss or the weights stop
being finite; weights files with non-finite tensors are refused; ``transform``,
``encode`` and the classifiers' predictions never return non-finite values.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from skseqclr import Checkpointing, LogSoftmaxClassifier, Preprocessing, SeqCLRClassifier, SeqCLRTransformer
from skseqclr.training.checkpoint import CHECKPOINT_NAME, load_checkpoint
from skseqclr.training.pretrainer import TrainingDivergedError

N_TIMES = 128
#: A tiny pretraining run: a few steps of the small encoder on short windows.
SMALL = dict(model_size="small", sfreq=128, batch_size=8, n_epochs=1, max_steps=3, zero_mask=(0, 20),
             preprocessing=Preprocessing(units="uV"), device="cpu", random_state=0)
#: A tiny classifier on a fitted encoder.
CLF = dict(lstm_sizes=(4, 4, 4), hidden_size=4, n_epochs=2, batch_size=8, device="cpu", random_state=0)


def _windows(n=12, n_channels=3, seed=0):
    return (20 * np.random.default_rng(seed).standard_normal((n, n_channels, N_TIMES))).astype(np.float32)


def _labels(n=12):
    return np.arange(n) % 2


@pytest.fixture(scope="module")
def fitted():
    return SeqCLRTransformer(**SMALL).fit(_windows())


@pytest.fixture(scope="module")
def fitted_classifier(fitted):
    return SeqCLRClassifier(pretrained=fitted, **CLF).fit(_windows(), _labels())


def _first_weight(module):
    return next(name for name, p in module.named_parameters() if p.dim() > 1)


def _with_nan_encoder(estimator, attribute="encoder_"):
    """A copy of ``estimator`` whose encoder has one NaN weight (as if diverged or corrupted in memory)."""
    import copy

    broken = copy.deepcopy(estimator)
    module = getattr(broken, attribute)
    with torch.no_grad():
        dict(module.named_parameters())[_first_weight(module)].view(-1)[0] = float("nan")
    return broken


def _nan_weights_file(fitted, path, value=float("nan")):
    """A weights file saved by ``fitted`` whose first encoder weight was then overwritten with ``value``."""
    fitted.save(path)
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    tensors = load_file(str(path))
    name = "encoder." + _first_weight(fitted.encoder_)
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[0] = value
    save_file(tensors, str(path), metadata=metadata)
    return path, name


def _nan_windows():
    X = _windows()
    X[3, 1, 10] = np.nan
    X[7, 0, 0] = np.inf
    return X


# Each case: a call that must fail, the exception type and a word its message must contain.
PRETRAINING = [
    ("lr=1e10", lambda tmp, fitted: SeqCLRTransformer(**{**SMALL, "lr": 1e10}).fit(_windows()),
     TrainingDivergedError, "learning rate lr=1e+10 is too large"),
    ("temperature=1e-40", lambda tmp, fitted: SeqCLRTransformer(**{**SMALL, "temperature": 1e-40}).fit(_windows()),
     TrainingDivergedError, "temperature=1e-40 is too small"),
    ("dc_shift=(1e38, 1e38)", lambda tmp, fitted: SeqCLRTransformer(**{**SMALL, "dc_shift": (1e38, 1e38)}).fit(
        _windows()), TrainingDivergedError, "dc_shift=(1e+38, 1e+38)"),
    ("amplitude_scale=(1e36, 1e36)", lambda tmp, fitted: SeqCLRTransformer(
        **{**SMALL, "amplitude_scale": (1e36, 1e36)}).fit(_windows()), TrainingDivergedError, "augmented views"),
    ("dc_shift=(1e39, 1e39)", lambda tmp, fitted: SeqCLRTransformer(**{**SMALL, "dc_shift": (1e39, 1e39)}).fit(
        _windows()), ValueError, "not representable in float32"),
    ("weights file with a NaN tensor as init_weights", lambda tmp, fitted: SeqCLRTransformer(
        **{**SMALL, "checkpointing": Checkpointing(init_weights=_nan_weights_file(fitted, tmp / "w.safetensors")[0])}
    ).fit(_windows()),
     ValueError, "not finite"),
    ("weights file with an inf tensor, load", lambda tmp, fitted: SeqCLRTransformer.load(
        _nan_weights_file(fitted, tmp / "w.safetensors", float("inf"))[0]), ValueError, "not finite"),
    ("NaN input windows, fit", lambda tmp, fitted: SeqCLRTransformer(**SMALL).fit(_nan_windows()),
     ValueError, "window(s) 3, 7"),
]

FEATURES = [
    ("NaN input windows, transform", lambda tmp, fitted: fitted.transform(_nan_windows()), ValueError,
     "window(s) 3, 7"),
    ("NaN encoder weights, transform", lambda tmp, fitted: _with_nan_encoder(fitted).transform(_windows()),
     ValueError, "weights"),
    ("NaN encoder weights, encode", lambda tmp, fitted: _with_nan_encoder(fitted).encode(_windows()),
     ValueError, "window(s) 0, 1 (2 of 2"),
    ("windows overflowing float32 in the encoder", lambda tmp, fitted: fitted.transform(
        np.concatenate([_windows(2), np.full((2, 3, N_TIMES), 1e37, np.float32) * np.sign(_windows(2, seed=1))])),
     ValueError, "window(s) 2, 3"),
]

CLASSIFIER = [
    ("classifier on an encoder with NaN weights", lambda tmp, fitted: SeqCLRClassifier(
        pretrained=_with_nan_encoder(fitted), **CLF).fit(_windows(), _labels()), ValueError, "not finite"),
    ("classifier on a weights file with a NaN tensor", lambda tmp, fitted: SeqCLRClassifier(
        pretrained=_nan_weights_file(fitted, tmp / "w.safetensors")[0], **CLF).fit(_windows(), _labels()),
     ValueError, "not finite"),
    ("classifier fine-tuning with lr=1e30", lambda tmp, fitted: SeqCLRClassifier(
        pretrained=fitted, **{**CLF, "finetune": True, "lr": 1e30, "encoder_lr": 1e30}).fit(_windows(), _labels()),
     TrainingDivergedError, "learning rate too large (lr=1e+30, encoder_lr=1e+30)"),
    ("pooled-feature head with lr=1e30", lambda tmp, fitted: LogSoftmaxClassifier(
        hidden_layer_sizes=(8,), lr=1e30, n_epochs=3, random_state=0).fit(
        np.random.default_rng(0).standard_normal((20, 4)), np.arange(20) % 2), TrainingDivergedError,
     "learning rate too large (lr=1e+30)"),
]


@pytest.mark.parametrize("case, call, error, word", PRETRAINING + FEATURES + CLASSIFIER,
                         ids=[case[0] for case in PRETRAINING + FEATURES + CLASSIFIER])
def test_non_finite_fails_loudly(case, call, error, word, tmp_path, fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error) as info:
            call(tmp_path, fitted)
    assert word in str(info.value), str(info.value)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba", "decision_function", "score"])
def test_classifier_refuses_to_predict_from_a_corrupted_encoder(fitted_classifier, method):
    broken = _with_nan_encoder(fitted_classifier)
    args = (_windows(), _labels()) if method == "score" else (_windows(),)
    with pytest.raises(ValueError, match=r"window\(s\) 0, 1, 2.*weights.*encoder\.") as info:
        getattr(broken, method)(*args)
    assert _first_weight(broken.encoder_) in str(info.value)


def test_non_finite_weights_file_names_file_and_tensor(fitted, tmp_path):
    path, name = _nan_weights_file(fitted, tmp_path / "broken.safetensors")
    with pytest.raises(ValueError) as info:
        SeqCLRTransformer.load(path)
    assert str(path) in str(info.value) and name in str(info.value)


@pytest.mark.parametrize("each_step", [True, False], ids=["checked every step", "checked at sync points"])
def test_divergence_error_names_the_step_and_keeps_checkpoints_finite(tmp_path, monkeypatch, each_step):
    """The error names the first non-finite step; no checkpoint holds non-finite weights, also when the loss is
    only checked at the loop's synchronisation points (CUDA; forced here on the CPU), where the update of the
    diverged step has already made the weights NaN when the checkpoint is due."""
    from skseqclr.training import pretrainer as training

    monkeypatch.setattr(training.Pretrainer, "check_each_step", each_step)
    seqclr = SeqCLRTransformer(**{**SMALL, "lr": 1e10, "max_steps": 6, "n_epochs": 3, "batch_size": 4,
                                  "checkpointing": Checkpointing(directory=str(tmp_path), every=1)})
    with pytest.raises(TrainingDivergedError) as info:
        seqclr.fit(_windows())
    error = info.value
    assert isinstance(error, FloatingPointError) and 1 <= error.step <= 6
    assert f"step {error.step}" in str(error)
    path = tmp_path / CHECKPOINT_NAME
    if path.exists():  # written before the divergence, with finite weights
        state = load_checkpoint(path)
        assert state["step"] < error.step
        assert all(torch.isfinite(t).all() for t in state["network"].values() if t.is_floating_point())


def test_deferred_check_finds_the_first_non_finite_step(monkeypatch):
    """On CUDA the loss is checked at the existing synchronisation points (here forced on the CPU): the error
    still names the first step whose loss was not finite, and no later epoch is recorded."""
    from skseqclr.training import pretrainer as training

    monkeypatch.setattr(training.Pretrainer, "check_each_step", False)
    seqclr = SeqCLRTransformer(**{**SMALL, "lr": 1e10, "max_steps": None, "n_epochs": 4, "batch_size": 4})
    with pytest.raises(TrainingDivergedError) as deferred:
        seqclr.fit(_windows())
    monkeypatch.setattr(training.Pretrainer, "check_each_step", True)
    with pytest.raises(TrainingDivergedError) as immediate:
        SeqCLRTransformer(**seqclr.get_params(deep=False)).fit(_windows())
    assert deferred.value.step == immediate.value.step


def test_normal_fit_is_unaffected(fitted, fitted_classifier):
    assert all(np.isfinite(entry["loss"]) for entry in fitted.history_) and fitted.n_steps_ == 3
    features = fitted.transform(_windows())
    assert features.shape[0] == 12 and np.isfinite(features).all()
    assert np.isfinite(fitted_classifier.predict_proba(_windows())).all()
    assert all(np.isfinite(entry["train_loss"]) for entry in fitted_classifier.history_)
