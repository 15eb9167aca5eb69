"""Stopping a training run whose loss or weights stop being finite (NaN or inf), with a likely cause."""

from __future__ import annotations

import torch

__all__ = ["TrainingDivergedError", "nonfinite_tensors"]

#: Scaled encoder inputs beyond this magnitude overflow float32 in the encoder (squares, sums of products);
#: scaled channels are normally of order 1.
_HUGE_INPUT = 1e15


class TrainingDivergedError(ValueError, FloatingPointError):
    """Training stopped because its loss or its weights stopped being finite (NaN or inf).

    Raised by :class:`Pretrainer` (so by ``SeqCLRTransformer.fit``) and by the
    classifiers' ``fit`` as soon as the loss or the weights are no longer
    finite, instead of finishing with a network whose features would all be
    NaN. The message names the step and the likely cause: a learning rate too
    large, a temperature too small, a weight decay that makes the weights
    grow, augmentation ranges or input units that push the encoder's input
    out of float32's range. Both a ``ValueError`` (the settings are at fault)
    and a ``FloatingPointError``.

    Parameters
    ----------
    message : str
    step : int or None
        See ``step`` below.

    Attributes
    ----------
    step : int or None
        The optimisation step (counted from 1) whose loss was not finite, or
        after which the weights were found not finite (epoch, for the
        classifiers' heads).
    """

    def __init__(self, message, step=None):
        super().__init__(message)
        self.step = step


def describe_names(names, limit=3) -> str:
    """The first ``limit`` of ``names``, comma-separated, then how many more there are (for error messages)."""
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def nonfinite_tensors(named_tensors) -> list:
    """Names of the floating-point tensors that hold NaN or inf.

    Parameters
    ----------
    named_tensors : iterable of (str, torch.Tensor)
        E.g. ``module.state_dict().items()``, all on one device.

    Returns
    -------
    list of str
        In the order given; empty when every tensor is finite. One reduction
        per tensor and one host-device synchronisation in all.
    """
    named = [(name, tensor.detach()) for name, tensor in named_tensors
             if isinstance(tensor, torch.Tensor) and (tensor.is_floating_point() or tensor.is_complex())]
    if not named:
        return []
    finite = torch.stack([torch.isfinite(tensor).all() for _, tensor in named])
    if bool(finite.all()):
        return []
    return [name for (name, _), ok in zip(named, finite.tolist()) if not ok]


class DivergenceChecks:
    """The checks of :class:`~skseqclr.training.pretrainer.Pretrainer` for a loss or weights that are not finite.

    A mixin: it reads the pretrainer's ``device``, ``step``, ``total_steps``, ``network``, ``views``, ``lr``,
    ``temperature``, ``weight_decay`` and ``check_each_step``.
    """

    def _watch_finiteness(self):
        """Start watching the losses of a run (from the current step) for NaN/inf."""
        self._each_step = self.device.type != "cuda" if self.check_each_step is None else bool(self.check_each_step)
        self._run_start = self.step
        self._losses_finite = torch.ones((), dtype=torch.bool, device=self.device)
        self._finite_steps = torch.zeros((), dtype=torch.int64, device=self.device)
        self._last_batch = None

    def _watch_loss(self, loss):
        """Check ``loss`` (every step; before the update, so the weights stay finite), or fold its finiteness
        into device-side flags read by :meth:`_check_finite` (no synchronisation)."""
        finite = torch.isfinite(loss.detach())
        if self._each_step:
            if not bool(finite):
                raise self._diverged(self.step + 1)
        else:
            self._losses_finite = self._losses_finite & finite
            self._finite_steps = self._finite_steps + self._losses_finite  # steps before the first non-finite one

    def _check_finite(self, weights=True):
        """Raise :class:`TrainingDivergedError` if a loss of this run, or (``weights``) a weight, is not finite.

        Reads flags on the device: call it where the loop synchronises anyway.
        """
        if not bool(self._losses_finite):
            raise self._diverged(self._run_start + int(self._finite_steps) + 1)
        if weights:
            bad = nonfinite_tensors(self.network.state_dict().items())
            if bad:
                raise self._diverged(self.step, bad)

    def _diverged(self, step, tensors=None) -> TrainingDivergedError:
        """The error for a loss that was not finite at ``step``, or ``tensors`` not finite after it."""
        if tensors:
            what = (f"the weights are not finite (NaN or inf) after step {step} of {self.total_steps} "
                    f"({describe_names(tensors)})")
        else:
            what = f"the loss was not finite (NaN or inf) at step {step} of {self.total_steps}"
        return TrainingDivergedError(
            f"Pretraining diverged: {what}. {self._likely_cause(step, tensors)} Other causes to check: the "
            f"learning rate (lr={self.lr:g}), the temperature (temperature={self.temperature:g}), the weight decay "
            f"(weight_decay={self.weight_decay:g}), the augmentation ranges and the input's units. Training "
            "stopped; no checkpoint or snapshot holds these weights.", step=step)

    def _likely_cause(self, step, tensors) -> str:
        views_peak, windows_peak = self._input_peaks()
        if views_peak is not None and not views_peak <= _HUGE_INPUT:
            enabled = ", ".join(f"{a.name}=({a.low:g}, {a.high:g})" for a in self.views.augmenter.augmentations)
            return (f"Likely cause: the augmented views of the last batch are not finite or far too large "
                    f"(largest |value| {views_peak:.3g} after scaling, where scaled channels are of order 1; the "
                    f"windows' largest |value| is {windows_peak:.3g} µV): the augmentation ranges "
                    f"({enabled or 'none enabled'}) or the input's units.")
        if step == self._run_start + 1 and not tensors:
            return (f"Likely cause: the temperature temperature={self.temperature:g} is too small (the loss was not "
                    "finite before any weight update, with finite inputs: similarities divided by it overflow "
                    "float32), or the initial weights (init_weights, or the checkpoint resumed from) are not finite.")
        if self.lr * self.weight_decay >= 1:
            return (f"Likely cause: the learning rate lr={self.lr:g} is too large for weight_decay="
                    f"{self.weight_decay:g} (or the weight decay too large): each step multiplies the weights by "
                    f"1 - lr * weight_decay = {1 - self.lr * self.weight_decay:g}, so they grow without bound; "
                    "lr * weight_decay must be far below 1.")
        return (f"Likely cause: the learning rate lr={self.lr:g} is too large (the weights grew without bound "
                f"after {step - self._run_start - 1} finite step(s)), or temperature={self.temperature:g} too small.")

    def _input_peaks(self):
        """Largest |value| of freshly augmented, scaled views of the last batch, and of its windows (µV)."""
        if self._last_batch is None:
            return None, None
        windows_uv, source_index = self._last_batch
        generator = torch.Generator(device=self.device)
        generator.manual_seed(0)
        try:
            with torch.no_grad():
                views = torch.cat(self.views(windows_uv, generator, source_index))
                return float(views.abs().max()), float(windows_uv.abs().max())
        except Exception:  # a diagnosis only: never hide the divergence behind another error
            return None, None
