"""What each :class:`~skseqclr.transformer.SeqCLRTransformer` parameter may be, and the checks across them."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from ._validation import (DEVICE, HERTZ, NON_NEGATIVE_REAL, PATH, POSITIVE_REAL, RANDOM_STATE, VERBOSE, Flag,
                          InstanceOf, Interval, Options, Satisfies, check_device, is_non_negative_int,
                          validate_parameter_constraints)
from .augmentations import make_augmentations
from .nn.heads import PROJECTORS
from .pooling import POOLING_BANDS, check_pooling
from .recombination import check_feature_channels
from .scaling import SCALING_MODES


def _is_range_pair(value) -> bool:
    """A (low, high) pair of numbers (its values are checked by the augmentations: finite, ordered, ...)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return (isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2
            and all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in value))


_RANGE = Satisfies(_is_range_pair, "a (low, high) pair of numbers")
_SAMPLES_RANGE = Satisfies(_is_range_pair, "a (low, high) pair of whole numbers of samples")


def _is_channel_names(value) -> bool:
    return (isinstance(value, Sequence) or isinstance(value, np.ndarray)) and not isinstance(value, str) \
        and all(isinstance(name, str) for name in value)


def _is_name_or_names(value) -> bool:
    return isinstance(value, str) or (isinstance(value, Sequence) and all(isinstance(v, str) for v in value))


def _is_feature_channels(value) -> bool:
    return isinstance(value, str) or (isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, bytes))


def _is_snapshot_steps(value) -> bool:
    # a one-shot iterator would be used up by this check: a list, tuple, range or array is needed
    return iter(value) is not value and _check_snapshot_steps(value) is not None


#: What each parameter may be, checked by name at fit (:func:`skseqclr._validation.validate_parameter_constraints`);
#: what depends on several parameters is checked after, by :func:`check_transformer_params`.
PARAMETER_CONSTRAINTS: dict = {
    "encoder": [Options("conv", "recurrent")],
    "model_size": [Options("paper", "small")],
    "encoder_kwargs": [None, InstanceOf(Mapping, "a dict of encoder sizes (skseqclr.nn.encoders.ENCODER_SIZES)")],
    "projector": [Options(*PROJECTORS)],
    "projector_kwargs": [None, InstanceOf(Mapping, "a dict of projector sizes (skseqclr.nn.heads.HEAD_SIZES)")],
    "amplitude_scale": [_RANGE, None],
    "time_shift": [_SAMPLES_RANGE, Options("auto"), None],
    "dc_shift": [_RANGE, None],
    "zero_mask": [_SAMPLES_RANGE, Options("auto"), None],
    "gaussian_noise": [_RANGE, None],
    "bandstop": [_RANGE, None],
    "augmentations_per_view": [Interval(numbers.Integral, 1)],
    "recombination": [Flag(), Options("feature_channels")],
    "crop_length": [None, Interval(numbers.Integral, 1, description="a positive number of samples"),
                    Interval(numbers.Real, 0, 1, closed="neither",
                             description="a fraction of the window between 0 and 1")],
    "channels_per_window": [Interval(numbers.Integral, 1)],
    "group_batches": [Flag()],
    "scaling": [Options(*SCALING_MODES)],
    "units": [Options("auto", "V", "mV", "uV", "µV"),
              Interval(numbers.Real, 0, None, closed="neither", description="a positive, finite factor to µV")],
    "sfreq": [None, HERTZ],
    "ch_names": [Satisfies(_is_channel_names, "a list of channel names (str)"), None],
    "resample_to": [None, HERTZ],
    "temperature": [POSITIVE_REAL],
    "n_epochs": [Interval(numbers.Integral, 0)],
    "max_steps": [None, Interval(numbers.Integral, 0)],
    "snapshot_steps": [None, Satisfies(_is_snapshot_steps,
                                       "an iterable of step counts >= 0, e.g. range(0, 1001, 100)")],
    "batch_size": [Interval(numbers.Integral, 1)],
    "lr": [POSITIVE_REAL],
    "weight_decay": [NON_NEGATIVE_REAL],
    "lr_schedule": [Options("cosine", "constant")],
    "pooling": [Satisfies(_is_name_or_names, "a statistic's name or a tuple of them")],
    "log_power": [Flag()],
    "feature_channels": [Satisfies(_is_feature_channels, "the name of a set of channels or a sequence of "
                                                         "(a, b) channel pairs")],
    "feature_reference": [Flag()],
    "device": DEVICE,
    "precision": [Options("auto", "fp32", "bf16")],
    "compile": [Flag()],
    "num_workers": [Interval(numbers.Integral, 0)],
    "init_weights": [None, PATH],
    "checkpoint_dir": [None, PATH],
    "checkpoint_every": [None, Interval(numbers.Integral, 1)],
    "resume": [Flag()],
    "random_state": RANDOM_STATE,
    "verbose": VERBOSE,
}


def check_transformer_params(self):
    """Every parameter of the transformer ``self`` by name (the table above), then what depends on several.

    Sets ``self._snapshot_steps`` and ``self._pooling``, the checked forms of those parameters.
    """
    validate_parameter_constraints(self._parameter_constraints, self.get_params(deep=False),
                                   caller=type(self).__name__)
    if self.batch_size < 2:
        raise ValueError("batch_size must be at least 2: NT-Xent needs negatives.")
    if self.resume and self.checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir, where the checkpoint is.")
    if self.checkpoint_every is not None and self.checkpoint_dir is None:
        raise ValueError(f"checkpoint_every={self.checkpoint_every} needs checkpoint_dir, the folder to write "
                         "the checkpoints to; set it, or leave checkpoint_every=None.")
    if self.ch_names is not None:
        duplicated = sorted({name for name in self.ch_names if list(self.ch_names).count(name) > 1})
        if duplicated:
            raise ValueError(f"ch_names names {duplicated} more than once; every channel needs its own name.")
    self._snapshot_steps = _check_snapshot_steps(self.snapshot_steps)
    self._pooling = check_pooling(self.pooling)
    if self.projector == "pooled" and any(name in POOLING_BANDS for name in self._pooling):
        raise ValueError('projector="pooled" projects statistics over time; the band statistics of '
                         f"pooling={self.pooling!r} are for transform only: use the 'lstm' projector.")
    # the ranges themselves (finite, ordered, whole samples ...); "auto" is resolved for the data in fit
    make_augmentations(sfreq=None, n_times=None, **self._augmentation_ranges())
    check_feature_channels(self.feature_channels)
    self._encoder_config()
    self._projector_config()
    check_device(self.device)


def _check_snapshot_steps(snapshot_steps) -> tuple:
    """``snapshot_steps`` as a sorted tuple of distinct step counts >= 0 (empty for None)."""
    if snapshot_steps is None:
        return ()
    problem = ValueError("snapshot_steps must be None or an iterable of step counts >= 0, e.g. "
                         f"range(0, 1001, 100), got {snapshot_steps!r}.")
    if isinstance(snapshot_steps, (str, bytes, numbers.Number)):
        raise problem
    try:
        steps = list(snapshot_steps)
    except TypeError:
        raise problem from None
    if not all(is_non_negative_int(step) for step in steps):
        raise problem
    return tuple(sorted({int(step) for step in steps}))
