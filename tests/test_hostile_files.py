"""Hostile and mismatched checkpoints: nothing runs from a file, and resume continues only the same run.

Each table row is one input, the exception it must raise and a word its
message must contain.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import TINY

from skseqclr import Checkpointing, Preprocessing, SeqCLRTransformer, cli
from skseqclr.training.checkpoint import CHECKPOINT_NAME, load_checkpoint
from skseqclr.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main

# 12 windows, 2 per step -> 6 steps per epoch; the checkpoint is written after 3 steps of a 3-step run
PARAMS = dict(TINY, sfreq=128, n_epochs=2, max_steps=3, batch_size=8, precision="fp32",
              device="cpu", random_state=0)
#: The keys of a checkpoint written before runs were identified.
OLD_KEYS = ("network", "optimizer", "scheduler", "rank_states", "world_size", "step", "epoch", "epoch_steps",
            "epoch_time", "total_steps", "history")


def _windows(n_windows=12, n_channels=3, n_times=256, seed=0):
    return np.random.default_rng(seed).normal(scale=20.0, size=(n_windows, n_channels, n_times)).astype(np.float32)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A checkpoint of ``PARAMS`` on ``_windows()``, and the estimator that wrote it."""
    folder = tmp_path_factory.mktemp("written")
    estimator = SeqCLRTransformer(**PARAMS, checkpointing=Checkpointing(directory=folder)).fit(_windows())
    return folder / CHECKPOINT_NAME, estimator


@pytest.fixture
def checkpoint_dir(tmp_path, written):
    """A fresh copy of the written checkpoint, in its own folder."""
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    shutil.copy(written[0], folder / CHECKPOINT_NAME)
    return folder


def _resume(checkpoint_dir, X=None, every=None, **changes):
    params = dict(PARAMS, checkpointing=Checkpointing(directory=checkpoint_dir, every=every, resume=True), **changes)
    return SeqCLRTransformer(**params).fit(_windows() if X is None else X)


# ---------------------------------------------------------------------------
# Files that are not checkpoints of this package, or were tampered with
# ---------------------------------------------------------------------------
class _RunsCode:
    """Unpickling this object creates the file ``marker``: what a hostile checkpoint could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"import pathlib; pathlib.Path({self.marker!r}).touch()",)


def _edit(path, change):
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = change(state)
    path.unlink()
    torch.save(state, path)


def _crafted_pickle(path, marker):
    state = torch.load(path, map_location="cpu", weights_only=True)
    state["history"] = [_RunsCode(marker)]
    torch.save(state, path)


def _truncated(path, marker):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path, marker):
    path.write_bytes(b"this is not a checkpoint\n" * 40)


def _empty(path, marker):
    path.write_bytes(b"")


def _not_a_dict(path, marker):
    torch.save([torch.ones(3), 2], path)


def _older_format(path, marker):
    _edit(path, lambda state: {key: state[key] for key in OLD_KEYS})


def _without(key):
    def change(path, marker):
        _edit(path, lambda state: {k: v for k, v in state.items() if k != key})
    return change


def _with(key, value):
    def change(path, marker):
        _edit(path, lambda state: {**state, key: value})
    return change


def _network_of_another_shape(path, marker):
    def change(state):
        name = next(iter(state["network"]))
        state["network"][name] = torch.zeros(7, 7, 7)
        return state
    _edit(path, change)


FILE_CASES = [
    # (name, how the file is made, expected exception, word in its message)
    ("crafted_pickle_runs_code", _crafted_pickle, ValueError, "readable"),
    ("truncated", _truncated, ValueError, "readable"),
    ("garbage", _garbage, ValueError, "readable"),
    ("empty", _empty, ValueError, "readable"),
    ("not_a_dict", _not_a_dict, ValueError, "not a skseqclr"),
    ("older_format", _older_format, ValueError, "older version"),
    ("no_optimizer", _without("optimizer"), ValueError, "optimizer"),
    ("no_rank_states", _without("rank_states"), ValueError, "rank_states"),
    ("step_not_an_int", _with("step", "two"), ValueError, "step"),
    ("step_beyond_the_run", _with("step", 99), ValueError, "step"),
    ("negative_step", _with("step", -1), ValueError, "step"),
    ("rank_states_empty", _with("rank_states", []), ValueError, "rank_states"),
    ("history_not_a_list", _with("history", {"epoch": 0}), ValueError, "history"),
    ("identity_not_a_dict", _with("run_identity", "anything"), ValueError, "run_identity"),
    ("network_of_another_shape", _network_of_another_shape, ValueError, "network"),
]


@pytest.mark.parametrize("name, make, error, word", FILE_CASES, ids=[case[0] for case in FILE_CASES])
def test_resume_refuses_a_hostile_or_broken_checkpoint(name, make, error, word, checkpoint_dir, tmp_path):
    path, marker = checkpoint_dir / CHECKPOINT_NAME, tmp_path / "code_ran"
    make(path, marker)
    with pytest.raises(error, match=word) as caught:
        _resume(checkpoint_dir)
    assert str(path) in str(caught.value)  # the message names the file
    assert not marker.exists(), "unpickling the checkpoint ran code"


def test_loading_a_crafted_pickle_runs_no_code(checkpoint_dir, tmp_path):
    path, marker = checkpoint_dir / CHECKPOINT_NAME, tmp_path / "code_ran"
    _crafted_pickle(path, marker)
    with pytest.raises(ValueError, match="not a readable checkpoint") as caught:
        load_checkpoint(path)
    assert str(path) in str(caught.value) and "pickle" not in type(caught.value).__name__.lower()
    assert not marker.exists()
    # the same object, read the unsafe way, would have run: the test can fail
    torch.load(path, map_location="cpu", weights_only=False)
    assert marker.exists()


# ---------------------------------------------------------------------------
# A checkpoint of another run
# ---------------------------------------------------------------------------
MISMATCH_CASES = [
    # (name, parameters changed, windows, word in the message)
    ("random_state", dict(random_state=1), None, "seed"),
    ("lr", dict(lr=0.01), None, "lr: 0.001 vs 0.01"),
    ("temperature", dict(temperature=0.5), None, "temperature"),
    ("batch_size", dict(batch_size=12), None, "batch_size"),
    ("n_epochs", dict(n_epochs=3), None, "n_epochs"),
    ("max_steps_more", dict(max_steps=5), None, "max_steps: 3 vs 5"),
    ("max_steps_fewer", dict(max_steps=2), None, "max_steps: 3 vs 2"),
    ("dc_shift", dict(dc_shift=(-5.0, 5.0)), None, "dc_shift"),
    ("gaussian_noise", dict(gaussian_noise=(0.0, 0.1)), None, "gaussian_noise"),
    ("model_size", dict(model_size={**TINY["model_size"], "n_residual": 2}), None, "model_size"),
    ("crop_length", dict(crop_length=200), None, "crop_length"),
    ("recombination", dict(recombination=False), None, "recombination"),
    ("scaling", dict(preprocessing=Preprocessing(scaling="channel")), None, "preprocessing__scaling"),
    ("units", dict(preprocessing=Preprocessing(units=1.0)), None, "preprocessing__units"),
    ("n_windows", {}, _windows(n_windows=16), "n_windows"),
    ("n_channels", {}, _windows(n_channels=4), "n_channels"),
    ("n_times", {}, _windows(n_times=320), "n_times"),
    ("other_data_same_shape", {}, _windows(seed=1), "data"),
]


@pytest.mark.parametrize("name, changes, X, word", MISMATCH_CASES, ids=[case[0] for case in MISMATCH_CASES])
def test_resume_refuses_the_checkpoint_of_another_run(name, changes, X, word, checkpoint_dir):
    before = (checkpoint_dir / CHECKPOINT_NAME).read_bytes()
    with pytest.raises(ValueError, match="another run") as caught:
        _resume(checkpoint_dir, X, **changes)
    assert word in str(caught.value)
    assert (checkpoint_dir / CHECKPOINT_NAME).read_bytes() == before  # nothing trained, nothing written


def test_resume_refuses_a_checkpoint_of_another_package_version(checkpoint_dir, monkeypatch):
    import skseqclr.training.pretrainer

    monkeypatch.setattr(skseqclr.training.pretrainer, "__version__", "0.0.0-other", raising=False)
    with pytest.raises(ValueError, match="version"):
        _resume(checkpoint_dir)


def test_the_same_run_resumes_with_settings_that_do_not_change_training(checkpoint_dir, written):
    # checkpointing's every, verbose and the preprocessing's num_workers leave the weights alone
    resumed = _resume(checkpoint_dir, every=1, preprocessing=Preprocessing(num_workers=0), verbose=0)
    assert resumed.n_steps_ == PARAMS["max_steps"]
    for a, b in zip(resumed.encoder_.state_dict().values(), written[1].encoder_.state_dict().values()):
        assert torch.equal(a, b)


def test_the_refusal_lists_every_difference(checkpoint_dir):
    with pytest.raises(ValueError) as caught:
        _resume(checkpoint_dir, _windows(n_channels=5), lr=0.002, temperature=0.2)
    message = str(caught.value)
    for expected in ("lr: 0.001 vs 0.002", "temperature: 0.1 vs 0.2", "n_channels: [3] vs [5]"):
        assert expected in message, message


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------
TINY_ARGS = [
    "--param", "model_size=" + json.dumps(TINY["model_size"]),
    "--batch-size", "16", "--epochs", "1", "--max-steps", "2", "--device", "cpu", "--precision", "fp32", "--quiet",
]
SYNTHETIC = ["--dataset", "synthetic", "--n-windows", "36", "--window-s", "2"]

CLI_CASES = [
    # (name, arguments, exit status, word on stderr)
    ("resume_without_checkpoint_dir", ["pretrain", *SYNTHETIC, "--resume", "--output", "{out}"], EXIT_USAGE,
     "--checkpoint-dir"),
    ("checkpoint_every_without_checkpoint_dir", ["pretrain", *SYNTHETIC, "--checkpoint-every", "5", "--output",
                                                 "{out}"], EXIT_USAGE, "--checkpoint-dir"),
    ("resume_another_lr", ["pretrain", *SYNTHETIC, *TINY_ARGS, "--lr", "0.01", "--checkpoint-dir", "{ckpt}",
                           "--resume", "--output", "{out}"], EXIT_FAILURE, "lr: 0.001 vs 0.01"),
    ("resume_another_seed", ["pretrain", *SYNTHETIC, *TINY_ARGS, "--seed", "1", "--checkpoint-dir", "{ckpt}",
                             "--resume", "--output", "{out}"], EXIT_FAILURE, "seed"),
    ("resume_more_steps", ["pretrain", *SYNTHETIC, *TINY_ARGS, "--max-steps", "3", "--checkpoint-dir", "{ckpt}",
                           "--resume", "--output", "{out}"], EXIT_FAILURE, "max_steps: 2 vs 3"),
]


@pytest.fixture(scope="module")
def cli_checkpoint(tmp_path_factory):
    """``skseqclr pretrain`` with a checkpoint folder: the run's output and checkpoint."""
    root = tmp_path_factory.mktemp("cli")
    code = main(["pretrain", *SYNTHETIC, *TINY_ARGS, "--checkpoint-dir", str(root / "ckpt"),
                 "--output", str(root / "out")])
    assert code == EXIT_OK
    return root


@pytest.mark.parametrize("name, argv, status, word", CLI_CASES, ids=[case[0] for case in CLI_CASES])
def test_pretrain_resume_refuses_bad_use(name, argv, status, word, cli_checkpoint, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "ckpt"
    shutil.copytree(cli_checkpoint / "ckpt", folder)
    out = tmp_path / "out"
    shutil.copytree(cli_checkpoint / "out", out)
    config = (out / "config.json").read_bytes()
    argv = [arg.replace("{out}", str(out)).replace("{ckpt}", str(folder)) for arg in argv]
    if status == EXIT_USAGE:
        def no_reading(*args, **kwargs):
            raise AssertionError("data was read before the usage error")
        monkeypatch.setattr(cli.pretrain, "_load", no_reading)  # where pretrain looks it up
    assert main(argv) == status
    assert word in capsys.readouterr().err
    assert (out / "config.json").read_bytes() == config  # config.json still describes the weights beside it


def test_pretrain_resume_of_the_same_run_writes_its_config(cli_checkpoint, tmp_path):
    folder, out = tmp_path / "ckpt", tmp_path / "out"
    shutil.copytree(cli_checkpoint / "ckpt", folder)
    assert main(["pretrain", *SYNTHETIC, *TINY_ARGS, "--checkpoint-dir", str(folder), "--resume",
                 "--output", str(out)]) == EXIT_OK
    config = json.loads((out / "config.json").read_text())
    first = json.loads((cli_checkpoint / "out" / "config.json").read_text())
    assert config["n_steps"] == first["n_steps"] == 2 and config["history"] == first["history"]
    assert config["resumed_from_step"] == 2
    changes = {k for k in config["seqclr_params"] if config["seqclr_params"][k] != first["seqclr_params"][k]}
    assert changes == {"checkpointing__resume", "checkpointing__directory"}


def test_pretrain_resume_from_a_crafted_checkpoint_runs_no_code(cli_checkpoint, tmp_path, capsys):
    folder, marker = tmp_path / "ckpt", tmp_path / "code_ran"
    shutil.copytree(cli_checkpoint / "ckpt", folder)
    _crafted_pickle(folder / CHECKPOINT_NAME, marker)
    code = main(["pretrain", *SYNTHETIC, *TINY_ARGS, "--checkpoint-dir", str(folder), "--resume",
                 "--output", str(tmp_path / "out")])
    assert code == EXIT_FAILURE and "not a readable checkpoint" in capsys.readouterr().err
    assert not marker.exists() and not (tmp_path / "out").exists()
