"""How a fitted :class:`~skseqclr.transformer.SeqCLRTransformer` turns windows into features.

:class:`FeatureReadout` (a mixin of the transformer) follows the
transformer's :class:`~skseqclr.Readout`: it encodes the channels
``feature_channels`` reads, pools the encoder's outputs over time
(``pooling``, ``log_power``) and, with ``feature_reference``, references each
channel's features to the mean of its kind. The readout is read at every
call, so it can be changed on a fitted transformer
(``set_params(readout__pooling="mean")``).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .features import check_finite_outputs, compute_features
from .inputs import WindowSource, as_window_source
from .options import Readout
from .pooling import check_pooling
from .recombination import feature_channel_pairs
from .referencing import KIND_NAMES, channel_kinds, reference_within_kinds, referenced_kinds

__all__ = ["FeatureReadout"]


class FeatureReadout:
    """``encode``, ``transform`` and the feature names of the transformer (a mixin)."""

    def _readout(self) -> Readout:
        """The checked :class:`~skseqclr.Readout` in effect (``readout``, or the defaults for None)."""
        return (Readout() if self.readout is None else self.readout).validate()

    def _n_features_per_channel(self):
        readout = self._readout()
        return self.encoder_.n_outputs * len(check_pooling(readout.pooling)) + int(readout.log_power)

    def _feature_channels(self, ch_names):
        """``(pairs, names)`` of the channels features are read on; ``pairs`` None for the originals."""
        first, second, names = feature_channel_pairs(self._readout().feature_channels, list(ch_names))
        return (None if first == second == list(range(len(ch_names))) else (first, second)), names

    @property
    def n_features_out_(self):
        """Features per window: channels read (``feature_channels``, on the fitted channels) x features each."""
        check_is_fitted(self, "encoder_")
        return len(self._read_rows(self.ch_names_)) * self._n_features_per_channel()

    # ------------------------------------------------------------- transform
    def encode(self, X) -> np.ndarray:
        """Pooled features per channel, for windows with any number of channels.

        Parameters
        ----------
        X : array-like, braindecode dataset, mne.Epochs or SliceDataset

        Returns
        -------
        np.ndarray of shape (n_windows, n_rows, n_features_per_channel), float32
            One row per channel ``feature_channels`` makes of the windows'
            (their own by default); with ``feature_reference`` each
            minus the mean of its kind's channels in the same window, then
            one row per kind with that mean (``get_feature_names_out`` names
            the rows).
        """
        check_is_fitted(self, "encoder_")
        readout = self._readout()  # checked at every call: set_params on a fitted transformer skips fit's checks
        source = as_window_source(X, sfreq=self.sfreq, ch_names=self.ch_names)
        pairs, names = self._feature_channels(source.ch_names)
        if self.sfreq_ is not None and source.sfreq is not None and self.preprocessing_.resample_to is None \
                and not np.isclose(source.sfreq, self.sfreq_):
            raise ValueError(
                f"The encoder was trained on {self.sfreq_} Hz data, X is at {source.sfreq} Hz; resample X, "
                "or fit with preprocessing=Preprocessing(resample_to=<Hz>) to resample on the fly."
            )
        self.check_windows(source)
        device = self._device()
        encoder = self.encoder_.to(device)
        try:
            windows_per_batch = max(1, self.batch_size // len(names))
            features = compute_features(
                encoder, source, to_microvolts=self.microvolts_factor(source), resample=self.resampling(source),
                settings=self.encoding_settings(device), device=device, windows_per_batch=windows_per_batch,
                statistics=check_pooling(readout.pooling), log_power=readout.log_power,
                num_workers=self.preprocessing_.num_workers, sfreq=self.sfreq_, pairs=pairs,
            )
        finally:
            self.encoder_.cpu()
        if readout.feature_reference:
            features = reference_within_kinds(features, self._channel_kinds(pairs, len(names)))
        # never NaN silently (compute_features checked each batch; this covers what followed)
        check_finite_outputs(features, np.arange(len(features)), modules={"encoder": self.encoder_})
        return features

    @staticmethod
    def _channel_kinds(pairs, n_read):
        return np.zeros(n_read, dtype=int) if pairs is None else channel_kinds(*pairs)

    def _read_rows(self, ch_names):
        """Names of the rows of ``encode``'s output for windows with channels ``ch_names``: the channels read,
        then (``feature_reference``) each referenced kind's mean."""
        pairs, names = self._feature_channels(ch_names)
        if not self._readout().feature_reference:
            return list(names)
        kinds = self._channel_kinds(pairs, len(names))
        return list(names) + [f"{KIND_NAMES[kinds[members[0]]]}-mean" for members in referenced_kinds(kinds)]

    def transform(self, X):
        """Encode windows into feature vectors.

        Parameters
        ----------
        X : array-like, braindecode dataset, mne.Epochs or SliceDataset
            Windows with one of the channel counts seen in ``fit`` and any
            length the encoder accepts.

        Returns
        -------
        np.ndarray of shape (n_windows, n_rows * n_features_per_channel), float32
            For each channel read (``feature_channels``; the windows' own by
            default), then with ``feature_reference`` for each kind's
            mean (:meth:`encode`): its 4 encoder outputs' pooling statistics (then its log
            power, if ``log_power``), channel after channel.
        """
        check_is_fitted(self, "encoder_")
        source = as_window_source(X, sfreq=self.sfreq, ch_names=self.ch_names)
        if source.n_channels not in self.n_channels_fit_:
            raise ValueError(
                f"X has {source.n_channels} channels but SeqCLRTransformer was fitted on windows with "
                f"{' or '.join(map(str, self.n_channels_fit_))} channels: the feature vector (channels x "
                f"{self._n_features_per_channel()} features) would change layout and no longer match what "
                "a downstream estimator was trained on. Use encode(X) for per-channel features of any "
                "channel count, or refit on windows with these channels."
            )
        self._check_read_channels(source)
        features = self.encode(source)
        return features.reshape(features.shape[0], -1)

    def _check_read_channels(self, source: WindowSource):
        """Refuse windows with the fitted channel count whose names make ``feature_channels`` read another number
        of channels (e.g. ``"auto"`` on numpy windows without names, after fitting on named Epochs)."""
        if source.n_channels != len(self.ch_names_):
            return
        fitted = self._feature_channels(self.ch_names_)[1]
        read = self._feature_channels(source.ch_names)[1]
        if len(read) != len(fitted):
            raise ValueError(
                f"feature_channels={self._readout().feature_channels!r} reads {len(read)} channels of X but read "
                f"{len(fitted)} of the windows seen in fit, because X's channel names "
                f"({', '.join(list(source.ch_names)[:4])}, ...) differ from those seen in fit "
                f"({', '.join(self.ch_names_[:4])}, ...); the feature vector would change layout. Give numpy "
                "windows their names (ch_names=...), or set feature_channels explicitly."
            )

    def get_feature_names_out(self, input_features=None):
        """Feature names ``<channel>_h<k>_<statistic>`` (and ``<channel>_logpower``); a difference's channel is
        ``<a>-<b>``, the means of ``feature_reference`` ``original-mean`` and ``difference-mean``."""
        check_is_fitted(self, "encoder_")
        readout = self._readout()
        names = []
        for ch in self._read_rows(self.ch_names_):
            for k in range(self.encoder_.n_outputs):
                names.extend(f"{ch}_h{k}_{stat}" for stat in check_pooling(readout.pooling))
            if readout.log_power:
                names.append(f"{ch}_logpower")
        return np.asarray(names, dtype=object)
