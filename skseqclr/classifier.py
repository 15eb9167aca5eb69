"""Supervised classifiers ending in log-softmax on top of SeqCLR (paper §2.3, "Classifier").

The paper's downstream recipe drops the projector, puts a classifier head on
the encoder's output and trains it with labels, ending in ``LogSoftmax`` with
one output per class and the negative log-likelihood loss, on the frozen or
the fine-tuned encoder. :class:`SeqCLRClassifier`, here, is that classifier:
a multi-scale BiLSTM head on the encoder's full-length output of every channel.
:class:`LogSoftmaxClassifier` (defined in :mod:`skseqclr.log_softmax`, importable
from here) is a linear or MLP log-softmax head on pooled feature vectors; how the
two compare is in :ref:`ablation-classifier-head`. Both are trained by skorch
(braindecode's ``EEGClassifier``) through :mod:`skseqclr.training.finetune`:
epochs, validation, early stopping with the best weights restored, history
and the user's callbacks are skorch's.

What :class:`SeqCLRClassifier` adds around skorch is the SeqCLR part: the
encoder from a pretrained transformer, copied and frozen or fine-tuned (its
own learning rate, as a skorch parameter group), windows read in the
transformer's units, resampling and scaling, the head's input
standardisation, and, with a frozen encoder, the encoder outputs computed
once and cached, so that the module skorch trains is then the head alone
(that module and its assembly are in :mod:`skseqclr.training.classifier_net`).
Prediction streams windows through the encoder and the head in batches
(with ``num_workers`` for lazy datasets) and refuses outputs that are not
finite.
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
from .training.classifier_net import (HEAD_MIN_LENGTH, EncoderAndHead, are_callbacks, encode_all, make_head,
                                      use_cache)
from ._validation import (HERTZ, POSITIVE_REAL, Flag, InstanceOf, Interval, Options, Satisfies, check_device)
from .features import EncodingSettings, check_finite_outputs, encode_windows, iterate_encoded
from .nn.heads import HEAD_SIZE_CONSTRAINTS, StandardizedHead
from .inputs import (as_window_source, extract_targets, fit_units, is_sequence_of_windows, refuse_multidataset,
                     transform_units)
# _MLP: classifiers pickled when it was defined here still load
from .log_softmax import _MLP, LogSoftmaxClassifier, LogSoftmaxClassifierMixin, normalised_log_proba  # noqa: F401
from .training.finetune import (COMMON_CONSTRAINTS, check_common_params, check_n_labels, class_weight_tensor,
                                encode_labels, is_fitted_transformer, is_frozen_estimator, torch_seeded,
                                LabelledWindows, best_epoch, pretrained_transformer, split, train_net)
from .training.loading import to_device_microvolts
from .training.pretrainer import autocast, resolve_precision
from .transformer import SeqCLRTransformer

__all__ = ["SeqCLRClassifier", "LogSoftmaxClassifier", "StandardizedHead"]

# --------------------------------------------------------------------------- the paper's classifier
class SeqCLRClassifier(LogSoftmaxClassifierMixin, ClassifierMixin, BaseEstimator):
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
        can be represented in both parts) as skorch's validation set, for
        early stopping; ``None`` trains for ``n_epochs`` without validation.
    patience : int, default=5
        Epochs without a lower validation loss before training stops
        (:class:`skorch.callbacks.EarlyStopping`); the weights of the epoch
        with the lowest validation loss are kept.
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
        DataLoader workers reading lazy (not preloaded) datasets: in
        prediction, for the cache of a frozen encoder and for the training
        batches when the encoder runs every epoch.
    random_state : int, RandomState or None
        Seeds the head's initial weights, the validation split, the batch order
        and dropout (and pretraining when ``pretrained=None``). Two fits with the
        same integer give the same model on the CPU.
    verbose : int, default=0
        ``> 0`` prints skorch's table of the losses, accuracy and duration of
        each epoch.
    callbacks : list or None, default=None
        skorch callbacks run during training, after the classifier's own
        (the divergence check, then the early stopping of
        ``validation_fraction``): :class:`skorch.callbacks.Callback`
        instances, ``(name, callback)`` pairs, or scikit-learn scorer names
        such as ``"balanced_accuracy"`` (braindecode's ``EEGClassifier``
        turns them into training and validation scores). E.g.
        ``[LRScheduler(policy="CosineAnnealingLR", T_max=30)]`` or
        ``[EarlyStopping(monitor="valid_acc", lower_is_better=False)]``.
        They are copied at each ``fit``; what they record is in ``history_``.

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
    history_ : skorch.history.History
        skorch's history of the training: one dict per epoch with ``epoch``
        (from 1), ``train_loss`` (mean NLL), ``dur`` (seconds), with
        validation ``valid_loss`` and ``valid_acc``, what callbacks record
        (``event_lr`` of an ``LRScheduler``, ...) and the losses of each
        batch (``batches``); ``history_[:, "train_loss"]`` reads a column.
    best_epoch_ : int
        Index in ``history_`` of the epoch whose weights were kept (the last
        without validation).
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
        callbacks=None,
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
        self.callbacks = callbacks

    def __sklearn_clone__(self):
        # Cloning a fitted transformer would throw its pretraining away; like
        # sklearn's FrozenEstimator, a fitted `pretrained` is kept as it is
        # (the classifier only reads it).
        new = super().__sklearn_clone__()
        if is_fitted_transformer(self.pretrained):
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
        **COMMON_CONSTRAINTS,
        "pretrained": [InstanceOf(SeqCLRTransformer, "a SeqCLRTransformer (fitted, or unfitted to pretrain in fit)"),
                       Satisfies(lambda value: is_frozen_estimator(value), "a FrozenEstimator of a fitted one"),
                       InstanceOf((str, os.PathLike), "the path of weights saved by SeqCLRTransformer.save"), None],
        "finetune": [Flag()],
        "lstm_sizes": [HEAD_SIZE_CONSTRAINTS["lstm_sizes"][0]],
        "hidden_size": [Interval(numbers.Integral, 1)],
        "encoder_lr": [POSITIVE_REAL],
        "cache_encoded": [Flag(), Options("auto")],
        "sfreq": [None, HERTZ],
        "precision": [Options("auto", "fp32", "bf16")],
        "num_workers": [Interval(numbers.Integral, 0)],
        "callbacks": [None, Satisfies(lambda value: are_callbacks(value),
                                      "a list of skorch callbacks, (name, callback) pairs or scorer names")],
    }

    def _check_params(self):
        check_common_params(self)

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
        if transformer.sfreq_ is not None and source.sfreq is not None \
                and transformer.preprocessing_.resample_to is None and not np.isclose(source.sfreq, transformer.sfreq_):
            raise ValueError(
                f"The encoder was pretrained on {transformer.sfreq_} Hz data, X is at {source.sfreq} Hz; "
                "resample X, or pretrain with resample_to set to resample on the fly."
            )
        transformer.check_windows(source)
        n_times = transformer.n_times_after_resampling(source)
        if n_times < HEAD_MIN_LENGTH:
            raise ValueError(
                f"Windows of {n_times} samples are too short for the classifier head, whose BiLSTM at a "
                f"quarter of the rate needs at least {HEAD_MIN_LENGTH} samples ({n_times} feature(s) per "
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
        y_encoded = encode_labels(self, extract_targets(X) if y is None else y)
        transformer = self._pretrained_transformer(X, X_unlabelled)
        source = self._source(X, transformer, reset=True)
        check_n_labels(y_encoded, source.n_windows)

        device = self._device()
        precision = resolve_precision(self.precision, device)
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        settings = EncodingSettings(transformer.preprocessing_.scaling, transformer.input_scale_, precision)
        # units="auto" is decided here, on the training windows, and kept for predict
        (to_microvolts,), kept_to_microvolts = fit_units(transformer.preprocessing_.units, [source])
        resample = transformer.resampling(source)

        def read(indices):
            windows = torch.from_numpy(source.read(indices))
            return to_device_microvolts(windows, device, to_microvolts, resample)

        with torch_seeded(seed, device):
            encoder = copy.deepcopy(transformer.encoder_).to(device).eval()
            encoder.requires_grad_(self.finetune)
            cache = None
            if not self.finetune and use_cache(self.cache_encoded, source, encoder,
                                               transformer.n_times_after_resampling(source)):
                cache = encode_all(encoder, source, settings, device, to_microvolts, resample,
                                   batch_size=self.batch_size, num_workers=self.num_workers)
            # skorch reads the windows, or their cached encoder outputs (then only the head runs)
            train_set, valid_set = split(LabelledWindows(source if cache is None else cache, y_encoded), y_encoded,
                                         self.validation_fraction, seed)
            train_idx = np.sort(getattr(train_set, "indices", np.arange(source.n_windows)))  # a Subset's
            head = make_head(self, encoder, source.n_channels, train_idx, np.random.default_rng(seed), cache=cache,
                             read=read, settings=settings)
            net = train_net(
                self, EncoderAndHead(encoder, head, settings, to_microvolts, resample, finetune=self.finetune,
                                     encoded=cache is not None),
                train_set, valid_set, device=device,
                weight=class_weight_tensor(self.class_weight, self.classes_, y_encoded, device),
                param_groups=[("encoder.*", {"lr": self.encoder_lr})] if self.finetune else [],
                num_workers=0 if cache is not None else self.num_workers, callbacks=self.callbacks,
            )
        module = net.module_
        module.encoder.requires_grad_(True)
        self.transformer_ = transformer
        self.to_microvolts_ = kept_to_microvolts
        self.encoder_ = module.encoder.cpu().eval()
        self.head_ = module.head.cpu().eval()
        self.history_, self.best_epoch_ = net.history, best_epoch(net)
        self.n_iter_ = len(self.history_)
        return self

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
        settings = EncodingSettings(transformer.preprocessing_.scaling, transformer.input_scale_,
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
                        log_proba = normalised_log_proba(head(h).float())
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
        return transform_units(self.transformer_.preprocessing_.units, source,
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
