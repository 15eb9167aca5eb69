"""A log-softmax head on pooled feature vectors (paper §2.3, "Classifier", on fixed-length features).

:class:`LogSoftmaxClassifier` standardises fixed-length feature vectors, e.g.
the output of :meth:`SeqCLRTransformer.transform
<skseqclr.SeqCLRTransformer.transform>`, and classifies them with a linear
layer or a small MLP ending in ``LogSoftmax``, so that ``Pipeline([("seqclr",
SeqCLRTransformer()), ("clf", LogSoftmaxClassifier())])`` works like any
scikit-learn pipeline. It is importable as
``skseqclr.classifier.LogSoftmaxClassifier`` and ``skseqclr.LogSoftmaxClassifier``.

The mixin here derives ``predict``, ``predict_proba`` and
``decision_function`` from ``predict_log_proba`` for both classifiers.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from ._validation import Satisfies, is_positive_int
from .features import check_finite_outputs
from .training import distributed as D
from .training.finetune import (COMMON_CONSTRAINTS, check_common_params, class_weight_tensor, encode_labels,
                                torch_seeded, LabelledWindows, best_epoch, split, train_net)

__all__ = ["LogSoftmaxClassifier"]


def normalised_log_proba(log_probs: torch.Tensor) -> np.ndarray:
    """Float64 log-probabilities whose exponentials sum to 1 to machine precision."""
    log_probs = log_probs.double()
    return (log_probs - torch.logsumexp(log_probs, dim=1, keepdim=True)).cpu().numpy()


class LogSoftmaxClassifierMixin:
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


class LogSoftmaxClassifier(LogSoftmaxClassifierMixin, ClassifierMixin, BaseEstimator):
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
    paper's classifier, §2.3), use :class:`~skseqclr.classifier.SeqCLRClassifier`
    (how the two compare: :ref:`ablation-classifier-head`).

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
        Weights of the classes in the loss (see :class:`~skseqclr.classifier.SeqCLRClassifier`).
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
        ``> 0`` prints skorch's table of the losses of each epoch.

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
    history_ : skorch.history.History
        skorch's history (see :class:`~skseqclr.classifier.SeqCLRClassifier`):
        per epoch ``epoch`` (from 1), ``train_loss``, ``dur``, with validation
        ``valid_loss`` and ``valid_acc``.
    best_epoch_ : int
        Index in ``history_`` of the epoch whose weights were kept (the last
        without validation).
    n_iter_ : int
        Epochs run.

    See Also
    --------
    skseqclr.classifier.SeqCLRClassifier : the paper's full-sequence classifier, with fine-tuning.
    """

    #: What each parameter may be, checked by name at fit.
    _parameter_constraints: dict = {
        **COMMON_CONSTRAINTS,
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
        check_common_params(self)
        X, y = validate_data(self, X, y, dtype=np.float32, ensure_min_samples=2)
        y_encoded = encode_labels(self, y)
        self.mean_ = X.mean(axis=0, dtype=np.float64).astype(np.float32)
        std = X.std(axis=0, dtype=np.float64)
        self.scale_ = np.where(std > 1e-12, std, 1.0).astype(np.float32)

        device = D.local_device(self.device)
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        features = torch.as_tensor((X - self.mean_) / self.scale_)
        train_set, valid_set = split(LabelledWindows(features, y_encoded), y_encoded, self.validation_fraction, seed)
        with torch_seeded(seed, device):
            module = _MLP(X.shape[1], tuple(self.hidden_layer_sizes), len(self.classes_), self.dropout)
            net = train_net(self, module, train_set, valid_set, device=device,
                            weight=class_weight_tensor(self.class_weight, self.classes_, y_encoded, device))
        self.module_ = net.module_.cpu().eval()
        self.history_, self.best_epoch_ = net.history, best_epoch(net)
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
            log_proba = normalised_log_proba(self.module_(torch.as_tensor((X - self.mean_) / self.scale_)))
        check_finite_outputs(log_proba, np.arange(len(log_proba)), modules={"module_": self.module_},
                             what="class probabilities")
        return log_proba
