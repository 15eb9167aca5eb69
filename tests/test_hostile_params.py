"""Hostile parameters and hostile weights files: every parameter is checked by name at fit, and a file
carries the model, not the run.

Each table row is one input, the exception it must raise and words its message must contain (the
parameter's name, and for most rows a fragment of the allowed values).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from conftest import TINY
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from sklearn.base import clone

from skseqclr import Checkpointing, Preprocessing, Readout, SeqCLRClassifier, SeqCLRTransformer
from skseqclr.classifier import LogSoftmaxClassifier

NAN, INF = float("nan"), float("inf")
SFREQ = 100.0
#: Stands for a fresh folder of the test (a checkpoint directory).
FOLDER = "<folder>"


@pytest.fixture(scope="module")
def windows():
    return np.random.default_rng(0).normal(scale=20.0, size=(12, 3, 160)).astype(np.float32)


@pytest.fixture(scope="module")
def labels():
    return np.arange(12) % 2


@pytest.fixture(scope="module")
def pretrained(windows):
    return SeqCLRTransformer(**TINY, sfreq=SFREQ, n_epochs=0, random_state=0).fit(windows)


def _resolve(params, tmp_path):
    params = {k: (tmp_path if v is FOLDER else v) for k, v in params.items()}
    if isinstance(params.get("checkpointing"), Checkpointing) and params["checkpointing"].directory is FOLDER:
        params["checkpointing"] = clone(params["checkpointing"]).set_params(directory=tmp_path)
    return params


def _check_message(info, words):
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


@pytest.fixture
def no_cuda(monkeypatch):
    """A machine without a CUDA device, whatever this one has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


# --------------------------------------------------------------------------------------- SeqCLRTransformer
TRANSFORMER_CASES = [
    # numbers out of range, or not finite
    (dict(lr=INF), ValueError, ("lr", "finite")),
    (dict(lr=NAN), ValueError, ("lr",)),
    (dict(lr=0.0), ValueError, ("lr", "> 0")),
    (dict(lr="0.1"), TypeError, ("lr",)),
    (dict(lr=True), TypeError, ("lr",)),
    (dict(temperature=INF), ValueError, ("temperature", "finite")),
    (dict(temperature=NAN), ValueError, ("temperature",)),
    (dict(temperature=-1.0), ValueError, ("temperature",)),
    (dict(sfreq=INF), ValueError, ("sfreq", "Hz")),
    (dict(sfreq=NAN), ValueError, ("sfreq",)),
    (dict(sfreq=0), ValueError, ("sfreq",)),
    (dict(sfreq="100"), TypeError, ("sfreq",)),
    (dict(preprocessing=Preprocessing(resample_to=INF)), ValueError, ("resample_to",)),
    (dict(preprocessing=Preprocessing(units=-1.0)), ValueError, ("units",)),
    (dict(preprocessing=Preprocessing(units=INF)), ValueError, ("units",)),
    (dict(preprocessing=Preprocessing(units="kV")), ValueError, ("units", "'uV'")),
    # integers
    (dict(n_epochs=1.5), TypeError, ("n_epochs", "integer")),
    (dict(max_steps=-1), ValueError, ("max_steps",)),
    (dict(batch_size=0), ValueError, ("batch_size",)),
    (dict(batch_size=1), ValueError, ("batch_size", "at least 2")),
    (dict(augmentations_per_view=0), ValueError, ("augmentations_per_view",)),
    (dict(augmentations_per_view="2"), TypeError, ("augmentations_per_view",)),
    (dict(preprocessing=Preprocessing(num_workers=-1)), ValueError, ("num_workers", "non-negative integer")),
    (dict(preprocessing=Preprocessing(num_workers=1.5)), TypeError, ("num_workers",)),
    (dict(verbose="yes"), TypeError, ("verbose",)),
    (dict(verbose=-1), ValueError, ("verbose",)),
    (dict(random_state=-1), ValueError, ("random_state",)),
    (dict(random_state="seed"), TypeError, ("random_state",)),
    (dict(random_state=1.5), TypeError, ("random_state",)),
    (dict(random_state=np.random.default_rng(0)), TypeError, ("random_state", "RandomState")),
    # checkpoints
    (dict(checkpointing=Checkpointing(every=0, directory=FOLDER)), ValueError, ("every", "Checkpointing")),
    (dict(checkpointing=Checkpointing(every=-5, directory=FOLDER)), ValueError, ("every",)),
    (dict(checkpointing=Checkpointing(every=2.5, directory=FOLDER)), TypeError, ("every",)),
    (dict(checkpointing=Checkpointing(every=5)), ValueError, ("every", "directory")),
    (dict(checkpointing=Checkpointing(resume=True)), ValueError, ("resume", "directory")),
    (dict(checkpointing=Checkpointing(resume="yes", directory=FOLDER)), TypeError, ("resume", "True or False")),
    (dict(checkpointing=Checkpointing(directory=42)), TypeError, ("directory",)),
    (dict(checkpointing=Checkpointing(init_weights=42)), TypeError, ("init_weights",)),
    # sizes in a model_size dict
    (dict(model_size={**TINY["model_size"], "n_residual": -1}), ValueError, ("n_residual",)),
    (dict(model_size={**TINY["model_size"], "branch_channels": (0, 4, 2)}), ValueError,
     ("branch_channels", "positive")),
    (dict(model_size={**TINY["model_size"], "output_kernel": 0}), ValueError, ("output_kernel",)),
    (dict(model_size={**TINY["model_size"], "residual_kernel": 2.5}), ValueError, ("residual_kernel",)),
    (dict(model_size={**TINY["model_size"], "branch_kernels": (8, 4)}), ValueError, ("branch_kernels",)),
    (dict(model_size={**TINY["model_size"], "n_outputs": 0}), ValueError, ("n_outputs",)),
    (dict(model_size={"kernel": 3}), ValueError, ("kernel", "known")),
    (dict(model_size=["small"]), TypeError, ("model_size", "dict")),
    (dict(model_size={**TINY["model_size"], "output_size": 0}), ValueError, ("output_size",)),
    (dict(model_size={**TINY["model_size"], "hidden_size": -1}), ValueError, ("hidden_size",)),
    (dict(model_size={**TINY["model_size"], "lstm_sizes": (8, 4)}), ValueError, ("lstm_sizes",)),
    (dict(model_size={"width": 3}), ValueError, ("width", "known")),
    (dict(model_size={"preset": "huge"}), ValueError, ("model_size", "'small'")),
    (dict(model_size={"preset": "small", "gru_sizes": (8, 4, 2)}), ValueError, ("gru_sizes", "conv")),
    # choices
    (dict(device="tpu"), ValueError, ("device", "'cpu'")),
    (dict(device="cuda:x"), ValueError, ("device",)),
    (dict(device=3), TypeError, ("device",)),
    (dict(encoder="lstm"), ValueError, ("encoder", "'conv'")),
    (dict(model_size="huge"), ValueError, ("model_size", "'small'")),
    (dict(preprocessing=Preprocessing(scaling="robust")), ValueError, ("scaling", "'global'")),
    (dict(precision="fp16"), ValueError, ("precision", "'bf16'")),
    (dict(recombination="neighbours"), ValueError, ("recombination", "True or False")),
    (dict(recombination="feature_channels"), ValueError, ("recombination", "True or False")),
    (dict(readout=Readout(log_power=1)), TypeError, ("log_power", "True or False")),
    (dict(readout=Readout(feature_reference="no")), TypeError, ("feature_reference", "True or False")),
    # the sub-estimators themselves
    (dict(readout="mean"), TypeError, ("readout", "Readout")),
    (dict(preprocessing={"units": "uV"}), TypeError, ("preprocessing", "Preprocessing")),
    (dict(checkpointing=FOLDER), TypeError, ("checkpointing", "Checkpointing")),
    (dict(readout=Preprocessing()), TypeError, ("readout", "Readout")),
    # augmentation ranges
    (dict(time_shift="bogus"), ValueError, ("time_shift", "'auto'")),
    (dict(zero_mask="big"), ValueError, ("zero_mask", "'auto'")),
    (dict(time_shift=(-INF, 5)), ValueError, ("time_shift", "finite")),
    (dict(dc_shift=(NAN, 1.0)), ValueError, ("dc_shift", "finite")),
    (dict(gaussian_noise=(0.0, INF)), ValueError, ("gaussian_noise", "finite")),
    (dict(amplitude_scale=(0.0, 2.0)), ValueError, ("amplitude_scale",)),
    (dict(time_shift=5), TypeError, ("time_shift", "(low, high)")),
    # channels, readout, crops
    (dict(ch_names=["Cz", "Cz", "Pz"]), ValueError, ("ch_names", "Cz")),
    (dict(ch_names="Cz"), TypeError, ("ch_names",)),
    (dict(ch_names=["Cz", 3, "Pz"]), TypeError, ("ch_names",)),
    (dict(readout=Readout(pooling=42)), TypeError, ("pooling",)),
    (dict(readout=Readout(feature_channels=42)), TypeError, ("feature_channels",)),
    (dict(crop_length=-1), ValueError, ("crop_length",)),
]


def _case_id(case):
    params = case[0]
    return "-".join(f"{k}={v!r}"[:40] for k, v in params.items())


@pytest.mark.parametrize("params, error, words", TRANSFORMER_CASES, ids=[_case_id(c) for c in TRANSFORMER_CASES])
def test_transformer_refuses_a_bad_parameter_at_fit(params, error, words, windows, tmp_path):
    estimator = SeqCLRTransformer(**{**TINY, "sfreq": SFREQ, "n_epochs": 1, "max_steps": 1, "batch_size": 8,
                                     "random_state": 0, **_resolve(params, tmp_path)})
    with pytest.raises(error) as info:
        estimator.fit(windows)
    _check_message(info, words)


def test_transformer_refuses_cuda_without_a_gpu(windows, no_cuda):
    for device in ("cuda", "cuda:0"):
        with pytest.raises(ValueError, match="no CUDA device is available"):
            SeqCLRTransformer(**TINY, sfreq=SFREQ, n_epochs=1, max_steps=1, device=device).fit(windows)


def test_transformer_refuses_a_gpu_index_past_the_last(windows, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"device='cuda:3'.*1 CUDA device"):
        SeqCLRTransformer(**TINY, sfreq=SFREQ, n_epochs=1, max_steps=1, device="cuda:3").fit(windows)


@pytest.mark.parametrize("cls", [SeqCLRTransformer, SeqCLRClassifier, LogSoftmaxClassifier])
def test_every_parameter_has_a_constraint(cls):
    assert set(cls._parameter_constraints) == set(cls().get_params(deep=False))


def test_parameters_a_user_may_write_in_other_ways_are_accepted(windows, tmp_path):
    """numpy scalars, paths, RandomState, verbose=True: valid values are not refused by the table."""
    estimator = SeqCLRTransformer(
        **TINY, sfreq=np.float32(SFREQ), n_epochs=np.int64(1), max_steps=1, batch_size=np.int32(8),
        lr=np.float64(1e-3), temperature=1, random_state=np.random.RandomState(0), verbose=False,
        checkpointing=Checkpointing(directory=str(tmp_path), every=1, resume=np.bool_(False)),
        preprocessing=Preprocessing(units=1.0, num_workers=0), readout=Readout(log_power=np.bool_(False)),
        ch_names=("a", "b", "c"), device="cpu", crop_length=0.5,
    )
    assert estimator.fit(windows).n_steps_ == 1


# --------------------------------------------------------------------------------------- SeqCLRClassifier
CLASSIFIER_CASES = [
    (dict(n_epochs=0), ValueError, ("n_epochs",)),
    (dict(n_epochs=1.5), TypeError, ("n_epochs", "integer")),
    (dict(n_epochs=True), TypeError, ("n_epochs",)),
    (dict(batch_size=0), ValueError, ("batch_size",)),
    (dict(lr=INF), ValueError, ("lr", "finite")),
    (dict(lr=NAN), ValueError, ("lr",)),
    (dict(lr="x"), TypeError, ("lr",)),
    (dict(encoder_lr=INF), ValueError, ("encoder_lr",)),
    (dict(encoder_lr=-1.0), ValueError, ("encoder_lr",)),
    (dict(weight_decay=NAN), ValueError, ("weight_decay",)),
    (dict(weight_decay=INF), ValueError, ("weight_decay",)),
    (dict(weight_decay="x"), TypeError, ("weight_decay",)),
    (dict(dropout=1.0), ValueError, ("dropout",)),
    (dict(dropout=NAN), ValueError, ("dropout",)),
    (dict(dropout=-0.1), ValueError, ("dropout",)),
    (dict(validation_fraction=0.0), ValueError, ("validation_fraction",)),
    (dict(validation_fraction=NAN), ValueError, ("validation_fraction",)),
    (dict(patience=0), ValueError, ("patience",)),
    (dict(lstm_sizes=(4, 4)), ValueError, ("lstm_sizes", "3")),
    (dict(lstm_sizes=(4, 0, 4)), ValueError, ("lstm_sizes",)),
    (dict(lstm_sizes="abc"), TypeError, ("lstm_sizes",)),
    (dict(lstm_sizes=4), TypeError, ("lstm_sizes",)),
    (dict(hidden_size=0), ValueError, ("hidden_size",)),
    (dict(hidden_size=2.5), TypeError, ("hidden_size",)),
    (dict(class_weight="bogus"), ValueError, ("class_weight", "'balanced'")),
    (dict(class_weight={0: NAN}), ValueError, ("class_weight",)),
    (dict(class_weight={0: -1.0}), ValueError, ("class_weight",)),
    (dict(cache_encoded="sometimes"), ValueError, ("cache_encoded", "'auto'")),
    (dict(sfreq=INF), ValueError, ("sfreq",)),
    (dict(sfreq=NAN), ValueError, ("sfreq",)),
    (dict(device="tpu"), ValueError, ("device", "'cpu'")),
    (dict(precision="fp16"), ValueError, ("precision",)),
    (dict(num_workers=-1), ValueError, ("num_workers",)),
    (dict(random_state=-1), ValueError, ("random_state",)),
    (dict(verbose="yes"), TypeError, ("verbose",)),
    (dict(finetune="yes"), TypeError, ("finetune", "True or False")),
    (dict(pretrained=42), TypeError, ("pretrained",)),
]


@pytest.mark.parametrize("params, error, words", CLASSIFIER_CASES, ids=[_case_id(c) for c in CLASSIFIER_CASES])
def test_classifier_refuses_a_bad_parameter_at_fit(params, error, words, windows, labels, pretrained):
    classifier = SeqCLRClassifier(**{"pretrained": pretrained, "n_epochs": 1, "lstm_sizes": (2, 2, 2),
                                     "hidden_size": 4, "random_state": 0, **params})
    with pytest.raises(error) as info:
        classifier.fit(windows, labels)
    _check_message(info, words)


def test_classifier_refuses_cuda_without_a_gpu(windows, labels, pretrained, no_cuda):
    with pytest.raises(ValueError, match="no CUDA device is available"):
        SeqCLRClassifier(pretrained=pretrained, n_epochs=1, device="cuda").fit(windows, labels)


LOGSOFTMAX_CASES = [
    (dict(hidden_layer_sizes=(0,)), ValueError, ("hidden_layer_sizes",)),
    (dict(hidden_layer_sizes=5), TypeError, ("hidden_layer_sizes",)),
    (dict(lr=INF), ValueError, ("lr",)),
    (dict(weight_decay=NAN), ValueError, ("weight_decay",)),
    (dict(device="tpu"), ValueError, ("device",)),
    (dict(verbose="yes"), TypeError, ("verbose",)),
]


@pytest.mark.parametrize("params, error, words", LOGSOFTMAX_CASES, ids=[_case_id(c) for c in LOGSOFTMAX_CASES])
def test_logsoftmax_classifier_refuses_a_bad_parameter_at_fit(params, error, words, labels):
    features = np.random.default_rng(0).normal(size=(12, 5)).astype(np.float32)
    with pytest.raises(error) as info:
        LogSoftmaxClassifier(n_epochs=1, **params).fit(features, labels)
    _check_message(info, words)


# ------------------------------------------------------------------------------------------- weights files
@pytest.fixture(scope="module")
def saved(windows, tmp_path_factory):
    """A file written by save(), its metadata and tensors, and the estimator that wrote it."""
    estimator = SeqCLRTransformer(**TINY, sfreq=SFREQ, n_epochs=1, max_steps=1, batch_size=8, random_state=0,
                                  readout=Readout(pooling=("mean", "std"), feature_channels="original"), lr=5e-3)
    path = estimator.fit(windows).save(tmp_path_factory.mktemp("saved") / "encoder.safetensors")
    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata())
    return path, metadata, load_file(str(path)), estimator


def _edit(metadata, key, change):
    """Apply ``change`` to the JSON object under ``key`` (a dict, changed in place)."""
    value = json.loads(metadata[key])
    change(value)
    metadata[key] = json.dumps(value)


def _rewritten(saved, tmp_path, change):
    path, metadata, tensors, _ = saved
    metadata = dict(metadata)
    change(metadata)
    out = tmp_path / "edited.safetensors"
    save_file(tensors, str(out), metadata=metadata)
    return out


METADATA_CASES = [
    ("params missing", lambda m: m.pop("params"), ("'params'",)),
    ("params not JSON", lambda m: m.update(params="{not json"), ("'params'", "JSON")),
    ("params a list", lambda m: m.update(params="[1, 2]"), ("'params'",)),
    ("unknown parameter", lambda m: _edit(m, "params", lambda p: p.update(evil_option=1)), ("evil_option",)),
    ("encoder of a wrong type", lambda m: _edit(m, "params", lambda p: p.update(encoder=5)), ("encoder",)),
    ("sfreq a string", lambda m: _edit(m, "params", lambda p: p.update(sfreq="fast")), ("sfreq",)),
    ("pooling a number", lambda m: _edit(m, "params", lambda p: p["readout"].update(pooling=42)), ("pooling",)),
    ("readout a number", lambda m: _edit(m, "params", lambda p: p.update(readout=5)), ("readout",)),
    ("unknown readout parameter", lambda m: _edit(m, "params", lambda p: p["readout"].update(evil=1)), ("evil",)),
    ("preprocessing a list", lambda m: _edit(m, "params", lambda p: p.update(preprocessing=[1])),
     ("preprocessing",)),
    ("an earlier version's pooling a number", lambda m: _edit(m, "params", lambda p: p.update(pooling=42)),
     ("pooling",)),
    ("an earlier version's encoder_kwargs a string",
     lambda m: _edit(m, "params", lambda p: p.update(encoder_kwargs="big")), ("encoder_kwargs",)),
    ("duplicate ch_names", lambda m: _edit(m, "params", lambda p: p.update(ch_names=["a", "a", "b"])),
     ("ch_names",)),
    ("negative encoder size",
     lambda m: _edit(m, "params", lambda p: p["model_size"].update(n_residual=-1)), ("n_residual",)),
    ("fitted missing", lambda m: m.pop("fitted"), ("'fitted'",)),
    ("fitted not JSON", lambda m: m.update(fitted="nope{"), ("'fitted'", "JSON")),
    ("input_scale_ missing", lambda m: _edit(m, "fitted", lambda f: f.pop("input_scale_")), ("input_scale_",)),
    ("input_scale_ a string", lambda m: _edit(m, "fitted", lambda f: f.update(input_scale_="big")),
     ("input_scale_",)),
    ("input_scale_ NaN", lambda m: _edit(m, "fitted", lambda f: f.update(input_scale_=NAN)), ("input_scale_",)),
    ("n_channels_fit_ a string", lambda m: _edit(m, "fitted", lambda f: f.update(n_channels_fit_="abc")),
     ("n_channels_fit_",)),
    ("ch_names_ a number", lambda m: _edit(m, "fitted", lambda f: f.update(ch_names_=3)), ("ch_names_",)),
    ("sfreq_ negative", lambda m: _edit(m, "fitted", lambda f: f.update(sfreq_=-5)), ("sfreq_",)),
    ("n_steps_ negative", lambda m: _edit(m, "fitted", lambda f: f.update(n_steps_=-1)), ("n_steps_",)),
    ("history_ a number", lambda m: _edit(m, "fitted", lambda f: f.update(history_=5)), ("history_",)),
    ("encoder_config missing", lambda m: m.pop("encoder_config"), ("'encoder_config'",)),
    ("encoder_config not JSON", lambda m: m.update(encoder_config="{"), ("'encoder_config'",)),
    ("encoder missing", lambda m: m.pop("encoder"), ("'encoder'",)),
]


@pytest.mark.parametrize("name, change, words", METADATA_CASES, ids=[case[0] for case in METADATA_CASES])
def test_load_refuses_malformed_metadata(name, change, words, saved, tmp_path):
    with pytest.raises(ValueError) as info:
        SeqCLRTransformer.load(_rewritten(saved, tmp_path, change))
    _check_message(info, words)


def test_a_file_carries_the_model_not_the_run(saved, tmp_path, windows):
    """Parameters of the run in a file (where to write checkpoints, what to resume or start from, the device,
    training settings) are not applied by load: they take the defaults or the caller's."""
    run = dict(checkpointing=dict(directory=str(tmp_path / "elsewhere"), resume=True, every=1,
                                  init_weights="/nonexistent.safetensors"),
               device="cuda:7", n_epochs=99, lr=5.0, verbose=3)
    path = _rewritten(saved, tmp_path, lambda m: _edit(
        m, "params", lambda p: (p.update(run), p["preprocessing"].update(num_workers=-1))))
    loaded = SeqCLRTransformer.load(path)
    defaults = SeqCLRTransformer().get_params()
    for name in run:
        assert loaded.get_params()[name] == defaults[name], name
    assert loaded.preprocessing.num_workers == 0
    # the model and its preprocessing do come from the file
    estimator = saved[3]
    for name in ("readout__pooling", "readout__feature_channels", "sfreq", "model_size"):
        assert loaded.get_params()[name] == estimator.get_params()[name], name
    np.testing.assert_allclose(loaded.transform(windows), estimator.transform(windows), rtol=1e-6)
    # the caller's parameters apply, run or model
    caller = SeqCLRTransformer.load(path, n_epochs=3, readout__pooling="mean")
    assert caller.get_params()["n_epochs"] == 3 and caller.readout.pooling == "mean"
    assert not (tmp_path / "elsewhere").exists()


def test_a_callers_bad_parameter_at_load_is_named(saved):
    with pytest.raises(ValueError, match="device"):
        SeqCLRTransformer.load(saved[0], device="tpu")


def test_features_command_refuses_malformed_metadata(saved, tmp_path, capsys):
    from skseqclr.cli import EXIT_FAILURE, main

    path = _rewritten(saved, tmp_path, lambda m: m.update(params="{not json"))
    code = main(["features", "--weights", str(path), "--dataset", "synthetic", "--n-windows", "12",
                 "--output", str(tmp_path / "f.npy"), "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_FAILURE
    assert "'params'" in err and "ValueError" in err and "JSONDecodeError" not in err
    assert not (tmp_path / "f.npy").exists()


def test_features_command_calls_a_bad_device_a_usage_error(saved, tmp_path, capsys):
    from skseqclr.cli import EXIT_USAGE, main

    code = main(["features", "--weights", str(saved[0]), "--dataset", "synthetic", "--n-windows", "12",
                 "--device", "tpu", "--output", str(tmp_path / "f.npy"), "--quiet"])
    assert code == EXIT_USAGE and "--device tpu" in capsys.readouterr().err


def test_parameters_are_finite_where_they_are_numbers():
    """The table refuses inf for every real-valued parameter that has one (lr, weight_decay, temperature, ...)."""
    for cls in (SeqCLRTransformer, SeqCLRClassifier):
        for name, constraints in cls._parameter_constraints.items():
            for constraint in constraints:
                if hasattr(constraint, "is_satisfied_by") and getattr(constraint, "type", None) is not None:
                    assert not constraint.is_satisfied_by(math.inf), (cls.__name__, name)
