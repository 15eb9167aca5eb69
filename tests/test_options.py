"""The transformer's settings as sub-estimators (Preprocessing, Readout, Checkpointing), ``model_size`` dicts,
``PAPER_SETTINGS``, and files written before the settings were grouped."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
import torch
from conftest import TINY
from safetensors.torch import save_file
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skseqclr import PAPER_RANGES, PAPER_SETTINGS, Checkpointing, Preprocessing, Readout, SeqCLRTransformer
from skseqclr.nn.encoders import ENCODER_SIZES
from skseqclr.nn.heads import HEAD_SIZES
from skseqclr.persistence import CONFIG_NAME, WEIGHTS_NAME


@pytest.fixture(scope="module")
def windows():
    return (20 * np.random.default_rng(0).standard_normal((16, 3, 128))).astype(np.float32)


def _seqclr(**params):
    return SeqCLRTransformer(**{**TINY, "sfreq": 128.0, "n_epochs": 0, "batch_size": 8, "random_state": 0,
                                **params})


def test_the_public_surface_has_at_most_25_parameters():
    assert len(inspect.signature(SeqCLRTransformer).parameters) <= 25
    assert set(SeqCLRTransformer().get_params(deep=False)) >= {"preprocessing", "readout", "checkpointing"}


@pytest.mark.parametrize("cls", [Preprocessing, Readout, Checkpointing])
def test_each_sub_estimator_has_a_constraint_per_parameter_and_clones(cls):
    assert set(cls._parameter_constraints) == set(cls().get_params())
    options = cls()
    assert clone(options).get_params() == options.get_params() and options.validate() is options


@pytest.mark.parametrize("options, error, words", [
    (Preprocessing(units="kV"), ValueError, ("Preprocessing", "units", "'uV'")),
    (Preprocessing(scaling=1), TypeError, ("scaling",)),
    (Preprocessing(resample_to=-1.0), ValueError, ("resample_to", "Hz")),
    (Preprocessing(num_workers=-1), ValueError, ("num_workers",)),
    (Readout(pooling="median"), ValueError, ("pooling", "median")),
    (Readout(feature_channels="bipolar"), ValueError, ("feature_channels",)),
    (Readout(feature_reference=1), TypeError, ("feature_reference", "True or False")),
    (Readout(log_power="yes"), TypeError, ("log_power",)),
    (Checkpointing(every=5), ValueError, ("every", "directory")),
    (Checkpointing(resume=True), ValueError, ("resume", "directory")),
    (Checkpointing(directory=3), TypeError, ("directory",)),
])
def test_sub_estimators_name_the_bad_parameter(options, error, words):
    with pytest.raises(error) as info:
        options.validate()
    for word in words:
        assert word in str(info.value), str(info.value)


def test_nested_names_work_on_a_default_transformer_without_sharing_state():
    seqclr = SeqCLRTransformer().set_params(readout__pooling="mean", checkpointing__directory="runs")
    assert seqclr.readout.pooling == "mean" and seqclr.checkpointing.directory == "runs"
    assert seqclr.readout.feature_channels == Readout().feature_channels  # the rest are the defaults
    assert SeqCLRTransformer().readout is None  # a fresh object each time, not a shared default
    assert seqclr.get_params()["readout__pooling"] == "mean"
    cloned = clone(seqclr)
    assert cloned.readout is not seqclr.readout and cloned.readout.pooling == "mean"


def test_grid_search_over_the_readouts_pooling(windows):
    y = np.arange(len(windows)) % 2
    pipe = Pipeline([("seqclr", _seqclr()), ("clf", LogisticRegression(max_iter=200))])
    search = GridSearchCV(pipe, {"seqclr__readout__pooling": ["mean", ("mean", "std")]}, cv=2).fit(windows, y)
    assert list(search.cv_results_["param_seqclr__readout__pooling"]) == ["mean", ("mean", "std")]
    pooling = search.best_params_["seqclr__readout__pooling"]
    best = search.best_estimator_.named_steps["seqclr"]
    n_statistics = 1 if isinstance(pooling, str) else len(pooling)
    assert best.readout.pooling == pooling and best.n_features_out_ == 3 * 4 * n_statistics
    assert pipe.named_steps["seqclr"].readout is None  # the template is left as it was


def test_the_readout_acts_at_transform_and_is_checked_there(windows):
    seqclr = _seqclr().fit(windows)
    assert seqclr.transform(windows).shape == (16, 3 * 4 * 3)
    assert seqclr.set_params(readout__pooling="mean").transform(windows).shape == (16, 3 * 4)
    with pytest.raises(ValueError, match="log_power"):
        seqclr.set_params(readout__log_power="yes").transform(windows)


def test_the_preprocessing_is_fixed_at_fit(windows):
    preprocessing = Preprocessing(units="uV")
    seqclr = _seqclr(preprocessing=preprocessing).fit(windows)
    assert seqclr.preprocessing_ is not preprocessing and seqclr.preprocessing_.units == "uV"
    before = seqclr.transform(windows)
    preprocessing.set_params(units="V")  # the parameter changes; the fitted transformer does not
    np.testing.assert_array_equal(seqclr.transform(windows), before)
    assert _seqclr().fit(windows).preprocessing_.get_params() == Preprocessing().get_params()


def test_a_model_size_dict_sets_single_sizes_of_encoder_and_projector(windows):
    seqclr = _seqclr(model_size={"preset": "small", "branch_channels": (4, 4, 2), "output_kernel": 4,
                                 "residual_kernel": 4, "n_residual": 1, "hidden_size": 8, "output_size": 6})
    seqclr.fit(windows)
    linear = [module for module in seqclr.projector_.modules() if isinstance(module, torch.nn.Linear)]
    assert linear[-1].out_features == 6 and linear[0].out_features == 8  # output_size, hidden_size
    conv = [module for module in seqclr.encoder_.modules() if isinstance(module, torch.nn.Conv1d)]
    assert sorted({c.out_channels for c in conv[:3]}) == [2, 4]  # branch_channels (4, 4, 2)
    preset = _seqclr(model_size={"preset": "small"}).fit(windows)
    assert sum(p.numel() for p in preset.encoder_.parameters()) == sum(
        p.numel() for p in _seqclr(model_size="small").fit(windows).encoder_.parameters())
    with pytest.raises(ValueError, match=r"unknown size\(s\) \['gru_sizes'\] for the conv encoder.*known"):
        _seqclr(model_size={"gru_sizes": (8, 4, 2)}).fit(windows)


def test_paper_settings_are_the_papers_configuration():
    seqclr = SeqCLRTransformer(**PAPER_SETTINGS, sfreq=200)
    assert seqclr.model_size == "paper" and seqclr.augmentations_per_view == 1 and seqclr.recombination is True
    assert seqclr.temperature == 0.1 and seqclr._augmentation_ranges() == dict(PAPER_RANGES)
    augmenter = seqclr._augmenter(200.0, 4000)  # the paper's 20-s windows at 200 Hz
    assert len(augmenter.augmentations) == 6 and augmenter.augmentations_per_view == 1
    assert ENCODER_SIZES["conv"]["paper"]["branch_kernels"] == (128, 64, 16)
    assert HEAD_SIZES["paper"]["lstm_sizes"] == (256, 128, 64)


# ---------------------------------------------------------------------------------- files of earlier versions
#: The metadata entry 'params' as skseqclr 0.1.0 wrote it, before the settings were grouped, for
#: ``SeqCLRTransformer(**TINY_then, sfreq=128, n_epochs=0, random_state=0, pooling=("mean", "logms"),
#: feature_channels="original", scaling="window", units="uV", log_power=True, group_batches=True,
#: weight_decay=1e-5)`` (verbatim from a file that version saved).
OLD_PARAMS = (
    '{"amplitude_scale": null, "augmentations_per_view": 2, "bandstop": null, "batch_size": 256, "ch_names": null, '
    '"channels_per_window": 4, "checkpoint_every": null, "compile": false, "crop_length": null, "dc_shift": [-10.0, '
    '10.0], "encoder": "conv", "encoder_kwargs": {"branch_kernels": [8, 4, 2], "branch_channels": [4, 4, 2], '
    '"n_residual": 1, "residual_kernel": 4, "output_kernel": 4}, "feature_channels": "original", '
    '"feature_reference": false, "gaussian_noise": [0.0, 0.2], "group_batches": true, "log_power": true, "lr": '
    '0.001, "lr_schedule": "cosine", "max_steps": null, "model_size": "small", "n_epochs": 0, "num_workers": 0, '
    '"pooling": ["mean", "logms"], "precision": "auto", "projector": "lstm", "projector_kwargs": {"lstm_sizes": '
    '[8, 4, 2], "hidden_size": 16, "output_size": 16}, "random_state": 0, "recombination": true, "resample_to": '
    'null, "scaling": "window", "sfreq": 128, "temperature": 0.1, "time_shift": "auto", "units": "uV", "verbose": '
    '0, "weight_decay": 1e-05, "zero_mask": "auto"}'
)
#: What those settings are today.
TODAY = dict(readout=Readout(pooling=("mean", "logms"), feature_channels="original", log_power=True),
             preprocessing=Preprocessing(scaling="window", units="uV"))


@pytest.fixture(scope="module")
def today(windows):
    """The transformer of :data:`OLD_PARAMS` built today: the same weights (same seed), the same settings."""
    return _seqclr(**TODAY, batch_size=256).fit(windows)


def _old_metadata(today):
    return {
        "format": "skseqclr-encoder", "skseqclr_version": "0.1.0", "encoder": "conv", "params": OLD_PARAMS,
        "encoder_config": json.dumps({"branch_kernels": [8, 4, 2], "branch_channels": [4, 4, 2], "n_residual": 1,
                                      "residual_kernel": 4, "output_kernel": 4}),
        "projector_config": json.dumps({"lstm_sizes": [8, 4, 2], "hidden_size": 16, "output_size": 16}),
        "fitted": json.dumps({"input_scale_": today.input_scale_, "sfreq_": 128.0, "ch_names_": today.ch_names_,
                              "n_channels_fit_": [3], "to_microvolts_": 1.0, "n_features_in_": 3, "n_steps_": 0,
                              "history_": []}),
    }


def _old_tensors(today):
    tensors = {f"encoder.{k}": v.contiguous() for k, v in today.encoder_.state_dict().items()}
    tensors.update({f"projector.{k}": v.contiguous() for k, v in today.projector_.state_dict().items()})
    return tensors


def test_load_reads_a_file_of_the_previous_version(today, windows, tmp_path):
    path = tmp_path / "old.safetensors"
    save_file(_old_tensors(today), str(path), metadata=_old_metadata(today))
    loaded = SeqCLRTransformer.load(path)
    assert loaded.readout.get_params() == TODAY["readout"].get_params()
    assert {k: loaded.preprocessing.get_params()[k] for k in ("units", "scaling", "resample_to")} == \
        {"units": "uV", "scaling": "window", "resample_to": None}
    assert loaded.model_size == TINY["model_size"]
    np.testing.assert_array_equal(loaded.transform(windows), today.transform(windows))
    # written again, it is a file of this version with the same model
    again = SeqCLRTransformer.load(loaded.save(tmp_path / "new.safetensors"))
    np.testing.assert_array_equal(again.transform(windows), today.transform(windows))


def test_from_pretrained_reads_a_directory_of_the_previous_version(today, windows, tmp_path):
    metadata = _old_metadata(today)
    config = {key: json.loads(value) if key in ("encoder_config", "projector_config", "params", "fitted")
              else value for key, value in metadata.items()}
    (tmp_path / CONFIG_NAME).write_text(json.dumps(config), encoding="utf-8")
    save_file(_old_tensors(today), str(tmp_path / WEIGHTS_NAME), metadata=metadata)
    loaded = SeqCLRTransformer.from_pretrained(tmp_path, readout__pooling="mean")
    assert loaded.readout.pooling == "mean" and loaded.readout.log_power is True
    np.testing.assert_array_equal(loaded.transform(windows),
                                  clone(today).set_params(readout__pooling="mean").fit(windows).transform(windows))


def test_a_file_mixing_both_versions_is_refused(today, tmp_path):
    metadata = _old_metadata(today)
    metadata["params"] = json.dumps({**json.loads(OLD_PARAMS), "readout": {"pooling": "mean"}})
    path = tmp_path / "mixed.safetensors"
    save_file(_old_tensors(today), str(path), metadata=metadata)
    with pytest.raises(ValueError, match="mixes parameters of this version"):
        SeqCLRTransformer.load(path)
