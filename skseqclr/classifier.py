"""Supervised classifiers ending in log-softmax on top of SeqCLR (paper §2.3, "Classifier").

The paper's downstream recipe drops the projector, puts a classifier head on
the encoder's output and trains it with labels, ending in ``LogSoftmax`` with
one output per class and the negative log-likelihood loss, on the frozen or
the fine-tuned encoder. :class:`SeqCLRClassifier`, here, is that classifier:
a multi-scale BiLSTM head on the encoder's full-length output of every channel.
:class:`LogSoftmaxClassifier` (defined in :mod:`skseqclr.log_softmax`, importable
from here) is a linear or MLP log-softmax head on pooled feature vectors; how the
two compare is in :ref:`ablation-classifier-head`. Both train with the loop of
:mod:`skseqclr.training.finetune`.
"""

from __future__ import annotations

import copy
import numbers
import os

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .training import distributed as D
from ._validation import (HERTZ, POSITIVE_REAL, Flag, InstanceOf, Interval, Options, Satisfies, check_device)
from .features import EncodingSettings, check_finite_outputs, encode_windows, iterate_encoded
from .nn.heads import HEAD_SIZE_CONSTRAINTS, ClassifierHead, StandardizedHead
from .inputs import (as_window_source, extract_targets, fit_units, is_sequence_of_windows, refuse_multidataset,
                     transform_units)
# _MLP: classifiers pickled when it was defined here still load
from .log_softmax import _MLP, LogSoftmaxClassifier, _LogSoftmaxClassifierMixin, _normalised_log_proba  # noqa: F401
from .training.finetune import (_COMMON_CONSTRAINTS, _check_common_params, _check_n_labels, _class_weight_tensor,
                                _encode_labels, _fit_loop, _is_fitted_transformer, _is_frozen_estimator, _split,
                                _torch_seeded, pretrained_transformer)
from .training.loading import to_device_microvolts
from .training.pretrainer import autocast, resolve_precision
from .transformer import SeqCLRTransformer

__all__ = ["SeqCLRClassifier", "LogSoftmaxClassifier", "StandardizedHead"]

#: ``cache_encoded="auto"`` keeps frozen encoder outputs in memory up to this size.
_AUTO_CACHE_BYTES = 1 << 30
#: The head reads the sequence at full rate, /2 and /4 (two halvings).
_HEAD_MIN_LENGTH = 4
#: Training windows whose encoder outputs give the head's input standardisation.
_STATISTICS_WINDOWS = 256


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
    :class:`LogSoftmaxClassifier` for a log-softmax head on those features;
    with few labels a linear probe on pooled features is the stronger choice
    (:ref:`ablation-classifier-head`).

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
    head_ : skseqclr.nn.heads.StandardizedHead
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

    #: The fitted transformer the encoder comes from, pretraining one if needed (``fit`` calls it).
    _pretrained_transformer = pretrained_transformer

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
        transformer.check_windows(source)
        n_times = transformer.n_times_after_resampling(source)
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
        resample = transformer.resampling(source)

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
                * transformer.n_times_after_resampling(source)
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
                        resample=transformer.resampling(source), settings=settings, device=device,
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
