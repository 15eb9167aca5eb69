"""Supervised training of a log-softmax head, shared by both classifiers (paper §2.3, "Classifier").

:class:`~skseqclr.classifier.SeqCLRClassifier` and
:class:`~skseqclr.classifier.LogSoftmaxClassifier` train the same way: AdamW
on the (class-weighted) negative log-likelihood, mini-batches, optional early
stopping on a held-out, stratified validation fraction, and a ``history_`` of
the losses per epoch. This module holds that loop and what it needs: the
constraints of the parameters both share, label encoding, the validation split
and the seeding of torch's random number generators.
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from .._validation import (DEVICE, NON_NEGATIVE_REAL, POSITIVE_REAL, RANDOM_STATE, VERBOSE, InstanceOf, Interval,
                           Options, check_device, validate_parameter_constraints)
from ..inputs import MultiDataset
from ..transformer import SeqCLRTransformer
from .divergence import TrainingDivergedError, describe_names, nonfinite_tensors

__all__: list = []  # private helpers of skseqclr.classifier and skseqclr.log_softmax


#: What the parameters both classifiers share (their training loop's) may be.
_COMMON_CONSTRAINTS: dict = {
    "n_epochs": [Interval(numbers.Integral, 1)],
    "batch_size": [Interval(numbers.Integral, 1)],
    "patience": [Interval(numbers.Integral, 1)],
    "lr": [POSITIVE_REAL],
    "weight_decay": [NON_NEGATIVE_REAL],
    "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    "validation_fraction": [None, Interval(numbers.Real, 0, 1, closed="neither")],
    "class_weight": [None, Options("balanced"), InstanceOf(dict, "a dict {label: weight}")],
    "device": DEVICE,
    "random_state": RANDOM_STATE,
    "verbose": VERBOSE,
}


def _check_common_params(est):
    """Every parameter of ``est`` by name (its class's ``_parameter_constraints``), then what the table cannot
    say: the weights of a ``class_weight`` dict, and whether the device exists here."""
    validate_parameter_constraints(type(est)._parameter_constraints, est.get_params(deep=False),
                                   caller=type(est).__name__)
    if isinstance(est.class_weight, dict):
        bad = {label: weight for label, weight in est.class_weight.items()
               if not (isinstance(weight, numbers.Real) and not isinstance(weight, bool)
                       and math.isfinite(weight) and weight >= 0)}
        if bad:
            raise ValueError(f"class_weight must map labels to finite weights >= 0, got {bad!r}.")
    check_device(est.device)


def _encode_labels(estimator, y):
    """Validate labels, set ``classes_`` and return them encoded as 0..K-1."""
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the target y is None.")
    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    if len(y) == 0:
        raise ValueError("Found 0 labels (y is empty): at least 2 windows of 2 classes are required.")
    encoder = LabelEncoder().fit(y)
    if len(encoder.classes_) < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs samples of at least 2 classes, but y contains only "
            f"1 class ({encoder.classes_[0]!r})."
        )
    estimator.classes_ = encoder.classes_
    return encoder.transform(y).astype(np.int64)


def _check_n_labels(y_encoded, n_windows):
    if len(y_encoded) != n_windows:
        raise ValueError(f"y has {len(y_encoded)} labels but X has {n_windows} windows; they must match.")


def _class_weight_tensor(class_weight, classes, y_encoded, device):
    if class_weight is None:
        return None
    weights = compute_class_weight(class_weight, classes=classes, y=classes[y_encoded])
    return torch.as_tensor(weights, dtype=torch.float32, device=device)


def _split(y_encoded, validation_fraction, rng):
    """Train and validation indices: stratified when every class can be represented."""
    indices = np.arange(len(y_encoded))
    if validation_fraction is None:
        return indices, None
    n_valid = int(math.ceil(validation_fraction * len(indices)))
    if n_valid < 1 or len(indices) - n_valid < 1:
        raise ValueError(
            f"validation_fraction={validation_fraction} of {len(indices)} windows leaves no window for "
            "training or validation; use more windows or validation_fraction=None."
        )
    seed = int(rng.integers(2**31 - 1))
    counts = np.bincount(y_encoded)
    stratify = y_encoded if counts.min() >= 2 and n_valid >= len(counts) \
        and len(indices) - n_valid >= len(counts) else None
    train, valid = train_test_split(indices, test_size=n_valid, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(valid)


@contextlib.contextmanager
def _torch_seeded(seed, device):
    """Seed torch's RNGs (CPU and the training GPU) for reproducible init and dropout, restoring them after."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _fit_loop(*, estimator, train_modules, parameters, log_probs_of, y, train_idx, valid_idx, weight, rng,
              device, desc):
    """Mini-batch NLL training with optional early stopping; returns ``(history, best_epoch)``.

    ``log_probs_of(batch_indices, training)`` returns the log-probabilities of
    those windows on ``device``. ``train_modules`` are put in training mode for
    the training pass, in evaluation mode for validation, and their best state
    (lowest validation loss) is restored at the end.

    A loss or weights that stop being finite raise :class:`TrainingDivergedError`:
    on the CPU the loss is checked at every step, before the update; on CUDA
    at the end of each epoch, where the loss is read anyway, with the weights.
    """
    from tqdm.auto import tqdm

    optimizer = torch.optim.AdamW(parameters, weight_decay=estimator.weight_decay)
    y_device = torch.as_tensor(y, device=device)
    history, best = [], (math.inf, None, None)
    epochs_without_improvement = 0
    each_step = device.type != "cuda"  # reading the loss on CUDA would synchronise every step
    n_steps = 0
    progress = tqdm(range(estimator.n_epochs), desc=desc, unit="epoch", disable=not estimator.verbose)
    for epoch in progress:
        started = time.perf_counter()
        for module in train_modules:
            module.train()
        order = rng.permutation(train_idx)
        total, seen = torch.zeros((), device=device), 0
        for start in range(0, len(order), estimator.batch_size):
            batch = np.sort(order[start:start + estimator.batch_size])
            target = y_device[torch.as_tensor(batch, device=device)]
            loss = F.nll_loss(log_probs_of(batch, True), target, weight=weight)
            n_steps += 1
            if each_step and not bool(torch.isfinite(loss)):
                progress.close()
                raise _diverged(estimator, f"the training loss was not finite (NaN or inf) at step {n_steps} "
                                           f"(epoch {epoch})", n_steps)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total, seen = total + loss.detach() * len(batch), seen + len(batch)
        record = {"epoch": epoch, "train_loss": float(total) / max(seen, 1)}
        bad = [f"{type(module).__name__}.{name}" for module in train_modules
               for name in nonfinite_tensors(module.state_dict().items())]
        if not math.isfinite(record["train_loss"]) or bad:
            progress.close()
            what = (f"the weights are not finite after epoch {epoch} ({describe_names(bad)})" if bad
                    else f"the training loss of epoch {epoch} was not finite (NaN or inf)")
            raise _diverged(estimator, what, n_steps)
        if valid_idx is not None:
            for module in train_modules:
                module.eval()
            with torch.no_grad():
                log_probs = torch.cat([log_probs_of(valid_idx[s:s + estimator.batch_size], False)
                                       for s in range(0, len(valid_idx), estimator.batch_size)])
            target = y_device[torch.as_tensor(valid_idx, device=device)]
            record["valid_loss"] = float(F.nll_loss(log_probs, target, weight=weight))
            if not math.isfinite(record["valid_loss"]):
                progress.close()
                raise _diverged(estimator, f"the validation loss of epoch {epoch} was not finite (NaN or inf)",
                                n_steps)
            record["valid_accuracy"] = float((log_probs.argmax(1) == target).float().mean())
        record["time_s"] = time.perf_counter() - started
        history.append(record)
        progress.set_postfix({k: f"{v:.4f}" for k, v in record.items() if k.endswith(("loss", "accuracy"))})
        if valid_idx is None:
            continue
        if record["valid_loss"] < best[0]:
            best = (record["valid_loss"], epoch, [copy.deepcopy(m.state_dict()) for m in train_modules])
            epochs_without_improvement = 0
        else:
            epochs_without_improvement += 1
            if epochs_without_improvement >= estimator.patience:
                break
    progress.close()
    for module in train_modules:
        module.eval()
    if best[2] is not None:
        for module, state in zip(train_modules, best[2]):
            module.load_state_dict(state)
        return history, best[1]
    return history, len(history) - 1


def _diverged(estimator, what, step) -> TrainingDivergedError:
    """The error for a training loss or weights of ``estimator`` that stopped being finite."""
    rates = f"lr={estimator.lr:g}"
    if getattr(estimator, "finetune", False):
        rates += f", encoder_lr={estimator.encoder_lr:g}"
    return TrainingDivergedError(
        f"{type(estimator).__name__} training diverged: {what}. Likely causes: a learning rate too large "
        f"({rates}) or a weight decay too large (weight_decay={estimator.weight_decay:g}); otherwise inputs that "
        "overflow float32. Training stopped.", step=step)


def pretrained_transformer(estimator, X, X_unlabelled):
    """The fitted transformer the encoder of ``estimator`` comes from, pretraining one if needed.

    Reads ``estimator.pretrained`` (see :class:`~skseqclr.classifier.SeqCLRClassifier`) and, to make or load a
    transformer, its ``sfreq``, ``device``, ``precision``, ``random_state`` and ``verbose``. Used as the
    classifier's ``_pretrained_transformer`` method, called by its ``fit`` (the warnings point at that call).
    """
    pretrained = estimator.pretrained
    if _is_frozen_estimator(pretrained):
        pretrained = pretrained.estimator
    if _is_fitted_transformer(pretrained):
        if X_unlabelled is not None:
            warnings.warn("X_unlabelled is ignored: the encoder in `pretrained` is already pretrained.",
                          UserWarning, stacklevel=3)
        return pretrained
    if isinstance(pretrained, (str, Path)):
        if X_unlabelled is not None:
            warnings.warn("X_unlabelled is ignored: the encoder comes pretrained from a file.",
                          UserWarning, stacklevel=3)
        try:
            return SeqCLRTransformer.load(pretrained, device=estimator.device)
        except RuntimeError as error:  # load_state_dict: tensors that do not fit the recorded sizes
            raise ValueError(
                f"The encoder weights in {pretrained} do not fit the architecture recorded with them; "
                f"the file is damaged or was edited ({str(error).splitlines()[0]})."
            ) from error
    if pretrained is None:
        transformer = SeqCLRTransformer(sfreq=estimator.sfreq, device=estimator.device, precision=estimator.precision,
                                        random_state=estimator.random_state, verbose=estimator.verbose)
    elif isinstance(pretrained, SeqCLRTransformer):
        transformer = clone(pretrained)
    else:
        raise ValueError(
            "pretrained must be a SeqCLRTransformer (fitted, or unfitted to pretrain in fit), the path "
            f"of weights saved by SeqCLRTransformer.save, or None; got {type(pretrained).__name__}."
        )
    # X_unlabelled is one dataset (a list: one sequence of windows) or a MultiDataset of several
    return transformer.fit(X if X_unlabelled is None else MultiDataset([X_unlabelled, X]))


def _is_fitted_transformer(obj) -> bool:
    return isinstance(obj, SeqCLRTransformer) and hasattr(obj, "encoder_")


def _is_frozen_estimator(obj) -> bool:
    try:
        from sklearn.frozen import FrozenEstimator
    except ImportError:  # scikit-learn < 1.6
        return False
    return isinstance(obj, FrozenEstimator) and isinstance(obj.estimator, SeqCLRTransformer)
