"""What each :class:`~skseqclr.transformer.SeqCLRTransformer` parameter may be, the checks across them, the
network a ``model_size`` builds, and how the flat parameters of earlier versions map onto today's."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from ._validation import (DEVICE, HERTZ, POSITIVE_REAL, RANDOM_STATE, VERBOSE, Flag, InstanceOf, Interval, Options,
                          Satisfies, check_device, is_non_negative_int, validate_parameter_constraints)
from .augmentations import make_augmentations
from .nn.encoders import ENCODER_SIZE_CONSTRAINTS, encoder_config, make_encoder
from .nn.heads import HEAD_SIZES, make_projector, projector_config
from .options import Checkpointing, Preprocessing, Readout


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


#: What each parameter may be, checked by name at fit (:func:`skseqclr._validation.validate_parameter_constraints`);
#: what depends on several parameters is checked after, by :func:`check_transformer_params`.
PARAMETER_CONSTRAINTS: dict = {
    "encoder": [Options("conv", "recurrent")],
    "model_size": [Options("paper", "small"),
                   InstanceOf(Mapping, "a dict of sizes with an optional 'preset' ('paper' or 'small')")],
    "amplitude_scale": [_RANGE, None],
    "time_shift": [_SAMPLES_RANGE, Options("auto"), None],
    "dc_shift": [_RANGE, None],
    "zero_mask": [_SAMPLES_RANGE, Options("auto"), None],
    "gaussian_noise": [_RANGE, None],
    "bandstop": [_RANGE, None],
    "augmentations_per_view": [Interval(numbers.Integral, 1)],
    "recombination": [Flag()],
    "crop_length": [None, Interval(numbers.Integral, 1, description="a positive number of samples"),
                    Interval(numbers.Real, 0, 1, closed="neither",
                             description="a fraction of the window between 0 and 1")],
    "temperature": [POSITIVE_REAL],
    "n_epochs": [Interval(numbers.Integral, 0)],
    "max_steps": [None, Interval(numbers.Integral, 0)],
    "batch_size": [Interval(numbers.Integral, 1)],
    "lr": [POSITIVE_REAL],
    "sfreq": [None, HERTZ],
    "ch_names": [Satisfies(_is_channel_names, "a list of channel names (str)"), None],
    "preprocessing": [None, InstanceOf(Preprocessing, "a skseqclr.Preprocessing")],
    "readout": [None, InstanceOf(Readout, "a skseqclr.Readout")],
    "checkpointing": [None, InstanceOf(Checkpointing, "a skseqclr.Checkpointing")],
    "device": DEVICE,
    "precision": [Options("auto", "fp32", "bf16")],
    "random_state": RANDOM_STATE,
    "verbose": VERBOSE,
}


def check_transformer_params(self):
    """Every parameter of the transformer ``self`` by name (the table above), then what depends on several.

    The sub-estimators (``preprocessing``, ``readout``, ``checkpointing``) are
    checked by their own constraints.
    """
    validate_parameter_constraints(self._parameter_constraints, self.get_params(deep=False),
                                   caller=type(self).__name__)
    if self.batch_size < 2:
        raise ValueError("batch_size must be at least 2: NT-Xent needs negatives.")
    if self.ch_names is not None:
        duplicated = sorted({name for name in self.ch_names if list(self.ch_names).count(name) > 1})
        if duplicated:
            raise ValueError(f"ch_names names {duplicated} more than once; every channel needs its own name.")
    for options in (self.preprocessing, self.readout, self.checkpointing):
        if options is not None:
            options.validate()
    # the ranges themselves (finite, ordered, whole samples ...); "auto" is resolved for the data in fit
    make_augmentations(sfreq=None, n_times=None, **self._augmentation_ranges())
    network_config(self.encoder, self.model_size)
    check_device(self.device)


def split_model_size(encoder, model_size):
    """``model_size`` as ``(preset, encoder sizes, projector sizes)``.

    Parameters
    ----------
    encoder : {"conv", "recurrent"}
    model_size : {"paper", "small"} or dict
        A preset, or a dict of sizes: ``"preset"`` (default ``"paper"``)
        picks the base sizes, every other key replaces one size of the
        encoder (:data:`skseqclr.nn.encoders.ENCODER_SIZES`, and
        ``n_outputs``) or of the projector (:data:`skseqclr.nn.heads.HEAD_SIZES`).

    Raises
    ------
    ValueError
        For a key that is no size of ``encoder`` or of the projector, listing the known ones.
    """
    if isinstance(model_size, str):
        return model_size, {}, {}
    sizes = dict(model_size)
    preset = sizes.pop("preset", "paper")
    encoder_keys = set(ENCODER_SIZE_CONSTRAINTS.get(encoder, {}))
    projector_keys = set(HEAD_SIZES["paper"])
    unknown = sorted(set(sizes) - encoder_keys - projector_keys, key=str)
    if unknown:
        known = ["preset"] + sorted(encoder_keys) + sorted(projector_keys)
        raise ValueError(f"model_size holds unknown size(s) {unknown} for the {encoder} encoder and its "
                         f"projector; known: {known}.")
    encoder_sizes = {k: v for k, v in sizes.items() if k in encoder_keys}
    projector_sizes = {k: v for k, v in sizes.items() if k in projector_keys}
    return preset, encoder_sizes, projector_sizes


def network_config(encoder, model_size):
    """The checked keyword arguments of the encoder and of the (BiLSTM) projector, as two dicts."""
    preset, encoder_sizes, projector_sizes = split_model_size(encoder, model_size)
    return encoder_config(encoder, preset, **encoder_sizes), projector_config("lstm", preset, **projector_sizes)


def make_network(encoder, model_size):
    """A new encoder and BiLSTM projector, as a :class:`~skseqclr.training.pretrainer.SeqCLRNetwork`.

    Returns the network and the encoder's configuration (what a weights file records).
    """
    from .training.pretrainer import SeqCLRNetwork

    preset, encoder_sizes, projector_sizes = split_model_size(encoder, model_size)
    network = make_encoder(encoder, preset, **encoder_sizes)
    projector = make_projector("lstm", network.n_outputs, **projector_config("lstm", preset, **projector_sizes))
    return SeqCLRNetwork(network, projector), encoder_config(encoder, preset, **encoder_sizes)


def check_snapshot_steps(snapshot_steps) -> tuple:
    """``snapshot_steps`` as a sorted tuple of distinct step counts >= 0 (empty for None).

    A one-shot iterator is read once; a string, a number or anything holding
    other than whole numbers >= 0 is refused with a ``ValueError``.
    """
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


#: Flat parameters of files written before the settings were grouped, by where their settings went
#: (:func:`upgrade_params`); those of ``_LEGACY_RUN`` were run settings, or options since removed.
_LEGACY_READOUT = ("pooling", "feature_channels", "feature_reference", "log_power")
_LEGACY_PREPROCESSING = ("units", "scaling", "resample_to")
_LEGACY_SIZES = ("encoder_kwargs", "projector_kwargs")
_LEGACY_RUN = ("projector", "channels_per_window", "group_batches", "snapshot_steps", "weight_decay",
               "lr_schedule", "compile", "num_workers", "init_weights", "checkpoint_dir", "checkpoint_every",
               "resume")
LEGACY_PARAMS = frozenset(_LEGACY_READOUT + _LEGACY_PREPROCESSING + _LEGACY_SIZES + _LEGACY_RUN)


def upgrade_params(saved, path="the file"):
    """The parameters recorded by a file of an earlier version, mapped onto today's.

    ``pooling``, ``feature_channels``, ``feature_reference`` and ``log_power``
    become a ``readout`` dict, ``units``, ``scaling`` and ``resample_to`` a
    ``preprocessing`` dict, ``encoder_kwargs`` and ``projector_kwargs`` a
    ``model_size`` dict (with the file's preset as ``"preset"``); the others
    (run settings and removed options) are dropped. Files of this version
    are returned as they are.

    Parameters
    ----------
    saved : dict
        The metadata entry ``params`` of a weights file, as read from JSON.
    path : str or path
        The file, for the messages.

    Returns
    -------
    dict
    """
    legacy = sorted(LEGACY_PARAMS & set(saved))
    if not legacy:
        return dict(saved)
    mixed = sorted({"preprocessing", "readout"} & set(saved))
    if mixed:
        raise ValueError(f"{path}: the metadata entry 'params' mixes parameters of this version ({mixed}) with "
                         f"those of an earlier one ({legacy}); the file was altered.")
    params = {name: value for name, value in saved.items() if name not in LEGACY_PARAMS}
    for group, names in (("readout", _LEGACY_READOUT), ("preprocessing", _LEGACY_PREPROCESSING)):
        settings = {name: saved[name] for name in names if name in saved}
        if settings:
            params[group] = settings
    sizes = {}
    for name in _LEGACY_SIZES:
        value = saved.get(name)
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"{path}: the metadata entry 'params' holds {name}={value!r}; it must be a JSON "
                             "object of sizes or null.")
        sizes.update(value or {})
    if sizes:
        params["model_size"] = {"preset": saved.get("model_size", "paper"), **sizes}
    return params


def options_from_params(model, path):
    """``model``'s ``preprocessing`` and ``readout`` dicts as :class:`Preprocessing` and :class:`Readout`."""
    for name, options_class in (("preprocessing", Preprocessing), ("readout", Readout)):
        if name not in model:
            continue
        settings = model[name]
        if not isinstance(settings, dict):
            raise ValueError(f"{path}: the metadata entry 'params' holds {name}={settings!r}; it must be a JSON "
                             f"object of {options_class.__name__} parameters.")
        if name == "preprocessing":
            settings = {key: value for key, value in settings.items() if key != "num_workers"}
        unknown = sorted(set(settings) - set(options_class().get_params()))
        if unknown:
            raise ValueError(f"{path}: the metadata entry 'params' holds unknown {options_class.__name__} "
                             f"parameter(s) {unknown}.")
        model[name] = options_class(**settings)
    return model
