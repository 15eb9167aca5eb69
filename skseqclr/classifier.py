"""Supervised classifiers ending in log-softmax on top of SeqCLR (paper §2.3, "Classifier").

The paper's downstream recipe drops the projector, puts a classifier head on
the encoder's output and trains it with labels, ending in ``LogSoftmax`` with
one output per class and the negative log-likelihood loss, either on the frozen
encoder or fine-tuning it. Two estimators follow that recipe at two depths:

:class:`SeqCLRClassifier`
    The paper's classifier. It reads the encoder's full-length output for every
    channel of a window (4 feature channels per EEG channel, as long as the
    window) with a multi-scale BiLSTM head, and can fine-tune the encoder.
    Use it when the temporal structure of the encoder output matters, when the
    encoder should adapt to the labels, or to reproduce the paper.
:class:`LogSoftmaxClassifier`
    A small linear or MLP head on *pooled* feature vectors, e.g. the output of
    :meth:`SeqCLRTransformer.transform <skseqclr.SeqCLRTransformer.transform>`,
    so that ``Pipeline([("seqclr", SeqCLRTransformer()), ("clf",
    LogSoftmaxClassifier())])`` works like any scikit-learn pipeline. Pooled
    features fit any scikit-learn classifier (logistic regression is often as
    good); this one exists so that the log-softmax head is one step away.

Both share the training loop below: AdamW on the (class-weighted) negative
log-likelihood, mini-batches, optional early stopping on a held-out,
stratified validation fraction, and a ``history_`` of the losses per epoch.
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from torch import nn

from .training import distributed as D
from ._validation import (DEVICE, HERTZ, NON_NEGATIVE_REAL, POSITIVE_REAL, RANDOM_STATE, VERBOSE, Flag, InstanceOf,
                          Interval, Options, Satisfies, check_device, is_positive_int, validate_parameter_constraints)
from .features import EncodingSettings, check_finite_outputs, encode_windows, iterate_encoded
from .nn.heads import HEAD_SIZE_CONSTRAINTS, ClassifierHead
from .inputs import (MultiDataset, as_window_source, extract_targets, fit_units, is_sequence_of_windows,
                     refuse_multidataset, transform_units)
from .training.loading import to_device_microvolts
from .training.pretrainer import TrainingDivergedError, autocast, nonfinite_tensors, resolve_precision
from .transformer import SeqCLRTransformer

__all__ = ["SeqCLRClassifier", "LogSoftmaxClassifier", "StandardizedHead"]

#: ``cache_encoded="auto"`` keeps frozen encoder outputs in memory up to this size.
_AUTO_CACHE_BYTES = 1 << 30
#: The head reads the sequence at full rate, /2 and /4 (two halvings).
_HEAD_MIN_LENGTH = 4
#: Training windows whose encoder outputs give the head's input standardisation.
_STATISTICS_WINDOWS = 256


# --------------------------------------------------------------------------- shared parts
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
            what = (f"the weights are not finite after epoch {epoch} ({', '.join(bad[:3])}"
                    f"{' and more' if len(bad) > 3 else ''})" if bad
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


def _normalised_log_proba(log_probs: torch.Tensor) -> np.ndarray:
    """Float64 log-probabilities whose exponentials sum to 1 to machine precision."""
    log_probs = log_probs.double()
    return (log_probs - torch.logsumexp(log_probs, dim=1, keepdim=True)).cpu().numpy()


class _LogSoftmaxClassifierMixin:
    """``predict``/``predict_proba``/``decision_function`` from ``predict_log_proba``."""

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like, braindecode dataset, mne.Epochs or SliceDataset
            Windows as accepted by ``predict_log_proba``.

        Returns
        -------
        np.ndarray of shape (n_windows, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """Most probable class of each window.

        Parameters
        ----------
        X : array-like, braindecode dataset, mne.Epochs or SliceDataset
            Windows as accepted by ``predict_log_proba``.

        Returns
        -------
        np.ndarray of shape (n_windows,)
            Labels from ``classes_``.
        """
        log_proba = self.predict_log_proba(X)  # first: raises NotFittedError before classes_ is read
        return self.classes_[np.argmax(log_proba, axis=1)]

    def decision_function(self, X):
        """Log-odds of the second class for two classes, else log-probabilities.

        Parameters
        ----------
        X : array-like, braindecode dataset, mne.Epochs or SliceDataset
            Windows as accepted by ``predict_log_proba``.

        Returns
        -------
        np.ndarray of shape (n_windows,) or (n_windows, n_classes)
            For two classes ``log p(classes_[1]) - log p(classes_[0])``
            (positive means ``classes_[1]``); otherwise the log-probabilities.
        """
        log_proba = self.predict_log_proba(X)
        if log_proba.shape[1] == 2:
            return log_proba[:, 1] - log_proba[:, 0]
        return log_proba


# --------------------------------------------------------------------------- the paper's classifier
class SeqCLRClassifier(_LogSoftmaxClassifierMixin, ClassifierMixin, BaseEstimator):
    """The SeqCLR classifier: a pretrained channel encoder and a log-softmax head (paper §2.3).

    Every channel of a window goes through the pretrained, channel-wise
    encoder; its 4 output channels per EEG channel are stacked into
    ``4 * n_channels`` feature channels as long as the window, which a head
    modelled on the projector reads: three bidirectional LSTMs at full rate,
    /2 and /4, their first and last outputs, dense layers and ``LogSoftmax``
    with one output per class (:class:`skseqclr.nn.heads.ClassifierHead`). It is
    trained with the (class-weighted) negative log-likelihood, with the
    encoder frozen or fine-tuned.

    **Which route?** Use this classifier to reproduce the paper, when the
    time course of the encoder output carries the label, or to fine-tune the
    encoder. For a quick, cheap baseline use ``SeqCLRTransformer`` (pooled
    features) followed by any scikit-learn classifier, or by
    :class:`LogSoftmaxClassifier` for a log-softmax head on those features.

    Parameters
    ----------
    pretrained : SeqCLRTransformer, str, path or None, default=None
        Where the encoder comes from:

        * a **fitted** :class:`~skseqclr.SeqCLRTransformer`: its encoder is
          copied (the transformer is never modified). It is kept as it is when
          the classifier is cloned (by ``GridSearchCV``, ``cross_val_score``),
          like a :class:`sklearn.frozen.FrozenEstimator`, which is also accepted;
        * a path to weights saved by :meth:`SeqCLRTransformer.save`;
        * an **unfitted** ``SeqCLRTransformer``: a clone of it is pretrained in
          :meth:`fit` on ``X_unlabelled`` and ``X`` (without labels); its
          parameters are reachable as ``pretrained__<name>`` in grid searches;
        * ``None``: as an unfitted ``SeqCLRTransformer()`` with the paper's
          sizes and this classifier's ``sfreq``, ``device``, ``precision``,
          ``random_state`` and ``verbose``.
    finetune : bool, default=False
        ``False`` freezes the encoder (only the head learns, the encoder runs
        in evaluation mode); ``True`` trains the encoder too, at ``encoder_lr``.
    lstm_sizes : tuple of 3 int, default=(64, 32, 16)
        Hidden size per direction of the head's BiLSTMs at full rate, /2, /4.
    hidden_size : int, default=64
        Width of the head's dense layer.
    dropout : float, default=0.25
        Dropout before each dense layer of the head.
    n_epochs : int, default=30
        Passes over the training windows (fewer with early stopping).
    batch_size : int, default=32
        Windows per optimisation step and per forward pass in prediction (the
        encoder sees ``batch_size * n_channels`` single channels at once).
    lr : float, default=1e-3
        AdamW learning rate of the head.
    encoder_lr : float, default=1e-4
        AdamW learning rate of the encoder when ``finetune=True``.
    weight_decay : float, default=1e-4
        AdamW weight decay.
    class_weight : None, "balanced" or dict, default=None
        Weights of the classes in the loss (``"balanced"``: inversely
        proportional to class frequencies; a dict maps labels to weights,
        unlisted labels weigh 1), for imbalanced data such as sleep stages.
    validation_fraction : float or None, default=None
        Fraction of the training windows held out (stratified where every class
        has at least two windows) for early stopping; ``None`` trains for
        ``n_epochs`` without early stopping.
    patience : int, default=5
        Epochs without a lower validation loss before training stops; the
        weights of the epoch with the lowest validation loss are kept.
    cache_encoded : bool or "auto", default="auto"
        With a frozen encoder, encode the training windows once and keep the
        ``(n_windows, 4 * n_channels, n_times)`` float32 outputs in memory
        instead of encoding them every epoch. ``"auto"`` caches when that
        takes at most 1 GiB. Ignored when fine-tuning.
    sfreq : float or None, default=None
        Sampling frequency of numpy input in Hz; ``None`` means the rate the
        encoder was pretrained at. MNE and braindecode input carry their own.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available.
    precision : {"auto", "fp32", "bf16"}, default="auto"
        bf16 autocast where it is fast (CPUs with native bf16), else fp32
        (CUDA included: see :class:`SeqCLRTransformer`).
    num_workers : int, default=0
        DataLoader workers reading lazy (not preloaded) datasets while
        encoding them (prediction, and the cache of a frozen encoder);
        fine-tuning reads its batches in the main process.
    random_state : int, RandomState or None
        Seeds the head's initial weights, the validation split, the batch order
        and dropout (and pretraining when ``pretrained=None``). Two fits with the
        same integer give the same model on the CPU.
    verbose : int, default=0
        ``> 0`` shows a progress bar over epochs with the losses.

    Attributes
    ----------
    classes_ : np.ndarray of shape (n_classes,)
        The labels, sorted; columns of :meth:`predict_proba` follow this order.
    transformer_ : SeqCLRTransformer
        The fitted transformer the encoder came from (its input scaling,
        units and sampling frequency are used for every window).
    to_microvolts_ : float
        Factor to µV of inputs that carry no units (arrays, tensors), decided
        at ``fit`` from the training windows with the transformer's ``units``
        (see :mod:`skseqclr.inputs`) and used by every prediction.
    encoder_ : torch.nn.Module
        The classifier's encoder (a copy; fine-tuned if ``finetune``), on the CPU.
    head_ : StandardizedHead
        The trained head, on the CPU: the encoder outputs standardised per
        feature channel (training statistics), then
        :class:`skseqclr.nn.heads.ClassifierHead` (``head_.head``).
    n_channels_ : int
        Channels of the training windows; :meth:`predict` needs the same.
    n_features_in_ : int
        Channels of the training windows (time samples for 2-D arrays).
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss`` (mean NLL), with validation also
        ``valid_loss`` and ``valid_accuracy``, and ``time_s`` (seconds).
    best_epoch_ : int
        Epoch whose weights were kept (the last without validation).
    n_iter_ : int
        Epochs run.

    See Also
    --------
    LogSoftmaxClassifier : log-softmax head on pooled feature vectors.
    skseqclr.SeqCLRTransformer : pretraining and pooled features.

    Notes
    -----
    Windows are converted to µV, resampled and scaled exactly as the
    transformer does for its own features (its ``units``, ``resample_to``,
    ``scaling`` and ``input_scale_``). The head's input is standardised per
    feature channel with statistics of up to 256 training windows, so an
    untrained encoder (the control of any comparison) and a pretrained one,
    whose output scales differ widely, suit the same learning rate. When
    fine-tuning, the encoder trains in training mode (its batch norms follow
    the labelled batches).

    Examples
    --------
    >>> from skseqclr import SeqCLRTransformer, SeqCLRClassifier
    >>> seqclr = SeqCLRTransformer(model_size="small", sfreq=128).fit(X_unlabelled)  # doctest: +SKIP
    >>> clf = SeqCLRClassifier(pretrained=seqclr, finetune=True).fit(X, y)  # doctest: +SKIP
    >>> clf.predict_proba(X_test)  # doctest: +SKIP
    """

    def __init__(
        self,
        pretrained=None,
        finetune=False,
        lstm_sizes=(64, 32, 16),
        hidden_size=64,
        dropout=0.25,
        n_epochs=30,
        batch_size=32,
        lr=1e-3,
        encoder_lr=1e-4,
        weight_decay=1e-4,
        class_weight=None,
        validation_fraction=None,
        patience=5,
        cache_encoded="auto",
        sfreq=None,
        device="auto",
        precision="auto",
        num_workers=0,
        random_state=None,
        verbose=0,
    ):
        self.pretrained = pretrained
        self.finetune = finetune
        self.lstm_sizes = lstm_sizes
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.encoder_lr = encoder_lr
        self.weight_decay = weight_decay
        self.class_weight = class_weight
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.cache_encoded = cache_encoded
        self.sfreq = sfreq
        self.device = device
        self.precision = precision
        self.num_workers = num_workers
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_clone__(self):
        # Cloning a fitted transformer would throw its pretraining away; like
        # sklearn's FrozenEstimator, a fitted `pretrained` is kept as it is
        # (the classifier only reads it).
        new = super().__sklearn_clone__()
        if _is_fitted_transformer(self.pretrained):
            new.pretrained = self.pretrained
        return new

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------------ validation
    def _refuse_channels(self, n_channels):
        raise ValueError(
            f"X has {n_channels} channels, but SeqCLRClassifier was fitted on windows with "
            f"{self.n_channels_} channels: its head reads the encoder outputs of every channel of the "
            "training montage. Pick the same channels, or fit a classifier on these."
        )

    #: What each parameter may be, checked by name at fit (as :class:`SeqCLRTransformer`'s).
    _parameter_constraints: dict = {
        **_COMMON_CONSTRAINTS,
        "pretrained": [InstanceOf(SeqCLRTransformer, "a SeqCLRTransformer (fitted, or unfitted to pretrain in fit)"),
                       Satisfies(lambda value: _is_frozen_estimator(value), "a FrozenEstimator of a fitted one"),
                       InstanceOf((str, os.PathLike), "the path of weights saved by SeqCLRTransformer.save"), None],
        "finetune": [Flag()],
        "lstm_sizes": [HEAD_SIZE_CONSTRAINTS["lstm_sizes"][0]],
        "hidden_size": [Interval(numbers.Integral, 1)],
        "encoder_lr": [POSITIVE_REAL],
        "cache_encoded": [Flag(), Options("auto")],
        "sfreq": [None, HERTZ],
        "precision": [Options("auto", "fp32", "bf16")],
        "num_workers": [Interval(numbers.Integral, 0)],
    }

    def _check_params(self):
        _check_common_params(self)

    def _device(self):
        check_device(self.device)  # also at predict: a classifier pickled on a GPU machine, used on a laptop
        return D.local_device(self.device)

    def _pretrained_transformer(self, X, X_unlabelled):
        """The fitted transformer the encoder comes from (pretraining one if needed)."""
        pretrained = self.pretrained
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
                return SeqCLRTransformer.load(pretrained, device=self.device)
            except RuntimeError as error:  # load_state_dict: tensors that do not fit the recorded sizes
                raise ValueError(
                    f"The encoder weights in {pretrained} do not fit the architecture recorded with them; "
                    f"the file is damaged or was edited ({str(error).splitlines()[0]})."
                ) from error
        if pretrained is None:
            transformer = SeqCLRTransformer(sfreq=self.sfreq, device=self.device, precision=self.precision,
                                            random_state=self.random_state, verbose=self.verbose)
        elif isinstance(pretrained, SeqCLRTransformer):
            transformer = clone(pretrained)
        else:
            raise ValueError(
                "pretrained must be a SeqCLRTransformer (fitted, or unfitted to pretrain in fit), the path "
                f"of weights saved by SeqCLRTransformer.save, or None; got {type(pretrained).__name__}."
            )
        # X_unlabelled is one dataset (a list: one sequence of windows) or a MultiDataset of several
        return transformer.fit(X if X_unlabelled is None else MultiDataset([X_unlabelled, X]))

    def _source(self, X, transformer, reset):
        """Validate windows against the encoder and wrap them in a WindowSource."""
        if is_sequence_of_windows(X):
            source = as_window_source(X)
            if source.sfreq is None and isinstance(X, (list, tuple)):  # a list of arrays: at numpy input's rate
                sfreq = self.sfreq if self.sfreq is not None else transformer.sfreq_
                source.sfreq = None if sfreq is None else float(sfreq)
            if reset:
                self.n_features_in_ = source.n_channels
        else:
            if isinstance(X, torch.Tensor):
                X = X.detach().cpu().numpy()
            # np.asarray, not np.ndim(X): an array-like may refuse NumPy's functions (__array_function__)
            shape = np.asarray(X).shape if not reset else ()
            if len(shape) == 3 and shape[1] != self.n_channels_:
                self._refuse_channels(shape[1])
            # scikit-learn's own checks and messages (NaN, sparse, complex, empty) and bookkeeping:
            # n_features_in_ (channels; time samples for a 2-D array, whose length is then fixed as for
            # any scikit-learn estimator) and DataFrame feature names.
            X = validate_data(self, X, reset=reset, allow_nd=True, dtype=np.float32)
            source = as_window_source(X, sfreq=self.sfreq if self.sfreq is not None else transformer.sfreq_)
        if reset:
            self.n_channels_ = source.n_channels
        elif source.n_channels != self.n_channels_:
            self._refuse_channels(source.n_channels)
        if transformer.sfreq_ is not None and source.sfreq is not None and transformer.resample_to is None \
                and not np.isclose(source.sfreq, transformer.sfreq_):
            raise ValueError(
                f"The encoder was pretrained on {transformer.sfreq_} Hz data, X is at {source.sfreq} Hz; "
                "resample X, or pretrain with resample_to set to resample on the fly."
            )
        transformer._check_window_length(source, transformer.encoder_.min_length, sfreq=transformer.sfreq_)
        n_times = transformer._n_times_after_resampling(source)
        if n_times < _HEAD_MIN_LENGTH:
            raise ValueError(
                f"Windows of {n_times} samples are too short for the classifier head, whose BiLSTM at a "
                f"quarter of the rate needs at least {_HEAD_MIN_LENGTH} samples ({n_times} feature(s) per "
                "window); use longer windows."
            )
        return source

    # ------------------------------------------------------------------------ fit
    def fit(self, X, y=None, X_unlabelled=None):
        """Train the head (and, with ``finetune``, the encoder) on labelled windows.

        Parameters
        ----------
        X : array-like, braindecode dataset, mne.Epochs or SliceDataset
            Labelled windows ``(n_windows, n_channels, n_times)``; a 2-D array
            is read as ``(n_windows, n_times)`` single-channel windows. Any
            length the encoder accepts.
        y : array-like of shape (n_windows,) or None
            Labels of any type (strings, integers). ``None`` takes the targets
            a braindecode dataset or ``mne.Epochs`` carry.
        X_unlabelled : windows, skseqclr.MultiDataset or None
            Extra unlabelled windows for pretraining, pooled with ``X``
            (without its labels) when the encoder is pretrained here
            (``pretrained`` unfitted or ``None``): one dataset (any input
            ``X`` may be; a list is one sequence of windows) or a
            :class:`~skseqclr.MultiDataset` of several, with any channel
            counts and lengths. Ignored, with a warning, for an encoder that
            is already pretrained.

        Returns
        -------
        SeqCLRClassifier
            The fitted classifier.
        """
        self._check_params()
        refuse_multidataset(X, "classified")  # before any pretraining
        # Labels first: a bad y fails at once, before any pretraining.
        y_encoded = _encode_labels(self, extract_targets(X) if y is None else y)
        transformer = self._pretrained_transformer(X, X_unlabelled)
        source = self._source(X, transformer, reset=True)
        _check_n_labels(y_encoded, source.n_windows)

        device = self._device()
        precision = resolve_precision(self.precision, device)
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        rng = np.random.default_rng(seed)
        train_idx, valid_idx = _split(y_encoded, self.validation_fraction, rng)
        settings = EncodingSettings(transformer.scaling, transformer.input_scale_, precision)
        # units="auto" is decided here, on the training windows, and kept for predict
        (to_microvolts,), kept_to_microvolts = fit_units(transformer.units, [source])
        resample = transformer._resample_pair(source)

        def read(indices):
            windows = torch.from_numpy(source.read(indices))
            return to_device_microvolts(windows, device, to_microvolts, resample)

        with _torch_seeded(seed, device):
            encoder = copy.deepcopy(transformer.encoder_).to(device).eval()
            encoder.requires_grad_(self.finetune)
            cache = None
            if not self.finetune and self._use_cache(source, encoder, transformer):
                cache = self._encode_all(encoder, source, settings, device, to_microvolts, resample)
            head = self._make_head(encoder, source, train_idx, rng, cache, read, settings).to(device)

            def log_probs_of(indices, training):
                if cache is not None:
                    h = cache[torch.as_tensor(indices)].to(device, non_blocking=True)
                else:
                    with torch.set_grad_enabled(training and self.finetune):
                        h = encode_windows(encoder, read(indices), settings).flatten(1, 2)
                with autocast(device, precision):
                    return head(h).float()

            parameters = [{"params": head.parameters(), "lr": self.lr}]
            if self.finetune:
                parameters.append({"params": encoder.parameters(), "lr": self.encoder_lr})
            self.history_, self.best_epoch_ = _fit_loop(
                estimator=self, train_modules=[head, encoder] if self.finetune else [head], parameters=parameters,
                log_probs_of=log_probs_of, y=y_encoded, train_idx=train_idx, valid_idx=valid_idx,
                weight=_class_weight_tensor(self.class_weight, self.classes_, y_encoded, device), rng=rng,
                device=device, desc="SeqCLRClassifier",
            )
        encoder.requires_grad_(True)
        self.transformer_ = transformer
        self.to_microvolts_ = kept_to_microvolts
        self.encoder_ = encoder.cpu().eval()
        self.head_ = head.cpu().eval()
        self.n_iter_ = len(self.history_)
        return self

    def _make_head(self, encoder, source, train_idx, rng, cache, read, settings):
        """The head, with input statistics from the encoder outputs of a sample of training windows."""
        sample = np.sort(rng.choice(train_idx, size=min(len(train_idx), _STATISTICS_WINDOWS), replace=False))
        if cache is not None:
            h = cache[torch.as_tensor(sample)]
        else:
            with torch.no_grad():
                h = torch.cat([encode_windows(encoder, read(sample[i:i + self.batch_size]), settings).flatten(1, 2)
                               for i in range(0, len(sample), self.batch_size)])
        if not bool(torch.isfinite(h).all()):  # a diverged or corrupted encoder: refuse before training a head on it
            check_finite_outputs(h.cpu().numpy(), sample, modules={"encoder": encoder}, what="encoder outputs")
        head = ClassifierHead(encoder.n_outputs * source.n_channels, len(self.classes_), tuple(self.lstm_sizes),
                              self.hidden_size, self.dropout)
        return StandardizedHead(head, h)

    def _use_cache(self, source, encoder, transformer):
        if self.cache_encoded == "auto":
            n_values = source.n_windows * encoder.n_outputs * source.n_channels \
                * transformer._n_times_after_resampling(source)
            return 4 * n_values <= _AUTO_CACHE_BYTES
        return bool(self.cache_encoded)

    def _encode_all(self, encoder, source, settings, device, to_microvolts, resample):
        """Frozen encoder outputs of every window, ``(n_windows, 4 * n_channels, n_times)`` on the CPU."""
        out = None
        with torch.no_grad():
            for indices, windows_uv in iterate_encoded(encoder, source, to_microvolts=to_microvolts,
                                                       resample=resample, settings=settings, device=device,
                                                       windows_per_batch=self.batch_size,
                                                       num_workers=self.num_workers):
                h = encode_windows(encoder, windows_uv, settings).flatten(1, 2).cpu()
                if out is None:
                    out = torch.empty((source.n_windows, *h.shape[1:]), dtype=torch.float32)
                out[torch.as_tensor(indices)] = h
        return out

    # -------------------------------------------------------------------- predict
    def predict_log_proba(self, X):
        """Log-probabilities of the classes.

        Parameters
        ----------
        X : array-like, braindecode dataset, mne.Epochs or SliceDataset
            Windows with the training channels and any length the encoder
            accepts.

        Returns
        -------
        np.ndarray of shape (n_windows, n_classes), float64
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self, "head_")
        transformer = self.transformer_
        source = self._source(X, transformer, reset=False)
        device = self._device()
        settings = EncodingSettings(transformer.scaling, transformer.input_scale_,
                                    resolve_precision(self.precision, device))
        encoder, head = self.encoder_.to(device).eval(), self.head_.to(device).eval()
        out = np.empty((source.n_windows, len(self.classes_)), dtype=np.float64)
        try:
            with torch.no_grad():
                for indices, windows_uv in iterate_encoded(
                        encoder, source, to_microvolts=self._to_microvolts(source),
                        resample=transformer._resample_pair(source), settings=settings, device=device,
                        windows_per_batch=self.batch_size, num_workers=self.num_workers):
                    h = encode_windows(encoder, windows_uv, settings).flatten(1, 2)
                    with autocast(device, settings.precision):
                        log_proba = _normalised_log_proba(head(h).float())
                    # never NaN silently (argmax would read it as the first class)
                    check_finite_outputs(log_proba, indices, modules={"encoder": encoder, "head": head},
                                         windows_uv=windows_uv, what="class probabilities")
                    out[indices] = log_proba
        finally:
            self.encoder_.cpu()
            self.head_.cpu()
        return out

    def _to_microvolts(self, source):
        """Factor to µV of ``source``: the same for every window of a call (decided at fit for "auto")."""
        fitted = getattr(self, "to_microvolts_", None)  # classifiers pickled before it existed
        return transform_units(self.transformer_.units, source,
                               self.transformer_.to_microvolts_ if fitted is None else fitted)

    def score(self, X, y=None, sample_weight=None):
        """Accuracy on ``X`` (targets from the dataset when ``y`` is None).

        Parameters
        ----------
        X : array-like, braindecode dataset, mne.Epochs or SliceDataset
            Windows as accepted by :meth:`predict_log_proba`.
        y : array-like of shape (n_windows,) or None
            True labels; ``None`` takes the targets the dataset carries.
        sample_weight : array-like of shape (n_windows,) or None
            Weights of the windows in the mean.

        Returns
        -------
        float
            Fraction of correctly classified windows.
        """
        if y is None:
            y = extract_targets(X)
            if y is None:
                raise ValueError("score requires y: X carries no targets (only braindecode datasets and "
                                 "mne.Epochs do).")
        return super().score(X, y, sample_weight=sample_weight)


class StandardizedHead(nn.Module):
    """Standardise each feature channel of ``(batch, channels, time)``, then apply ``head``.

    The mean and standard deviation (over windows and time) of each encoder
    output channel come from the training windows and stay fixed. The head
    then sees inputs of unit scale whatever the encoder's output scale (an
    untrained encoder's outputs are far smaller than a pretrained one's), so
    the same learning rate suits every encoder.

    Parameters
    ----------
    head : torch.nn.Module
        Reads the standardised ``(batch, channels, time)`` sequence.
    sample : torch.Tensor of shape (n_windows, channels, time)
        Encoder outputs of training windows.
    """

    def __init__(self, head: nn.Module, sample: torch.Tensor):
        super().__init__()
        self.head = head
        sample = sample.detach().float()
        self.register_buffer("mean", sample.mean(dim=(0, 2), keepdim=True)[0])
        self.register_buffer("scale", sample.std(dim=(0, 2), keepdim=True)[0].clamp_min(1e-6))

    def forward(self, h):
        return self.head((h - self.mean) / self.scale)


def _is_fitted_transformer(obj) -> bool:
    return isinstance(obj, SeqCLRTransformer) and hasattr(obj, "encoder_")


def _is_frozen_estimator(obj) -> bool:
    try:
        from sklearn.frozen import FrozenEstimator
    except ImportError:  # scikit-learn < 1.6
        return False
    return isinstance(obj, FrozenEstimator) and isinstance(obj.estimator, SeqCLRTransformer)


# --------------------------------------------------------------------------- pooled-feature head
class _MLP(nn.Module):
    def __init__(self, n_features, hidden_layer_sizes, n_classes, dropout):
        super().__init__()
        layers, width = [], n_features
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        layers += [nn.Linear(width, n_classes), nn.LogSoftmax(dim=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class LogSoftmaxClassifier(_LogSoftmaxClassifierMixin, ClassifierMixin, BaseEstimator):
    """A log-softmax head on fixed-length feature vectors, trained with the negative log-likelihood.

    The simple route to SeqCLR's log-softmax output: put it after
    :class:`~skseqclr.SeqCLRTransformer`, whose pooled features it standardises
    and classifies with a linear layer (multinomial logistic regression) or a
    small MLP ending in ``LogSoftmax``::

        Pipeline([("seqclr", SeqCLRTransformer(...)), ("clf", LogSoftmaxClassifier())])

    **Which route?** Pooled features plus this (or any scikit-learn classifier,
    e.g. ``LogisticRegression``) is cheap and works with every scikit-learn
    tool, but sees only statistics over time and never changes the encoder. To
    read the encoder output's full time course or fine-tune the encoder (the
    paper's classifier, §2.3), use :class:`SeqCLRClassifier`.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=()
        Widths of hidden ReLU layers; ``()`` is a linear layer.
    dropout : float, default=0.0
        Dropout after each hidden layer.
    n_epochs : int, default=100
        Passes over the training samples (fewer with early stopping).
    batch_size : int, default=64
        Samples per optimisation step.
    lr : float, default=1e-2
        AdamW learning rate.
    weight_decay : float, default=1e-4
        AdamW weight decay (an L2 penalty on the weights).
    class_weight : None, "balanced" or dict, default=None
        Weights of the classes in the loss (see :class:`SeqCLRClassifier`).
    validation_fraction : float or None, default=None
        Fraction held out for early stopping; ``None`` trains ``n_epochs``.
    patience : int, default=10
        Epochs without a lower validation loss before stopping (the best
        weights are kept).
    device : str, default="cpu"
        Torch device; features are small, so the CPU is usually fastest.
    random_state : int, RandomState or None
        Seeds initial weights, validation split, batch order and dropout.
    verbose : int, default=0
        ``> 0`` shows a progress bar over epochs.

    Attributes
    ----------
    classes_ : np.ndarray of shape (n_classes,)
        The labels, sorted; columns of :meth:`predict_proba` follow this order.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    feature_names_in_ : np.ndarray of str
        Only when fitted on a DataFrame with string column names.
    mean_, scale_ : np.ndarray of shape (n_features,)
        Standardisation of the features (training mean and standard deviation).
    module_ : torch.nn.Module
        The trained network, on the CPU.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, with validation ``valid_loss`` and
        ``valid_accuracy``, and ``time_s``.
    best_epoch_ : int
        Epoch whose weights were kept (the last without validation).
    n_iter_ : int
        Epochs run.

    See Also
    --------
    SeqCLRClassifier : the paper's full-sequence classifier, with fine-tuning.
    """

    #: What each parameter may be, checked by name at fit.
    _parameter_constraints: dict = {
        **_COMMON_CONSTRAINTS,
        "hidden_layer_sizes": [Satisfies(lambda value: isinstance(value, (tuple, list)) and all(
            is_positive_int(size) for size in value), "a tuple of positive integers (() for a linear layer)")],
    }

    def __init__(self, hidden_layer_sizes=(), dropout=0.0, n_epochs=100, batch_size=64, lr=1e-2,
                 weight_decay=1e-4, class_weight=None, validation_fraction=None, patience=10, device="cpu",
                 random_state=None, verbose=0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.class_weight = class_weight
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y):
        """Fit on feature vectors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            E.g. ``SeqCLRTransformer.transform`` output.
        y : array-like of shape (n_samples,)
            Labels of any type.

        Returns
        -------
        LogSoftmaxClassifier
            The fitted classifier.
        """
        _check_common_params(self)
        X, y = validate_data(self, X, y, dtype=np.float32, ensure_min_samples=2)
        y_encoded = _encode_labels(self, y)
        self.mean_ = X.mean(axis=0, dtype=np.float64).astype(np.float32)
        std = X.std(axis=0, dtype=np.float64)
        self.scale_ = np.where(std > 1e-12, std, 1.0).astype(np.float32)

        device = D.local_device(self.device)
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        rng = np.random.default_rng(seed)
        train_idx, valid_idx = _split(y_encoded, self.validation_fraction, rng)
        features = torch.as_tensor((X - self.mean_) / self.scale_, device=device)
        with _torch_seeded(seed, device):
            module = _MLP(X.shape[1], tuple(self.hidden_layer_sizes), len(self.classes_), self.dropout).to(device)

            def log_probs_of(indices, training):
                return module(features[torch.as_tensor(indices, device=device)])

            weight = _class_weight_tensor(self.class_weight, self.classes_, y_encoded, device)
            self.history_, self.best_epoch_ = _fit_loop(
                estimator=self, train_modules=[module], parameters=[{"params": module.parameters(), "lr": self.lr}],
                log_probs_of=log_probs_of, y=y_encoded, train_idx=train_idx, valid_idx=valid_idx, weight=weight,
                rng=rng, device=device, desc="LogSoftmaxClassifier",
            )
        self.module_ = module.cpu().eval()
        self.n_iter_ = len(self.history_)
        return self

    def predict_log_proba(self, X):
        """Log-probabilities of the classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature vectors with the columns seen in :meth:`fit`.

        Returns
        -------
        np.ndarray of shape (n_samples, n_classes), float64
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self, "module_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        with torch.no_grad():
            log_proba = _normalised_log_proba(self.module_(torch.as_tensor((X - self.mean_) / self.scale_)))
        check_finite_outputs(log_proba, np.arange(len(log_proba)), modules={"module_": self.module_},
                             what="class probabilities")
        return log_proba
