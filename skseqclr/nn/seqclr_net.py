"""The SeqCLR downstream network and channel encoder as braindecode models (paper §2.3).

:class:`SeqCLRNet` follows braindecode's model convention
(:class:`braindecode.models.base.EEGModuleMixin`), so that
:class:`braindecode.EEGClassifier` trains it like any braindecode model, with
skorch's callbacks, learning-rate schedules and history. :class:`SeqCLREncoder`
is the pretraining network's channel encoder alone, in the same convention.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch
from braindecode.models.base import EEGModuleMixin
from torch import nn

from ..scaling import SCALING_MODES, scaling_statistics
from .encoders import make_encoder
from .heads import HEAD_SIZE_CONSTRAINTS, ClassifierHead
from .._validation import validate_parameter_constraints, Interval

__all__ = ["SeqCLRNet", "SeqCLREncoder"]


def _check_input_handling(to_microvolts, scaling, input_scale, encoder_kwargs):
    """Validate the input-handling and encoder-size parameters shared by the networks of this module."""
    if scaling not in SCALING_MODES:
        raise ValueError(f"scaling={scaling!r} is not one of {SCALING_MODES}.")
    for name, value in (("to_microvolts", to_microvolts), ("input_scale", input_scale)):
        if isinstance(value, bool) or not isinstance(value, Real) or not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name}={value!r} must be a finite positive number.")
    if encoder_kwargs is not None and not isinstance(encoder_kwargs, dict):
        raise TypeError(f"encoder_kwargs={encoder_kwargs!r} must be a dict or None.")


def _encode_channels(module, x):
    """Scale every channel of ``x`` ``(batch, n_chans, n_times)`` as ``transform`` does and encode it.

    Returns ``(batch, n_chans, n_features, n_times)``.
    """
    if x.ndim != 3:
        raise ValueError(f"{type(module).__name__} takes (batch, n_chans, n_times) input, "
                         f"got shape {tuple(x.shape)}.")
    x_uv = x * module.to_microvolts
    center, scale = scaling_statistics(x_uv, x_uv, module.scaling, module.input_scale)  # as in transform
    scaled = (x_uv.flatten(0, 1) - center) / scale  # (batch * n_chans, n_times)
    h = module.encoder(scaled.unsqueeze(1))
    return h.reshape(x.shape[0], x.shape[1], h.shape[-2], h.shape[-1])


def _transformer_settings(transformer, kwargs):
    """The constructor arguments a network takes over from a fitted transformer (sfreq, encoder, input handling)."""
    from .._transformer_params import split_model_size
    from ..transformer import SeqCLRTransformer
    from sklearn.utils.validation import check_is_fitted

    if not isinstance(transformer, SeqCLRTransformer):
        raise TypeError(f"transformer must be a SeqCLRTransformer, got {type(transformer).__name__}.")
    check_is_fitted(transformer, "encoder_")  # NotFittedError, a ValueError
    taken = {"encoder", "model_size", "encoder_kwargs", "to_microvolts", "scaling", "input_scale", "sfreq"}
    if taken & set(kwargs):
        raise ValueError(f"{sorted(taken & set(kwargs))} come from the transformer and cannot be given.")
    preset, encoder_sizes, _ = split_model_size(transformer.encoder, transformer.model_size)
    return dict(sfreq=transformer.sfreq_, encoder=transformer.encoder, model_size=preset,
                encoder_kwargs=encoder_sizes or None, to_microvolts=float(transformer.to_microvolts_),
                scaling=transformer.preprocessing_.scaling, input_scale=float(transformer.input_scale_))

_DOC = """SeqCLR classifier network: the channel encoder on every channel, then the classification head.

    Each channel of an input window ``(batch, n_chans, n_times)`` is scaled
    (``to_microvolts``, ``scaling``, ``input_scale``), encoded separately by
    the channel encoder (:func:`skseqclr.nn.encoders.make_encoder`; 4 feature
    channels as long as the window); the ``4 * n_chans`` feature channels are
    read by the paper's head (:class:`skseqclr.nn.heads.ClassifierHead`:
    three bidirectional LSTMs at full rate, /2 and /4, dense layers, dropout).

    The output is **log-probabilities** ``(batch, n_outputs)`` (the head ends
    in ``LogSoftmax``): train it with ``criterion=torch.nn.NLLLoss``, not
    braindecode's default cross-entropy, which would apply a second softmax.
    ``EEGClassifier.predict_proba`` then returns these log-probabilities
    (``numpy.exp`` gives probabilities); ``predict`` is unaffected.

    Parameters
    ----------
    n_outputs : int
        Number of classes.
    n_chans : int
        Number of EEG channels (or give ``chs_info``).
    chs_info : list of dict
        ``info["chs"]`` of an :class:`mne.Info`; gives ``n_chans``.
    n_times : int
        Samples per window (or give ``input_window_seconds`` and ``sfreq``).
        Not used by the layers: the network reads windows of any length of at
        least the encoder's ``min_length`` samples.
    input_window_seconds : float
        Window length in s.
    sfreq : float
        Sampling frequency in Hz.
    encoder : {"conv", "recurrent"}, default="conv"
        The channel encoder.
    model_size : {"paper", "small"}, default="small"
        Preset of encoder sizes (:data:`skseqclr.nn.encoders.ENCODER_SIZES`).
    encoder_kwargs : dict or None
        Encoder sizes replacing the preset's.
    lstm_sizes : tuple of 3 int, default=(64, 32, 16)
        Hidden size per direction of the head's three BiLSTM branches.
    hidden_size : int, default=64
        Width of the head's dense layer.
    dropout : float, default=0.25
        Dropout before each dense layer of the head.
    to_microvolts : float, default=1.0
        Factor from the input's units to µV (``1e6`` for inputs in volts, as
        braindecode datasets usually hold them).
    scaling : {"none", "global", "window", "channel"}, default="none"
        How each channel in µV is scaled before the encoder
        (:mod:`skseqclr.scaling`): ``"global"`` divides by ``input_scale``,
        ``"window"`` by the window's median channel standard deviation,
        ``"channel"`` z-scores each channel, ``"none"`` leaves µV as they are.
    input_scale : float, default=1.0
        The ``"global"`` constant, µV.
    freeze_encoder : bool, default=False
        Keep the encoder's weights fixed: its parameters get no gradient and
        it stays in evaluation mode (its batch-norm statistics do not move).

    Attributes
    ----------
    encoder : torch.nn.Module
        The channel encoder. With skorch, ``optimizer__param_groups=[("encoder.*",
        {"lr": 1e-4})]`` gives it its own learning rate.
    head : skseqclr.nn.heads.ClassifierHead
        The classification head.

    See Also
    --------
    skseqclr.SeqCLRClassifier : The same network behind a scikit-learn estimator.

    Notes
    -----
    A network started from a pretrained :class:`~skseqclr.SeqCLRTransformer`
    (:meth:`from_transformer`) takes the transformer's input handling
    (``to_microvolts_``, ``scaling``, ``input_scale_``): give it windows in the
    units the transformer was fitted on, and its encoder sees exactly the input
    the transformer's encoder sees in ``transform``.

    Unlike :class:`~skseqclr.SeqCLRClassifier`, the head's input is not
    standardised with statistics of the training windows (a network built
    before it sees any data has none).

    Examples
    --------
    ::

        import torch
        from braindecode import EEGClassifier
        from skseqclr.nn import SeqCLRNet

        clf = EEGClassifier(SeqCLRNet, module__encoder="conv", module__model_size="small",
                            criterion=torch.nn.NLLLoss, max_epochs=20)
        clf.fit(X_train, y_train)  # n_chans, n_times and n_outputs are inferred
    """


class SeqCLRNet(EEGModuleMixin, nn.Module):
    __doc__ = _DOC

    def __init__(
        self,
        n_outputs=None,
        n_chans=None,
        chs_info=None,
        n_times=None,
        input_window_seconds=None,
        sfreq=None,
        encoder="conv",
        model_size="small",
        encoder_kwargs=None,
        lstm_sizes=(64, 32, 16),
        hidden_size=64,
        dropout=0.25,
        to_microvolts=1.0,
        scaling="none",
        input_scale=1.0,
        freeze_encoder=False,
    ):
        super().__init__(n_outputs=n_outputs, n_chans=n_chans, chs_info=chs_info, n_times=n_times,
                         input_window_seconds=input_window_seconds, sfreq=sfreq)
        del n_outputs, n_chans, chs_info, n_times, input_window_seconds, sfreq
        _check_input_handling(to_microvolts, scaling, input_scale, encoder_kwargs)
        if not isinstance(freeze_encoder, bool):
            raise TypeError(f"freeze_encoder={freeze_encoder!r} must be True or False.")
        validate_parameter_constraints(
            {"lstm_sizes": HEAD_SIZE_CONSTRAINTS["lstm_sizes"], "hidden_size": [Interval(Integral, 1)],
             "dropout": [Interval(Real, 0, 1, closed="left")]},
            dict(lstm_sizes=lstm_sizes, hidden_size=hidden_size, dropout=dropout), caller="SeqCLRNet")
        n_classes, n_chans = self.n_outputs, self.n_chans  # ValueError when neither given nor inferable

        self.encoder_name = encoder
        self.model_size = model_size
        self.encoder_kwargs = encoder_kwargs
        self.lstm_sizes = tuple(lstm_sizes)
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.to_microvolts = float(to_microvolts)
        self.scaling = scaling
        self.input_scale = float(input_scale)
        self.freeze_encoder = freeze_encoder

        self.encoder = make_encoder(encoder, model_size, **(encoder_kwargs or {}))
        self.head = ClassifierHead(self.encoder.n_outputs * n_chans, n_classes, self.lstm_sizes, hidden_size,
                                   dropout)
        if freeze_encoder:
            self.encoder.requires_grad_(False)
            self.encoder.eval()

    def train(self, mode: bool = True):
        """Set training mode; a frozen encoder stays in evaluation mode."""
        super().train(mode)
        if self.freeze_encoder:
            self.encoder.eval()
        return self

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder outputs of every channel: ``(batch, n_chans, n_times)`` -> ``(batch, n_chans, 4, n_times)``."""
        return _encode_channels(self, x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``(batch, n_outputs)`` of windows ``(batch, n_chans, n_times)``."""
        return self.head(self.encode(x).flatten(1, 2))

    @classmethod
    def from_transformer(cls, transformer, n_outputs, n_chans=None, chs_info=None, n_times=None,
                         input_window_seconds=None, freeze_encoder=False, **kwargs):
        """A network whose encoder is a copy of a fitted transformer's.

        Parameters
        ----------
        transformer : skseqclr.SeqCLRTransformer
            Fitted: its ``encoder_`` weights are copied (the transformer is
            not changed), and its input handling is taken over
            (``to_microvolts=transformer.to_microvolts_``,
            ``scaling=transformer.preprocessing_.scaling``,
            ``input_scale=transformer.input_scale_``), and its encoder's
            sizes (``model_size``).
        n_outputs : int
            Number of classes.
        n_chans, chs_info, n_times, input_window_seconds
            As for :class:`SeqCLRNet`; ``sfreq`` is the transformer's
            ``sfreq_``.
        freeze_encoder : bool, default=False
            Keep the copied encoder fixed (see :class:`SeqCLRNet`).
        **kwargs
            Head sizes (``lstm_sizes``, ``hidden_size``, ``dropout``).

        Returns
        -------
        SeqCLRNet
            Pass it as ``module`` to :class:`braindecode.EEGClassifier`, with
            ``criterion=torch.nn.NLLLoss`` and, to fine-tune the encoder at its
            own learning rate, ``optimizer__param_groups=[("encoder.*", {"lr": 1e-4})]``.
        """
        taken = _transformer_settings(transformer, kwargs)
        net = cls(n_outputs=n_outputs, n_chans=n_chans, chs_info=chs_info, n_times=n_times,
                  input_window_seconds=input_window_seconds, freeze_encoder=freeze_encoder, **taken, **kwargs)
        net.encoder.load_state_dict(transformer.encoder_.state_dict())
        return net


# braindecode appends its Hugging Face hub notes (with links into its own docs) to every model's docstring.
SeqCLRNet.__doc__ = _DOC


_ENCODER_DOC = """SeqCLR channel encoder on every channel, as a braindecode model.

    The channel encoder that :class:`~skseqclr.SeqCLRTransformer` pretrains
    (:func:`skseqclr.nn.encoders.make_encoder`), without a head: each channel
    of an input window ``(batch, n_chans, n_times)`` is scaled
    (``to_microvolts``, ``scaling``, ``input_scale``) and encoded separately,
    and the output is the encoder's feature sequences
    ``(batch, n_chans, n_outputs, n_times)``: ``n_outputs`` feature channels
    (4) per EEG channel, as long as the window. Use it as the feature
    extractor in front of a braindecode or PyTorch head of your own.

    Parameters
    ----------
    n_outputs : int or None
        An encoder has no classes: ``n_outputs`` is the number of feature
        channels the encoder gives per EEG channel, set from the encoder when
        ``None``; any other value raises a ``ValueError``.
    n_chans : int
        Number of EEG channels (or give ``chs_info``).
    chs_info : list of dict
        ``info["chs"]`` of an :class:`mne.Info`; gives ``n_chans``.
    n_times : int
        Samples per window (or give ``input_window_seconds`` and ``sfreq``).
        Not used by the layers: the encoder reads windows of any length of at
        least its ``min_length`` samples.
    input_window_seconds : float
        Window length in s.
    sfreq : float
        Sampling frequency in Hz.
    encoder : {"conv", "recurrent"}, default="conv"
        The channel encoder.
    model_size : {"paper", "small"}, default="small"
        Preset of encoder sizes (:data:`skseqclr.nn.encoders.ENCODER_SIZES`).
    encoder_kwargs : dict or None
        Encoder sizes replacing the preset's.
    to_microvolts : float, default=1.0
        Factor from the input's units to µV (``1e6`` for inputs in volts).
    scaling : {"none", "global", "window", "channel"}, default="none"
        How each channel in µV is scaled before the encoder, as for
        :class:`SeqCLRNet`.
    input_scale : float, default=1.0
        The ``"global"`` constant, µV.

    Attributes
    ----------
    encoder : torch.nn.Module
        The channel encoder.

    See Also
    --------
    SeqCLRNet : The encoder with the paper's classification head.
    skseqclr.SeqCLRTransformer.transform : The encoder's pooled features as a scikit-learn transformer.

    Notes
    -----
    :meth:`from_transformer` copies a fitted transformer's encoder and its
    input handling: given windows in the units the transformer was fitted on,
    the output is the encoder output that the transformer's ``transform``
    pools into its features.

    Examples
    --------
    ::

        from skseqclr.nn import SeqCLREncoder

        encoder = SeqCLREncoder.from_transformer(fitted_transformer, n_chans=X.shape[1]).eval()
        h = encoder(torch.as_tensor(X))  # (n_windows, n_chans, 4, n_times)
    """


class SeqCLREncoder(EEGModuleMixin, nn.Module):
    __doc__ = _ENCODER_DOC

    def __init__(
        self,
        n_outputs=None,
        n_chans=None,
        chs_info=None,
        n_times=None,
        input_window_seconds=None,
        sfreq=None,
        encoder="conv",
        model_size="small",
        encoder_kwargs=None,
        to_microvolts=1.0,
        scaling="none",
        input_scale=1.0,
    ):
        super().__init__(n_outputs=n_outputs, n_chans=n_chans, chs_info=chs_info, n_times=n_times,
                         input_window_seconds=input_window_seconds, sfreq=sfreq)
        del n_chans, chs_info, n_times, input_window_seconds, sfreq
        _check_input_handling(to_microvolts, scaling, input_scale, encoder_kwargs)
        _ = self.n_chans  # ValueError when neither given nor inferable

        self.encoder_name = encoder
        self.model_size = model_size
        self.encoder_kwargs = encoder_kwargs
        self.to_microvolts = float(to_microvolts)
        self.scaling = scaling
        self.input_scale = float(input_scale)
        self.encoder = make_encoder(encoder, model_size, **(encoder_kwargs or {}))
        n_features = self.encoder.n_outputs
        if n_outputs is not None and n_outputs != n_features:
            raise ValueError(f"n_outputs={n_outputs!r} must be None or the encoder's number of feature channels "
                             f"per EEG channel ({n_features}): an encoder has no classes.")
        self._n_outputs = n_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder outputs of every channel, ``(batch, n_chans, n_outputs, n_times)``."""
        return _encode_channels(self, x)

    @classmethod
    def from_transformer(cls, transformer, n_chans=None, chs_info=None, n_times=None, input_window_seconds=None):
        """An encoder that is a copy of a fitted transformer's.

        Parameters
        ----------
        transformer : skseqclr.SeqCLRTransformer
            Fitted (else a ``NotFittedError``, a ``ValueError``): its
            ``encoder_`` weights are copied (the transformer is not changed),
            and its input handling (``to_microvolts_``, ``scaling``,
            ``input_scale_``), encoder sizes and ``sfreq_`` are taken over, as
            by :meth:`SeqCLRNet.from_transformer`.
        n_chans, chs_info, n_times, input_window_seconds
            As for :class:`SeqCLREncoder`.

        Returns
        -------
        SeqCLREncoder
            In training mode, like any new module: call ``.eval()`` to use it
            as a fixed feature extractor.
        """
        net = cls(n_chans=n_chans, chs_info=chs_info, n_times=n_times, input_window_seconds=input_window_seconds,
                  **_transformer_settings(transformer, {}))
        net.encoder.load_state_dict(transformer.encoder_.state_dict())
        return net


# braindecode appends its Hugging Face hub notes (with links into its own docs) to every model's docstring.
SeqCLREncoder.__doc__ = _ENCODER_DOC
