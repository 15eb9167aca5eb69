"""Supervised training of a log-softmax head, shared by both classifiers (paper §2.3, "Classifier").

:class:`~skseqclr.classifier.SeqCLRClassifier` and
:class:`~skseqclr.classifier.LogSoftmaxClassifier` train the same way, and
:func:`train_net` hands that training to skorch, through
:class:`braindecode.EEGClassifier` (which, unlike skorch's
``NeuralNetClassifier``, feeds the module's log-probabilities to
``NLLLoss`` as they are): AdamW on the (class-weighted) negative
log-likelihood in mini-batches, the epochs, the validation pass, early
stopping with the best weights restored (:class:`skorch.callbacks.EarlyStopping`),
the history, the epoch log and any callbacks a user passes.

What stays here, and why:

* :class:`LabelledWindows`, a dataset read a batch at a time
  (``__getitems__``): windows of a lazy source, or cached encoder outputs,
  are read with one call per batch instead of one per window and collated
  by nothing;
* :func:`split`: skorch's :class:`~skorch.dataset.ValidSplit`, called before
  training because the head's input statistics come from the training
  windows only; it is stratified only where every class can be represented
  in both parts (``ValidSplit`` would raise otherwise), and the split is then
  handed to skorch as a predefined validation set;
* :class:`StopOnDivergence`, a callback raising
  :class:`~skseqclr.training.divergence.TrainingDivergedError` with the
  likely cause: skorch would train on with NaN weights. It reads the loss
  skorch itself reads at every batch (skorch's loop takes each batch's loss
  to the host: one synchronisation per step on a GPU, the price of its
  per-batch history and callbacks).

It also holds the constraints of the parameters both classifiers share,
label encoding and the seeding of torch's random number generators.
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d
from skorch.callbacks import Callback
from torch.utils.data import Dataset

from .._validation import (DEVICE, NON_NEGATIVE_REAL, POSITIVE_REAL, RANDOM_STATE, VERBOSE, InstanceOf, Interval,
                           Options, check_device, validate_parameter_constraints)
from ..inputs import MultiDataset
from ..transformer import SeqCLRTransformer
from .divergence import TrainingDivergedError, describe_names, nonfinite_tensors

__all__: list = []  # the contract of skseqclr.classifier and skseqclr.log_softmax; not the user's API


#: What the parameters both classifiers share (their training loop's) may be.
COMMON_CONSTRAINTS: dict = {
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


def check_common_params(est):
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


def encode_labels(estimator, y):
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


def check_n_labels(y_encoded, n_windows):
    if len(y_encoded) != n_windows:
        raise ValueError(f"y has {len(y_encoded)} labels but X has {n_windows} windows; they must match.")


def class_weight_tensor(class_weight, classes, y_encoded, device):
    if class_weight is None:
        return None
    weights = compute_class_weight(class_weight, classes=classes, y=classes[y_encoded])
    return torch.as_tensor(weights, dtype=torch.float32, device=device)


class LabelledWindows(Dataset):
    """Labelled windows (a :class:`~skseqclr.inputs.WindowSource`) or rows of a tensor, read a batch at a time.

    A ``DataLoader`` calls ``__getitems__`` with the indices of a whole batch;
    with :func:`whole_batch` as its ``collate_fn`` the batch comes out as
    ``(x, y)`` tensors, windows in their source's units (in sorted index
    order, labels in the same order).
    """

    def __init__(self, data, y):
        self.data = data
        self.y = torch.as_tensor(np.asarray(y, dtype=np.int64))

    def __len__(self):
        return len(self.y)

    def __getitems__(self, indices):
        indices = np.sort(np.asarray(indices, dtype=np.int64))
        if isinstance(self.data, torch.Tensor):
            x = self.data[torch.from_numpy(indices)]
        else:
            x = torch.from_numpy(self.data.read(indices))
        return x, self.y[torch.from_numpy(indices)]

    def __getitem__(self, index):
        x, y = self.__getitems__([index])
        return x[0], y[0]


def whole_batch(batch):
    """The ``collate_fn`` of :class:`LabelledWindows`: its batches are collated already."""
    return batch


def split(dataset, y_encoded, validation_fraction, seed):
    """``(train, validation)`` datasets by skorch's ``ValidSplit``; ``(dataset, None)`` without validation.

    Stratified when every class can be represented in both parts.
    """
    from skorch.dataset import ValidSplit

    if validation_fraction is None:
        return dataset, None
    n_windows = len(y_encoded)
    n_valid = int(math.ceil(validation_fraction * n_windows))
    if n_valid < 1 or n_windows - n_valid < 1:
        raise ValueError(
            f"validation_fraction={validation_fraction} of {n_windows} windows leaves no window for "
            "training or validation; use more windows or validation_fraction=None."
        )
    counts = np.bincount(y_encoded)
    stratified = bool(counts.min() >= 2 and min(n_valid, n_windows - n_valid) >= len(counts))
    return ValidSplit(float(validation_fraction), stratified=stratified, random_state=seed)(dataset, y_encoded)


@contextlib.contextmanager
def torch_seeded(seed, device):
    """Seed torch's RNGs (CPU and the training GPU) for reproducible init and dropout, restoring them after."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class StopOnDivergence(Callback):
    """Raise :class:`TrainingDivergedError` when a loss or, at the end of an epoch, a weight is not finite.

    The losses are the floats skorch reads at every batch (no further
    synchronisation); the weights are checked once per epoch, in one
    synchronisation. ``diverged(what, step)`` makes the error.
    """

    def __init__(self, diverged):
        self.diverged = diverged

    def initialize(self):
        self.steps_ = 0
        return self

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        self.steps_ += bool(training)
        loss = net.history[-1, "batches", -1, "train_loss" if training else "valid_loss"]
        if not math.isfinite(loss):
            epoch = net.history[-1, "epoch"]
            raise self.diverged(f"the training loss was not finite (NaN or inf) at step {self.steps_} (epoch {epoch})"
                                if training else f"the validation loss of epoch {epoch} was not finite (NaN or inf)",
                                self.steps_)

    def on_epoch_end(self, net, **kwargs):
        bad = nonfinite_tensors(net.module_.state_dict().items())
        if bad:
            raise self.diverged(f"the weights are not finite after epoch {net.history[-1, 'epoch']} "
                                f"({describe_names(bad)})", self.steps_)


def train_net(estimator, module, train_set, valid_set, *, weight, device, param_groups=(), num_workers=0,
              callbacks=None):
    """Train ``module`` (log-probabilities out) with braindecode's ``EEGClassifier``; returns the fitted net.

    Reads ``n_epochs``, ``batch_size``, ``lr``, ``weight_decay``, ``patience``
    and ``verbose`` of ``estimator``. ``param_groups`` are skorch's
    ``optimizer__param_groups``; ``callbacks`` (a user's) are copied, then
    run after the divergence check and the early stopping (with a validation
    set: ``patience`` epochs without a lower validation loss, best weights
    restored).
    """
    from braindecode import EEGClassifier
    from skorch.callbacks import EarlyStopping
    from skorch.helper import predefined_split

    own = [("seqclr_divergence", StopOnDivergence(lambda what, step: _diverged(estimator, what, step)))]
    if valid_set is not None:
        own.append(("seqclr_early_stopping", EarlyStopping(monitor="valid_loss", patience=estimator.patience,
                                                           threshold=0.0, load_best=True)))
    loader = dict(collate_fn=whole_batch, num_workers=num_workers, pin_memory=device.type == "cuda")
    net = EEGClassifier(
        module, criterion=torch.nn.NLLLoss, criterion__weight=weight, optimizer=torch.optim.AdamW,
        lr=estimator.lr, optimizer__weight_decay=estimator.weight_decay, optimizer__param_groups=list(param_groups),
        max_epochs=estimator.n_epochs, batch_size=estimator.batch_size,
        train_split=None if valid_set is None else predefined_split(valid_set),
        iterator_train__shuffle=True, iterator_train__drop_last=False,
        **{f"iterator_{kind}__{key}": value for kind in ("train", "valid") for key, value in loader.items()},
        callbacks=own + copy.deepcopy(list(callbacks or [])), device=device, verbose=int(estimator.verbose),
        classes=np.arange(len(estimator.classes_)),  # the encoded labels; the dataset holds them
    )
    return net.fit(train_set, y=None)


def best_epoch(net) -> int:
    """Index in ``net.history`` of the epoch whose weights were kept (the last without early stopping)."""
    stopping = dict(net.callbacks_).get("seqclr_early_stopping")
    if stopping is None or not stopping.best_epoch_:
        return len(net.history) - 1
    return int(stopping.best_epoch_) - 1


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
    if is_frozen_estimator(pretrained):
        pretrained = pretrained.estimator
    if is_fitted_transformer(pretrained):
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


def is_fitted_transformer(obj) -> bool:
    return isinstance(obj, SeqCLRTransformer) and hasattr(obj, "encoder_")


def is_frozen_estimator(obj) -> bool:
    try:
        from sklearn.frozen import FrozenEstimator
    except ImportError:  # scikit-learn < 1.6
        return False
    return isinstance(obj, FrozenEstimator) and isinstance(obj.estimator, SeqCLRTransformer)
