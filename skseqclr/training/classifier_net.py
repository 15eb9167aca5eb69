"""The network :class:`~skseqclr.classifier.SeqCLRClassifier` hands to skorch, and how it is put together.

:class:`EncoderAndHead` is the module skorch trains: windows in their
source's units in, the pretrained encoder on every channel, the standardised
classifier head, log-probabilities out. With a frozen encoder whose outputs
are cached (:func:`encode_all`, when :func:`use_cache` says so) the same
module runs the head alone. :func:`make_head` builds the head with its input
standardisation from the encoder outputs of a sample of training windows;
:func:`are_callbacks` tells whether a value is a list skorch's ``callbacks``
takes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..features import check_finite_outputs, encode_windows, iterate_encoded
from ..nn.heads import ClassifierHead, StandardizedHead
from .loading import to_device_microvolts
from .precision import autocast

__all__: list = []  # the contract of skseqclr.classifier with skorch; not part of the user's API

#: ``cache_encoded="auto"`` keeps frozen encoder outputs in memory up to this size (bytes).
AUTO_CACHE_BYTES = 1 << 30
#: The head reads the sequence at full rate, /2 and /4 (two halvings): windows need at least this many samples.
HEAD_MIN_LENGTH = 4
#: Training windows whose encoder outputs give the head's input standardisation.
STATISTICS_WINDOWS = 256


def are_callbacks(value) -> bool:
    """A list of what skorch's ``callbacks`` takes: callbacks (instances or classes), (name, callback) pairs and
    scikit-learn scorer names (which braindecode's ``EEGClassifier`` makes into scores)."""
    from sklearn.metrics import get_scorer_names
    from skorch.callbacks import Callback

    def is_callback(item):
        return isinstance(item, Callback) or (isinstance(item, type) and issubclass(item, Callback))

    return isinstance(value, (list, tuple)) and all(
        is_callback(item) or (isinstance(item, str) and item in get_scorer_names())
        or (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and is_callback(item[1]))
        for item in value)


class EncoderAndHead(nn.Module):
    """The network skorch trains: windows, the encoder on every channel, the standardised head, log-probabilities.

    Windows come in their source's units and are converted to µV, resampled
    and scaled as the transformer does for its own features (``settings``).
    With ``encoded=True`` the input is the encoder's output already (the
    frozen encoder's cache) and only the head runs. A frozen encoder
    (``finetune=False``) stays in evaluation mode, without gradients.
    """

    def __init__(self, encoder, head, settings, to_microvolts, resample, *, finetune, encoded):
        super().__init__()
        self.encoder, self.head = encoder, head
        self.settings, self.to_microvolts, self.resample = settings, to_microvolts, resample
        self.finetune, self.encoded = finetune, encoded

    def train(self, mode: bool = True):
        super().train(mode)
        if not self.finetune:
            self.encoder.eval()
        return self

    def forward(self, x):
        if self.encoded:
            h = x
        else:
            windows_uv = to_device_microvolts(x, x.device, self.to_microvolts, self.resample)
            with torch.set_grad_enabled(self.finetune and torch.is_grad_enabled()):
                h = encode_windows(self.encoder, windows_uv, self.settings).flatten(1, 2)
        with autocast(h.device, self.settings.precision):
            return self.head(h).float()


def make_head(estimator, encoder, n_channels, train_idx, rng, *, cache, read, settings):
    """The classifier head of ``estimator``, standardising its input with statistics of the training windows.

    Parameters
    ----------
    estimator : SeqCLRClassifier
        Its ``lstm_sizes``, ``hidden_size``, ``dropout``, ``batch_size`` and
        ``classes_`` (set) are read.
    encoder : torch.nn.Module
        The encoder, on the training device.
    n_channels : int
        EEG channels per window.
    train_idx : np.ndarray of int
        Indices of the training windows.
    rng : np.random.Generator
        Draws the (at most :data:`STATISTICS_WINDOWS`) windows the statistics come from.
    cache : torch.Tensor or None
        The frozen encoder's outputs of every window, or None to encode the sample here.
    read : callable
        ``read(indices)``: those windows in µV on the device, resampled.
    settings : skseqclr.features.EncodingSettings
        How windows are scaled and encoded.

    Returns
    -------
    StandardizedHead
        The head, its input standardisation fitted.

    Raises
    ------
    ValueError
        When the encoder's outputs are not finite (a diverged or corrupted encoder).
    """
    sample = np.sort(rng.choice(train_idx, size=min(len(train_idx), STATISTICS_WINDOWS), replace=False))
    if cache is not None:
        h = cache[torch.as_tensor(sample)]
    else:
        step = estimator.batch_size
        with torch.no_grad():
            h = torch.cat([encode_windows(encoder, read(sample[i:i + step]), settings).flatten(1, 2)
                           for i in range(0, len(sample), step)])
    if not bool(torch.isfinite(h).all()):  # a diverged or corrupted encoder: refuse before training a head on it
        check_finite_outputs(h.cpu().numpy(), sample, modules={"encoder": encoder}, what="encoder outputs")
    head = ClassifierHead(encoder.n_outputs * n_channels, len(estimator.classes_), tuple(estimator.lstm_sizes),
                          estimator.hidden_size, estimator.dropout)
    return StandardizedHead(head, h)


def use_cache(cache_encoded, source, encoder, n_times) -> bool:
    """Whether to cache the frozen encoder's outputs of ``source``'s windows (``n_times`` samples once resampled).

    ``cache_encoded="auto"`` caches when the float32 outputs fit in :data:`AUTO_CACHE_BYTES`.
    """
    if cache_encoded == "auto":
        return 4 * source.n_windows * encoder.n_outputs * source.n_channels * n_times <= AUTO_CACHE_BYTES
    return bool(cache_encoded)


def encode_all(encoder, source, settings, device, to_microvolts, resample, *, batch_size, num_workers):
    """Frozen encoder outputs of every window, ``(n_windows, 4 * n_channels, n_times)`` float32 on the CPU."""
    out = None
    with torch.no_grad():
        for indices, windows_uv in iterate_encoded(encoder, source, to_microvolts=to_microvolts, resample=resample,
                                                   settings=settings, device=device,
                                                   windows_per_batch=batch_size, num_workers=num_workers):
            h = encode_windows(encoder, windows_uv, settings).flatten(1, 2).cpu()
            if out is None:
                out = torch.empty((source.n_windows, *h.shape[1:]), dtype=torch.float32)
            out[torch.as_tensor(indices)] = h
    return out
