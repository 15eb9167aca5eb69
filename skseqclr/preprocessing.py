"""How a :class:`~skseqclr.transformer.SeqCLRTransformer` reads windows: units, resampling, scaling, lengths.

:class:`WindowPreprocessing` gives the transformer a public contract for the
steps between the windows a user passes and the encoder's input, so that
other estimators (:class:`~skseqclr.SeqCLRClassifier`) and scripts encode
windows exactly as ``transform`` does without reaching into private methods.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .features import EncodingSettings
from .inputs import WindowSource, fit_units, transform_units
from .pooling import check_band_resolution, check_pooling
from .scaling import estimate_input_scale
from .training.pretrainer import resolve_precision
from ._validation import is_positive_int

__all__ = ["WindowPreprocessing"]


class WindowPreprocessing:
    """Units, resampling, scaling and window-length checks of the transformer (a mixin).

    Uses the transformer's :class:`~skseqclr.Preprocessing` in effect,
    ``preprocessing_`` (set at the start of ``fit``), its parameters
    ``precision``, ``crop_length``, ``encoder`` and ``model_size``, the
    ``pooling`` of its :class:`~skseqclr.Readout`, and after ``fit`` its
    ``to_microvolts_``, ``input_scale_``, ``sfreq_`` and ``encoder_``.
    """

    def resampling(self, source: WindowSource) -> tuple[int, int] | None:
        """The on-the-fly resampling applied to the windows of ``source``.

        Parameters
        ----------
        source : skseqclr.inputs.WindowSource
            Windows, as :func:`skseqclr.inputs.as_window_source` reads them.

        Returns
        -------
        (int, int) or None
            ``(from_hz, to_hz)`` when the preprocessing's ``resample_to`` is set and differs from
            the windows' rate; ``None`` when the windows are used at their rate.

        Raises
        ------
        ValueError
            If either rate is not a whole number of Hz.
        """
        resample_to = self.preprocessing_.resample_to
        if resample_to is None or source.sfreq is None or np.isclose(source.sfreq, resample_to):
            return None
        if not float(source.sfreq).is_integer() or not float(resample_to).is_integer():
            raise ValueError(
                f"On-the-fly resampling needs whole-Hz rates, got {source.sfreq} -> {resample_to} Hz; "
                "resample with MNE first."
            )
        return int(source.sfreq), int(resample_to)

    def n_times_after_resampling(self, source: WindowSource) -> int:
        """Samples per window of ``source`` as the encoder sees them (after :meth:`resampling`).

        Parameters
        ----------
        source : skseqclr.inputs.WindowSource

        Returns
        -------
        int
        """
        pair = self.resampling(source)
        return source.n_times if pair is None else int(np.ceil(source.n_times * pair[1] / pair[0]))

    def check_windows(self, source: WindowSource) -> None:
        """Refuse windows the fitted encoder cannot read.

        Checks the windows' length after resampling against the encoder's
        shortest input and the frequency resolution the ``pooling`` bands need.

        Parameters
        ----------
        source : skseqclr.inputs.WindowSource

        Raises
        ------
        ValueError
            If the windows are too short, naming their length and the minimum.
        """
        check_is_fitted(self, "encoder_")
        self._check_window_length(source, self.encoder_.min_length, sfreq=self.sfreq_)

    def encoding_settings(self, device) -> EncodingSettings:
        """How windows in µV are scaled and at which precision they are encoded, on ``device``.

        Parameters
        ----------
        device : torch.device
            The device encoding runs on. The precision is resolved for it
            now: a model fitted in bf16 on a GPU and unpickled on a CPU
            without native bf16 does not transform in (emulated, slow) bf16.

        Returns
        -------
        skseqclr.features.EncodingSettings
        """
        check_is_fitted(self, "encoder_")
        return EncodingSettings(self.preprocessing_.scaling, self.input_scale_,
                                resolve_precision(self.precision, device))

    def microvolts_factor(self, source: WindowSource) -> float:
        """Factor to µV of the windows of ``source``, the same for every window of the call.

        Parameters
        ----------
        source : skseqclr.inputs.WindowSource

        Returns
        -------
        float
            From the input's own units (``mne.Epochs`` in V, ...), the
            explicit ``units``, or for ``units="auto"`` the factor decided at
            ``fit`` (``to_microvolts_``).
        """
        check_is_fitted(self, "to_microvolts_")
        return transform_units(self.preprocessing_.units, source, self.to_microvolts_)

    # ---------------------------------------------------------------- private: fit
    def _fit_preprocessing(self, sources, seed):
        """Decide what ``fit`` learns of the windows before pretraining.

        Returns the encoder's sampling frequency (Hz, or None if unknown), the
        factor to µV of each source, the fitted factor of inputs without units
        (``to_microvolts_``) and the ``"global"`` scaling constant (µV; 1 for
        the other scalings), estimated on up to 64 windows of each source
        drawn with ``seed``.
        """
        target_sfreq = self._target_sfreq(sources)
        factors, to_microvolts = fit_units(self.preprocessing_.units, sources)  # "auto" is decided here, once
        input_scale = 1.0
        if self.preprocessing_.scaling == "global":
            # Datasets pooled for pretraining may differ in window length: estimate on their common length.
            n_common = min(s.n_times for s in sources)
            input_scale = estimate_input_scale(np.concatenate([
                _sample_windows(s, 64, seed).reshape(-1, s.n_times)[:, :n_common] * f
                for s, f in zip(sources, factors)])[:, None, :])
        return target_sfreq, factors, to_microvolts, float(input_scale)

    def _target_sfreq(self, sources):
        if self.preprocessing_.resample_to is not None:
            return float(self.preprocessing_.resample_to)
        rates = {s.sfreq for s in sources if s.sfreq is not None}
        if len(rates) > 1:
            raise ValueError(
                f"The inputs have different sampling frequencies {sorted(rates)} Hz; resample them "
                "to one rate first (e.g. mne's raw.resample) or set "
                "preprocessing=Preprocessing(resample_to=<Hz>) to resample on the fly."
            )
        return rates.pop() if rates else None

    def _check_window_length(self, source, encoder_min_length, augmenter=None, *, sfreq, crop_samples=None):
        """Refuse windows too short for the encoder, the augmentations or the pooling bands.

        ``sfreq`` is the encoder's rate (after resampling), or None if unknown;
        ``crop_samples`` the length of the pretraining views if they are crops.
        """
        n_times = self.n_times_after_resampling(source)
        if n_times < encoder_min_length:
            raise ValueError(
                f"Windows of {n_times} samples are too short for the {self.encoder} encoder "
                f"(model_size={self.model_size!r}), which needs at least {encoder_min_length} samples "
                f"({n_times} feature(s) per window); use longer windows or a smaller model."
            )
        if augmenter is not None:
            if crop_samples is None:
                augmenter.check_window(n_times)
            else:
                self._check_crop(crop_samples, n_times, encoder_min_length, augmenter)
        check_band_resolution(check_pooling(self._readout().pooling), n_times, sfreq)

    def _crop_samples(self, sources):
        """Samples per pretraining view if the views are crops, else None.

        A fractional ``crop_length`` is a fraction of the shortest window, so
        that one crop length fits every pooled dataset.
        """
        if self.crop_length is None:
            return None
        if is_positive_int(self.crop_length):
            return int(self.crop_length)
        shortest = min(self.n_times_after_resampling(s) for s in sources)
        return max(1, int(round(self.crop_length * shortest)))

    def _crop_name(self, crop_samples):
        if is_positive_int(self.crop_length):
            return f"crop_length={crop_samples}"
        return f"crop_length={self.crop_length} ({crop_samples} samples)"

    def _check_crop(self, crop_samples, n_times, encoder_min_length, augmenter):
        name = self._crop_name(crop_samples)
        if crop_samples > n_times:
            raise ValueError(f"{name} is longer than the windows ({n_times} samples).")
        if crop_samples < encoder_min_length:
            raise ValueError(
                f"{name} is too short for the {self.encoder} encoder "
                f"(model_size={self.model_size!r}), which needs at least {encoder_min_length} samples."
            )
        augmenter.check_window(crop_samples, what=f"the pretraining crops (crop_length={self.crop_length})")


def _sample_windows(source, n, seed):
    """Up to ``n`` windows of ``source``, drawn without replacement with ``seed``, in order."""
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.choice(source.n_windows, size=min(n, source.n_windows), replace=False))
    return source.read(indices)
