"""SeqCLRTransformer.save_pretrained / from_pretrained: the Hugging Face Hub layout, offline."""

import json
import shutil
import sys

import numpy as np
import pytest
import torch

import skseqclr
from skseqclr import SeqCLRTransformer
from skseqclr.persistence import CONFIG_NAME, MODEL_CARD_NAME, WEIGHTS_NAME


@pytest.fixture(scope="module")
def windows():
    return (20 * np.random.default_rng(0).standard_normal((24, 3, 160))).astype(np.float32)


@pytest.fixture(scope="module")
def fitted(windows):
    from conftest import TINY

    return SeqCLRTransformer(**TINY, sfreq=100.0, n_epochs=1, batch_size=16, random_state=0).fit(windows)


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    return fitted.save_pretrained(tmp_path_factory.mktemp("pretrained") / "seqclr")


@pytest.fixture
def copy(saved, tmp_path):
    """A copy of the saved directory that a test may alter."""
    return shutil.copytree(saved, tmp_path / "copy")


def test_round_trip_gives_identical_features_and_the_hub_layout(fitted, saved, windows):
    assert sorted(p.name for p in saved.iterdir()) == sorted([WEIGHTS_NAME, CONFIG_NAME, MODEL_CARD_NAME])
    loaded = SeqCLRTransformer.from_pretrained(saved)
    np.testing.assert_array_equal(loaded.transform(windows), fitted.transform(windows))
    for (name, p), q in zip(fitted.encoder_.state_dict().items(), loaded.encoder_.state_dict().values()):
        assert torch.equal(p, q), name
    assert (loaded.sfreq_, loaded.ch_names_, loaded.n_steps_) == (fitted.sfreq_, fitted.ch_names_, fitted.n_steps_)
    # a str path works as well, and model.safetensors is the file that ``save`` writes
    np.testing.assert_array_equal(SeqCLRTransformer.from_pretrained(str(saved)).transform(windows[:4]),
                                  SeqCLRTransformer.load(saved / WEIGHTS_NAME).transform(windows[:4]))


def test_config_is_json_with_the_version_and_the_card_says_how_to_load(saved, fitted):
    config = json.loads((saved / CONFIG_NAME).read_text(encoding="utf-8"))
    assert config["skseqclr_version"] == skseqclr.__version__
    assert config["encoder"] == fitted.encoder and config["params"]["model_size"]["preset"] == "small"
    assert config["fitted"]["ch_names_"] == fitted.ch_names_
    card = (saved / MODEL_CARD_NAME).read_text(encoding="utf-8")
    assert "from_pretrained" in card and skseqclr.__version__ in card and "skseqclr[hub]" in card


def test_params_override_and_run_params_in_the_config_are_not_applied(copy):
    config = json.loads((copy / CONFIG_NAME).read_text(encoding="utf-8"))
    config["params"].update(lr=0.5, checkpointing={"directory": "/elsewhere"})
    config["params"]["readout"].update(pooling="max")
    (copy / CONFIG_NAME).write_text(json.dumps(config), encoding="utf-8")
    loaded = SeqCLRTransformer.from_pretrained(copy, readout__pooling="mean", device="cpu")
    default = SeqCLRTransformer()
    assert loaded.readout.pooling == "mean" and loaded.lr == default.lr and loaded.checkpointing is None


def _edit_config(edit):
    def apply(directory):
        path = directory / CONFIG_NAME
        config = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps(edit(config)), encoding="utf-8")
    return apply


def _set(section, key, value):
    def edit(config):
        config[section][key] = value
        return config
    return edit


def _drop(key):
    def edit(config):
        del config[key]
        return config
    return edit


def _write_config_text(text):
    return lambda directory: (directory / CONFIG_NAME).write_text(text, encoding="utf-8")


def _nonfinite_weights(directory):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    path = directory / WEIGHTS_NAME
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    tensors = load_file(str(path))
    name = next(k for k in tensors if k.startswith("encoder.") and tensors[k].is_floating_point())
    tensors[name][...] = float("nan")
    save_file(tensors, str(path), metadata=metadata)


def _other_architecture(config):
    config["params"]["model_size"]["branch_channels"] = [8, 8, 4]
    return config


# (case, alteration of a copy of a saved directory, expected exception, a word the message must contain)
HOSTILE = [
    ("config not JSON", _write_config_text("{not json"), ValueError, "JSON"),
    ("config a list", _write_config_text("[1, 2]"), ValueError, "format"),
    ("config of another format", _edit_config(lambda c: {**c, "format": "pytorch"}), ValueError, "format"),
    ("no 'fitted' entry", _edit_config(_drop("fitted")), ValueError, "fitted"),
    ("no 'encoder' entry", _edit_config(_drop("encoder")), ValueError, "encoder"),
    ("'params' a list", _edit_config(lambda c: {**c, "params": [1]}), ValueError, "params"),
    ("unknown parameter", _edit_config(_set("params", "evil", 1)), ValueError, "evil"),
    ("invalid model parameter", _edit_config(_set("params", "model_size", "huge")), ValueError, "params"),
    ("negative input scale", _edit_config(_set("fitted", "input_scale_", -1.0)), ValueError, "input_scale_"),
    ("channel names a string", _edit_config(_set("fitted", "ch_names_", "C3")), ValueError, "ch_names_"),
    ("config and weights of other sizes", _edit_config(_other_architecture), ValueError, "encoder"),
    ("non-finite weights", _nonfinite_weights, ValueError, "finite"),
    ("no config.json", lambda d: (d / CONFIG_NAME).unlink(), ValueError, CONFIG_NAME),
    ("no model.safetensors", lambda d: (d / WEIGHTS_NAME).unlink(), ValueError, WEIGHTS_NAME),
    ("weights not safetensors", lambda d: (d / WEIGHTS_NAME).write_bytes(b"\x80\x04junk"), ValueError,
     "weights file"),
]


@pytest.mark.parametrize("alter, error, word", [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_hostile_directories_are_refused(copy, alter, error, word):
    alter(copy)
    with pytest.raises(error, match=word):
        SeqCLRTransformer.from_pretrained(copy)


@pytest.mark.parametrize("where, error, word", [
    ("missing", ValueError, "No directory"),
    ("file", ValueError, "not a directory"),
    (3, TypeError, "path_or_repo_id"),
], ids=["missing directory", "a file", "not a path"])
def test_hostile_locations_are_refused(saved, tmp_path, where, error, word):
    location = {"missing": tmp_path / "absent" / "model", "file": saved / WEIGHTS_NAME}.get(where, where)
    with pytest.raises(error, match=word):
        SeqCLRTransformer.from_pretrained(location)


def test_a_repo_id_without_huggingface_hub_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # so that "user/seqclr" is no local directory
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # importing it fails; no network either way
    with pytest.raises(ImportError, match=r"pip install skseqclr\[hub\]"):
        SeqCLRTransformer.from_pretrained("user/seqclr")


def test_a_repo_id_is_downloaded_with_snapshot_download(monkeypatch, tmp_path, saved, windows):
    """No network: a stand-in huggingface_hub returns the saved directory."""
    calls = []

    def snapshot_download(repo_id, allow_patterns):
        calls.append((repo_id, sorted(allow_patterns)))
        return str(saved)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "huggingface_hub", type(sys)("huggingface_hub"))
    monkeypatch.setattr(sys.modules["huggingface_hub"], "snapshot_download", snapshot_download, raising=False)
    loaded = SeqCLRTransformer.from_pretrained("user/seqclr")
    assert calls == [("user/seqclr", sorted([CONFIG_NAME, MODEL_CARD_NAME, WEIGHTS_NAME]))]
    np.testing.assert_array_equal(loaded.transform(windows[:4]),
                                  SeqCLRTransformer.from_pretrained(saved).transform(windows[:4]))


def test_save_pretrained_needs_a_fitted_transformer_and_a_directory(fitted, saved, tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SeqCLRTransformer().save_pretrained(tmp_path / "unfitted")
    with pytest.raises(ValueError, match="directory"):
        fitted.save_pretrained(saved / WEIGHTS_NAME)
