"""Saving and loading a fitted :class:`~skseqclr.transformer.SeqCLRTransformer` (safetensors).

A weights file holds the encoder's and the projector's tensors, with JSON
metadata: the network's configuration, the parameters of the run and the
fitted values. Files are read without unpickling anything, and malformed or
non-finite files are refused with a ``ValueError`` naming the problem.
Files written before the transformer's settings were grouped into
:class:`~skseqclr.Preprocessing` and :class:`~skseqclr.Readout` (flat names
such as ``pooling`` or ``encoder_kwargs``) are read too, their settings
mapped onto today's parameters (:func:`upgrade_params`, defined in
:mod:`skseqclr._transformer_params`).

:class:`TransformerPersistence` gives the transformer its ``save``,
``load``, ``save_pretrained`` and ``from_pretrained`` methods.
"""

from __future__ import annotations

import json
import numbers
import os
import re
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from ._validation import HERTZ, POSITIVE_REAL, Interval, InvalidParameterError, Satisfies, is_positive_int, \
    validate_parameter_constraints
from ._transformer_params import LEGACY_PARAMS, make_network, network_config, options_from_params, upgrade_params
from ._version import __version__
from .options import Preprocessing, Readout
from .training.divergence import describe_names, nonfinite_tensors
from .training.pretrainer import resolve_precision, set_seed_for_init

_FORMAT = "skseqclr-encoder"


class TransformerPersistence:
    """``save``, ``load``, ``save_pretrained`` and ``from_pretrained`` of the transformer (a mixin)."""

    def save(self, path) -> Path:
        """Save encoder and projector weights with their configuration (safetensors).

        The file loads with :meth:`load` on any machine (CPU or GPU) and can
        initialise another transformer through
        ``checkpointing=Checkpointing(init_weights=path)``.

        Parameters
        ----------
        path : str or path
            The file to write; missing parent folders are created.

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        return save_transformer(self, path)

    def _portable_params(self):
        """The parameters a file records: all but the checkpoint settings (paths) and the device, with the
        preprocessing in effect (``preprocessing_``) and the readout as dicts (``load`` applies those of
        :data:`_MODEL_PARAMS` only)."""
        params = {k: v for k, v in self.get_params(deep=False).items() if k not in ("checkpointing", "device")}
        params["preprocessing"] = self.preprocessing_.get_params()
        params["readout"] = (Readout() if self.readout is None else self.readout).get_params()
        return params

    @classmethod
    def load(cls, path, **params):
        """A fitted transformer from a file written by :meth:`save`.

        A file carries the model, not the run: of the parameters recorded in
        it, only those that define the network and how windows are read and
        turned into features are applied (``encoder``, ``model_size``,
        ``sfreq``, ``ch_names``, ``precision``, the ``readout`` and the
        preprocessing's ``units``, ``scaling`` and ``resample_to``). Every
        other parameter (how it was trained, checkpoints, the device) takes
        its default, or the value given here. Malformed metadata (a missing
        entry, invalid JSON, a value of the wrong type, an unknown parameter)
        is refused with a ``ValueError`` naming the entry. Files written by
        earlier versions, with flat parameters such as ``pooling`` or
        ``encoder_kwargs``, are read too (:func:`skseqclr.persistence.upgrade_params`).

        Parameters
        ----------
        path : str or path
        **params
            Parameters to set, nested names included (e.g. ``device="cpu"``,
            ``readout__pooling="mean"``, ``n_epochs=20`` to pretrain further
            from these weights with ``fit``).

        Returns
        -------
        SeqCLRTransformer
            The fitted transformer, ready to ``transform``.
        """
        return load_transformer(cls, path, **params)

    def save_pretrained(self, save_directory) -> Path:
        """Save the fitted transformer in the layout of the Hugging Face Hub.

        Writes the files that huggingface_hub's ``PyTorchModelHubMixin`` (used
        by braindecode's models) writes: ``model.safetensors`` (the file
        :meth:`save` writes), ``config.json`` (the architecture, the
        parameters and the fitted values, the same content as the weights
        file's metadata, as readable JSON) and a short model card,
        ``README.md``. The directory can be uploaded to the Hub as it is (for
        example with ``huggingface_hub.upload_folder``) and loads with
        :meth:`from_pretrained`.

        Parameters
        ----------
        save_directory : str or path
            The directory to write; it is created if missing, and files of
            the same names in it are replaced.

        Returns
        -------
        pathlib.Path
            ``save_directory``.
        """
        return save_pretrained(self, save_directory)

    @classmethod
    def from_pretrained(cls, path_or_repo_id, **params):
        """A fitted transformer from a directory written by :meth:`save_pretrained`, or from the Hub.

        A local directory is read offline. Anything else is read as a Hugging
        Face Hub repository id (``"user/model"``) and downloaded with
        ``huggingface_hub.snapshot_download``, which needs the optional
        package ``huggingface_hub`` (``pip install skseqclr[hub]``).
        ``config.json`` is checked as :meth:`load` checks a file's metadata
        (directories written by earlier versions included): only the
        parameters that define the model are applied, malformed entries are
        refused with a ``ValueError`` naming the entry, and weights holding
        NaN or inf are refused. Nothing is unpickled.

        Parameters
        ----------
        path_or_repo_id : str or path
            A directory holding ``config.json`` and ``model.safetensors``, or
            a Hub repository id.
        **params
            Parameters to set, replacing the saved ones (e.g. ``device="cpu"``,
            ``readout__pooling="mean"``).

        Returns
        -------
        SeqCLRTransformer
            The fitted transformer, ready to ``transform``.
        """
        return load_pretrained(cls, path_or_repo_id, **params)


def save_transformer(self, path) -> Path:
    """Write the fitted transformer ``self`` to ``path``; see :meth:`SeqCLRTransformer.save`."""
    from safetensors.torch import save_file

    check_is_fitted(self, "encoder_")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {f"encoder.{k}": v.detach().cpu().contiguous() for k, v in self.encoder_.state_dict().items()}
    tensors.update({f"projector.{k}": v.detach().cpu().contiguous()
                    for k, v in self.projector_.state_dict().items()})
    save_file(tensors, str(path), metadata=_transformer_metadata(self))
    return path


def _transformer_metadata(self):
    """The metadata of a weights file (a dict of strings): what :func:`_read_metadata` checks."""
    return {
        "format": _FORMAT,
        "skseqclr_version": __version__,
        "encoder": self.encoder,
        "encoder_config": json.dumps(jsonable(network_config(self.encoder, self.model_size)[0])),
        "projector_config": json.dumps(jsonable(network_config(self.encoder, self.model_size)[1])),
        "params": json.dumps(jsonable(self._portable_params())),
        "fitted": json.dumps({
            "input_scale_": self.input_scale_, "sfreq_": self.sfreq_, "ch_names_": self.ch_names_,
            "n_channels_fit_": list(self.n_channels_fit_), "to_microvolts_": self.to_microvolts_,
            "n_features_in_": self.n_features_in_, "n_steps_": getattr(self, "n_steps_", 0),
            "history_": self.history_,
        }),
    }


def load_transformer(cls, path, **params):
    """A fitted ``cls`` from a file written by :func:`save_transformer`; see :meth:`SeqCLRTransformer.load`."""
    metadata, _ = _read_weights(path)
    return _fitted_from_metadata(cls, metadata, path, path, **params)


def _fitted_from_metadata(cls, metadata, path, weights, **params):
    """A fitted ``cls`` built from checked ``metadata`` (read from ``path``) and the weights file ``weights``."""
    model, fitted = _read_metadata(metadata, path, known=set(cls().get_params(deep=False)))
    try:
        cls(**model).validate()
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path}: the parameters in the metadata entry 'params' are invalid: {error}") from None
    estimator = cls(**model).set_params(**params)
    estimator.validate()
    with set_seed_for_init(0):
        network, encoder_config = make_network(estimator.encoder, estimator.model_size)
    load_weights_into(network, weights, estimator.encoder, encoder_config)
    network.eval()
    estimator.preprocessing_ = clone(estimator.preprocessing) if estimator.preprocessing is not None \
        else Preprocessing()
    estimator.encoder_, estimator.projector_ = network.encoder, network.projector
    estimator.input_scale_ = float(fitted["input_scale_"])
    estimator.sfreq_ = None if fitted["sfreq_"] is None else float(fitted["sfreq_"])
    estimator.ch_names_ = list(fitted["ch_names_"])
    estimator.n_channels_fit_ = tuple(int(n) for n in fitted["n_channels_fit_"])
    estimator.to_microvolts_ = float(fitted["to_microvolts_"])
    estimator.n_features_in_ = int(fitted["n_features_in_"])
    estimator.n_steps_ = int(fitted["n_steps_"])
    estimator.history_ = fitted["history_"]
    estimator.interrupted_ = False
    estimator.snapshots_ = {}
    estimator.precision_ = resolve_precision(estimator.precision, estimator._device())
    return estimator


#: The parameters a weights file sets on ``SeqCLRTransformer.load``: the network's architecture and how windows
#: are read, scaled and turned into features.
_MODEL_PARAMS = frozenset({"encoder", "model_size", "sfreq", "ch_names", "preprocessing", "readout", "precision"})
#: Parameters a file may record but ``load`` does not apply: how the encoder was trained and where (the run).
_RUN_PARAMS = frozenset({
    "amplitude_scale", "time_shift", "dc_shift", "zero_mask", "gaussian_noise", "bandstop",
    "augmentations_per_view", "recombination", "crop_length", "temperature", "n_epochs", "max_steps",
    "batch_size", "lr", "checkpointing", "device", "random_state", "verbose",
})

#: What each fitted value in a file's metadata entry 'fitted' may be.
_FITTED_CONSTRAINTS = {
    "input_scale_": [POSITIVE_REAL],
    "sfreq_": [None, HERTZ],
    "ch_names_": [Satisfies(lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(n, str) for n in v),
                            "a non-empty list of channel names")],
    "n_channels_fit_": [Satisfies(lambda v: isinstance(v, list) and len(v) > 0 and all(map(is_positive_int, v)),
                                  "a non-empty list of channel counts")],
    "to_microvolts_": [POSITIVE_REAL],
    "n_features_in_": [Interval(numbers.Integral, 1)],
    "n_steps_": [Interval(numbers.Integral, 0)],
    "history_": [Satisfies(lambda v: isinstance(v, list) and all(isinstance(entry, dict) for entry in v),
                           "a list of dicts, one per epoch")],
}


def _metadata_entry(metadata, key, path, kind=dict):
    """The JSON entry ``key`` of a weights file's metadata, or a ``ValueError`` naming it."""
    if key not in metadata:
        raise ValueError(f"{path}: the metadata has no entry {key!r}; the file was not written by "
                         "SeqCLRTransformer.save, or was altered since.")
    try:
        value = json.loads(metadata[key])
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: the metadata entry {key!r} is not valid JSON ({error}).") from None
    if not isinstance(value, kind):
        raise ValueError(f"{path}: the metadata entry {key!r} must be a JSON {kind.__name__}, "
                         f"got {type(value).__name__}.")
    return value


def _read_metadata(metadata, path, known):
    """The model parameters and the fitted values in a weights file's metadata, checked.

    ``known``: the parameter names of this version; a file may also hold any of
    :data:`_RUN_PARAMS`, which are recorded but not applied.
    """
    encoder = metadata.get("encoder")
    if not isinstance(encoder, str):
        raise ValueError(f"{path}: the metadata has no entry 'encoder' (the encoder's kind); the file was not "
                         "written by SeqCLRTransformer.save, or was altered since.")
    _metadata_entry(metadata, "encoder_config", path)
    saved = _metadata_entry(metadata, "params", path)
    unknown = sorted(set(saved) - _MODEL_PARAMS - _RUN_PARAMS - LEGACY_PARAMS - set(known))
    if unknown:
        raise ValueError(f"{path}: the metadata entry 'params' holds unknown parameter(s) {unknown}; "
                         "this version of skseqclr does not know them (a file of a newer version, or altered).")
    saved = upgrade_params(saved, path)
    model = options_from_params({name: _tuples(value) for name, value in saved.items() if name in _MODEL_PARAMS},
                               path)
    missing_model = sorted(name for name in model if name not in known)
    if missing_model:
        raise ValueError(f"{path}: the file's model needs parameter(s) {missing_model}, which this version of "
                         "skseqclr does not have.")
    fitted = _metadata_entry(metadata, "fitted", path)
    missing = [name for name in _FITTED_CONSTRAINTS if name not in fitted]
    if missing:
        raise ValueError(f"{path}: the metadata entry 'fitted' lacks {missing}; the file was not written by "
                         "SeqCLRTransformer.save, or was altered since.")
    try:
        validate_parameter_constraints(_FITTED_CONSTRAINTS, {k: fitted[k] for k in _FITTED_CONSTRAINTS})
    except InvalidParameterError as error:
        raise ValueError(f"{path}: the metadata entry 'fitted' is invalid: {error}") from None
    if len(fitted["ch_names_"]) not in fitted["n_channels_fit_"]:
        raise ValueError(f"{path}: the metadata entry 'fitted' is inconsistent: ch_names_ has "
                         f"{len(fitted['ch_names_'])} names, n_channels_fit_ is {fitted['n_channels_fit_']}.")
    return model, fitted


def jsonable(value):
    """``value`` with NumPy scalars, paths and tuples made JSON types (a RandomState becomes None), recursively."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.random.RandomState):
        return None
    return value


def _tuples(value):
    """JSON gives lists; parameters such as ranges and sizes are tuples."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _read_weights(path):
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No weights file at {path}.")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except Exception as error:  # safetensors raises its own error type for corrupt headers
        raise ValueError(f"{path} is not an skseqclr weights file (written by SeqCLRTransformer.save): {error}") from error
    if metadata.get("format") != _FORMAT:
        raise ValueError(f"{path} is not an skseqclr weights file (written by SeqCLRTransformer.save).")
    tensors = load_file(str(path))
    bad = nonfinite_tensors(tensors.items())
    if bad:
        raise ValueError(
            f"The weights in {path} are not finite: tensor(s) {describe_names(bad, limit=5)} hold NaN or inf values, so every feature "
            "computed with them would be NaN. The file was written by a pretraining run that diverged or was "
            "altered since; it is refused. Use weights saved before, or pretrain again."
        )
    return metadata, tensors


def load_weights_into(network, path, kind, config):
    """Load saved weights into ``network``, refusing a different architecture clearly."""
    metadata, tensors = _read_weights(path)
    saved_config = json.loads(metadata["encoder_config"])
    expected = jsonable(config)
    if metadata["encoder"] != kind or saved_config != expected:
        raise ValueError(
            f"The weights in {path} are for a {metadata['encoder']} encoder with sizes {saved_config}, "
            f"but this estimator builds a {kind} encoder with sizes {expected}; set encoder and model_size "
            "to match the saved encoder."
        )
    encoder_state = {k[len("encoder."):]: v for k, v in tensors.items() if k.startswith("encoder.")}
    network.encoder.load_state_dict(encoder_state)
    projector_state = {k[len("projector."):]: v for k, v in tensors.items() if k.startswith("projector.")}
    if projector_state:
        try:
            network.projector.load_state_dict(projector_state)
        except RuntimeError:
            warnings.warn(f"The projector in {path} has other sizes; it starts from random weights.")


# ------------------------------------------------ Hugging Face layout (save_pretrained / from_pretrained)
#: The files of a pretrained directory, as huggingface_hub's ``PyTorchModelHubMixin`` names them.
WEIGHTS_NAME, CONFIG_NAME, MODEL_CARD_NAME = "model.safetensors", "config.json", "README.md"
#: The metadata entries that hold JSON; ``config.json`` holds them as JSON objects, not strings.
_JSON_ENTRIES = ("encoder_config", "projector_config", "params", "fitted")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def save_pretrained(self, save_directory) -> Path:
    """Write ``self`` to ``save_directory``; see :meth:`SeqCLRTransformer.save_pretrained`."""
    check_is_fitted(self, "encoder_")
    directory = Path(save_directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"save_directory must be a directory, got the file {directory}.")
    save_transformer(self, directory / WEIGHTS_NAME)
    metadata = _transformer_metadata(self)
    config = {key: json.loads(value) if key in _JSON_ENTRIES else value for key, value in metadata.items()}
    (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (directory / MODEL_CARD_NAME).write_text(_model_card(self), encoding="utf-8")
    return directory


def load_pretrained(cls, path_or_repo_id, **params):
    """A fitted ``cls`` from a directory or Hub repository; see :meth:`SeqCLRTransformer.from_pretrained`."""
    directory = _pretrained_directory(path_or_repo_id)
    config_path, weights = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    for file in (config_path, weights):
        if not file.is_file():
            raise ValueError(f"{directory} has no {file.name}; a pretrained directory holds {CONFIG_NAME} and "
                             f"{WEIGHTS_NAME}, as written by SeqCLRTransformer.save_pretrained.")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{config_path} is not valid JSON ({error}).") from None
    if not isinstance(config, dict) or config.get("format") != _FORMAT:
        raise ValueError(f"{config_path} is not an skseqclr configuration (its entry 'format' must be "
                         f"{_FORMAT!r}); it was not written by SeqCLRTransformer.save_pretrained.")
    # Back to the form of a weights file's metadata, so that one function checks both.
    metadata = {key: json.dumps(value) if key in _JSON_ENTRIES else value for key, value in config.items()}
    return _fitted_from_metadata(cls, metadata, config_path, weights, **params)


def _pretrained_directory(path_or_repo_id):
    """The local directory of ``path_or_repo_id``, downloaded from the Hugging Face Hub if it is a repo id."""
    if not isinstance(path_or_repo_id, (str, os.PathLike)):
        raise TypeError("path_or_repo_id must be a directory (str or path) or a Hugging Face Hub repo id "
                        f"(str), got {type(path_or_repo_id).__name__}.")
    path = Path(path_or_repo_id)
    if path.is_dir():
        return path
    if path.exists():
        raise ValueError(f"{path} is a file, not a directory written by save_pretrained; "
                         "load a file written by save with SeqCLRTransformer.load.")
    if not isinstance(path_or_repo_id, str) or not _REPO_ID.match(path_or_repo_id):
        raise ValueError(f"No directory at {path} (and it is not a Hugging Face Hub repo id such as "
                         "'user/model'); give a directory written by SeqCLRTransformer.save_pretrained.")
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ImportError(f"{path_or_repo_id!r} is not a local directory, so it is read as a Hugging Face Hub "
                          "repo id, which needs the optional package huggingface_hub: "
                          "pip install skseqclr[hub]") from None
    return Path(snapshot_download(repo_id=path_or_repo_id,
                                  allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, MODEL_CARD_NAME]))


def _model_card(self):
    size = self.model_size if isinstance(self.model_size, str) else \
        f"{self.model_size.get('preset', 'paper')}, sizes changed"
    encoder = f"{self.encoder} encoder ({size})"
    sfreq = "an unstated sampling frequency" if self.sfreq_ is None else f"{self.sfreq_:g} Hz"
    return f"""---
library_name: skseqclr
tags:
- eeg
- self-supervised-learning
- seqclr
---

# SeqCLR {encoder}

A SeqCLR channel encoder pretrained with contrastive learning on EEG windows
(Mohsenvand et al., 2020), saved by skseqclr {__version__}. It was fitted at
{sfreq} on {len(self.ch_names_)} channel(s) and pretrained for {getattr(self, "n_steps_", 0)} step(s).

`{WEIGHTS_NAME}` holds the encoder and projector weights (safetensors); `{CONFIG_NAME}` holds
the architecture, the parameters that define the model and what `fit` learned.

## Loading

```python
from skseqclr import SeqCLRTransformer

seqclr = SeqCLRTransformer.from_pretrained("path/to/this/directory")  # or a Hub repo id
features = seqclr.transform(windows)  # windows: (n_windows, n_channels, n_times)
```

Loading from the Hugging Face Hub needs `pip install skseqclr[hub]`.
"""
