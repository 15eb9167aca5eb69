"""Checkpoints, resume after a killed run, and Ctrl-C during ``fit``."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY

import skseqclr.training.pretrainer as training
from skseqclr import Checkpointing, SeqCLRTransformer
from skseqclr.training.checkpoint import CHECKPOINT_NAME, FORMAT, FORMAT_VERSION, load_checkpoint, save_checkpoint
from skseqclr.training.pretrainer import Pretrainer

# 12 windows, 2 per step (8 channels) -> 6 steps per epoch, 12 steps in all
PARAMS = dict(TINY, sfreq=128, n_epochs=2, batch_size=8, precision="fp32", device="cpu",
              random_state=0)
N_STEPS = 12


def _windows():
    return np.random.default_rng(0).normal(scale=20.0, size=(12, 3, 256)).astype(np.float32)


def _state(estimator) -> dict:
    return {**{f"encoder.{k}": v for k, v in estimator.encoder_.state_dict().items()},
            **{f"projector.{k}": v for k, v in estimator.projector_.state_dict().items()}}


def _assert_same_weights(first, second):
    first, second = _state(first), _state(second)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


def _history(estimator):
    return [{k: v for k, v in entry.items() if k != "time_s"} for entry in estimator.history_]


def _temporary_files(folder: Path):
    return sorted(folder.glob(f".{CHECKPOINT_NAME}.*.tmp"))


@pytest.fixture(scope="module")
def uninterrupted():
    return SeqCLRTransformer(**PARAMS).fit(_windows())


@pytest.fixture
def count_steps(monkeypatch):
    """Count the optimisation steps run from now on."""
    counter = {"steps": 0}
    original = Pretrainer._train_step

    def train_step(self, *batch):
        counter["steps"] += 1
        return original(self, *batch)

    monkeypatch.setattr(Pretrainer, "_train_step", train_step)
    return counter


# ---------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------
def test_save_and_load_checkpoint(tmp_path):
    path = save_checkpoint({"step": 3, "weights": torch.arange(4.0)}, tmp_path / "run" / CHECKPOINT_NAME)
    state = load_checkpoint(path)
    assert state["step"] == 3 and torch.equal(state["weights"], torch.arange(4.0))
    assert _temporary_files(path.parent) == []


def test_a_failed_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = save_checkpoint({"step": 1, "weights": torch.ones(1000)}, tmp_path / CHECKPOINT_NAME)
    real_save = torch.save

    def save_half_then_fail(obj, f, *args, **kwargs):
        buffer = io.BytesIO()
        real_save(obj, buffer)
        f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", save_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint({"step": 2, "weights": torch.zeros(1000)}, path)
    state = load_checkpoint(path)
    assert state["step"] == 1 and torch.equal(state["weights"], torch.ones(1000))
    assert _temporary_files(tmp_path) == []


def test_leftovers_of_a_killed_write_are_removed_by_the_next_write(tmp_path):
    leftover = tmp_path / f".{CHECKPOINT_NAME}.abc123.tmp"
    leftover.write_bytes(b"half a checkpoint")
    save_checkpoint({"step": 5}, tmp_path / CHECKPOINT_NAME)
    assert not leftover.exists() and load_checkpoint(tmp_path / CHECKPOINT_NAME)["step"] == 5


def test_load_checkpoint_refuses_missing_and_torn_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint"):
        load_checkpoint(tmp_path / CHECKPOINT_NAME)
    buffer = io.BytesIO()
    torch.save({"weights": torch.ones(1000)}, buffer)
    torn = tmp_path / "torn.pt"
    torn.write_bytes(buffer.getvalue()[:1000])
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(torn)


# ---------------------------------------------------------------------------
# What pretraining writes
# ---------------------------------------------------------------------------
def test_checkpoints_every_n_steps_and_at_the_end(tmp_path, monkeypatch, uninterrupted):
    written = []
    real_save_checkpoint = training.save_checkpoint

    def recording_save_checkpoint(state, path):
        written.append(state["step"])
        return real_save_checkpoint(state, path)

    monkeypatch.setattr(training, "save_checkpoint", recording_save_checkpoint)
    estimator = SeqCLRTransformer(**PARAMS, checkpointing=Checkpointing(directory=tmp_path, every=5)).fit(_windows())
    assert written == [5, 10, N_STEPS]
    state = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert {"network", "optimizer", "scheduler", "rank_states", "step", "epoch", "history"} <= state.keys()
    assert state["step"] == N_STEPS and state["epoch"] == 2 and state["world_size"] == 1
    assert state["history"] == estimator.history_
    assert {"generator", "torch_rng"} <= state["rank_states"][0].keys()
    assert state["optimizer"]["state"]  # AdamW moments
    # the run it belongs to, as plain data (read back without unpickling objects)
    assert state["format"] == FORMAT and state["format_version"] == FORMAT_VERSION
    identity = state["run_identity"]
    assert identity["lr"] == 1e-3 and identity["max_steps"] is None and identity["total_steps"] == N_STEPS
    assert identity["n_windows"] == [12] and identity["n_channels"] == [3] and identity["n_times"] == [256]
    assert identity["model_size"]["n_residual"] == 1 and "checkpointing__every" not in identity
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["step"] == N_STEPS
    for key, value in _state(estimator).items():
        assert torch.equal(state["network"][key], value), key
    # checkpointing does not change training
    _assert_same_weights(estimator, uninterrupted)


def test_resume_without_a_checkpoint_starts_from_scratch(tmp_path, uninterrupted):
    resuming = Checkpointing(directory=tmp_path, resume=True)
    estimator = SeqCLRTransformer(**PARAMS, checkpointing=resuming).fit(_windows())
    assert estimator.n_steps_ == N_STEPS
    _assert_same_weights(estimator, uninterrupted)


def test_resume_refuses_a_checkpoint_of_another_number_of_processes(tmp_path):
    SeqCLRTransformer(**PARAMS, checkpointing=Checkpointing(directory=tmp_path), max_steps=2).fit(_windows())
    state = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    state["world_size"] = 4
    save_checkpoint(state, tmp_path / CHECKPOINT_NAME)
    with pytest.raises(ValueError, match="4 process"):
        SeqCLRTransformer(**PARAMS, checkpointing=Checkpointing(directory=tmp_path, resume=True),
                          max_steps=2).fit(_windows())


# ---------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------
def _ctrl_c_during_step(monkeypatch, step, times=1):
    """Send this process SIGINT ``times`` times during optimisation step ``step`` (0-based)."""
    original = Pretrainer._train_step

    def train_step(self, *batch):
        if self.step == step:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)
        return original(self, *batch)

    monkeypatch.setattr(Pretrainer, "_train_step", train_step)


def test_ctrl_c_stops_after_the_current_step_keeps_the_weights_and_says_so(tmp_path, monkeypatch, uninterrupted):
    _ctrl_c_during_step(monkeypatch, step=2)
    message = r"interrupted by Ctrl-C after step 3 of 12; the weights learned so far are kept and saved"
    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN in a background job
    with pytest.warns(RuntimeWarning, match=message):
        estimator = SeqCLRTransformer(**PARAMS, checkpointing=Checkpointing(directory=tmp_path)).fit(_windows())
    assert signal.getsignal(signal.SIGINT) is before  # Ctrl-C works as usual again
    assert estimator.interrupted_ and estimator.n_steps_ == 3
    assert _history(estimator) == [{"epoch": 0, "loss": pytest.approx(estimator.history_[0]["loss"]), "steps": 3}]
    untrained = SeqCLRTransformer(**dict(PARAMS, n_epochs=0)).fit(_windows())
    assert not any(torch.equal(a, b) for a, b in zip(estimator.encoder_.parameters(), untrained.encoder_.parameters()))
    assert np.isfinite(estimator.transform(_windows()[:2])).all()
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME)["step"] == 3

    # resume=True finishes the interrupted run as if nothing had happened
    monkeypatch.undo()
    resumed = SeqCLRTransformer(**PARAMS, checkpointing=Checkpointing(directory=tmp_path, resume=True)).fit(_windows())
    assert resumed.n_steps_ == N_STEPS and not resumed.interrupted_
    _assert_same_weights(resumed, uninterrupted)
    assert _history(resumed) == _history(uninterrupted)


def test_a_second_ctrl_c_interrupts_at_once(monkeypatch):
    _ctrl_c_during_step(monkeypatch, step=1, times=2)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        SeqCLRTransformer(**PARAMS).fit(_windows())
    assert signal.getsignal(signal.SIGINT) is before


# ---------------------------------------------------------------------------
# A run killed with SIGKILL (while writing a checkpoint), then resumed
# ---------------------------------------------------------------------------
KILLED_RUN = """
import io, sys, time
import numpy as np
import torch
sys.path.insert(0, {tests!r})
from conftest import TINY
from skseqclr import Checkpointing, SeqCLRTransformer

torch.set_num_threads(1)
real_save, writes = torch.save, []

def torn_second_write(obj, f, *args, **kwargs):
    # the second checkpoint (step 8) is cut off halfway through, by SIGKILL from the test
    writes.append(obj["step"])
    if len(writes) < 2:
        return real_save(obj, f, *args, **kwargs)
    buffer = io.BytesIO()
    real_save(obj, buffer)
    f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    f.flush()
    open({marker!r}, "w").write(str(obj["step"]))
    time.sleep(600)

torch.save = torn_second_write
X = np.random.default_rng(0).normal(scale=20.0, size=(12, 3, 256)).astype(np.float32)
SeqCLRTransformer(**{params!r}).fit(X)
"""


@pytest.mark.slow
def test_a_run_killed_midway_resumes_to_the_uninterrupted_result(tmp_path, uninterrupted, count_steps):
    folder, marker = tmp_path / "checkpoints", tmp_path / "writing"
    params = dict(PARAMS, checkpointing=Checkpointing(directory=str(folder), every=4))
    script = KILLED_RUN.format(tests=str(Path(__file__).parent), marker=str(marker), params=params)
    process = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            if process.poll() is not None:
                pytest.fail(f"the run ended before it was killed:\n{process.stderr.read()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail("the run did not reach its second checkpoint within 240 s")
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
    assert marker.read_text() == "8"

    # killed halfway through writing the step-8 checkpoint: the step-4 one is intact
    assert len(_temporary_files(folder)) == 1
    assert load_checkpoint(folder / CHECKPOINT_NAME)["step"] == 4

    resumed = SeqCLRTransformer(**dict(params, checkpointing=Checkpointing(directory=str(folder), every=4,
                                                                           resume=True))).fit(_windows())
    assert count_steps["steps"] == N_STEPS - 4  # continued from step 4, not from scratch
    assert resumed.n_steps_ == N_STEPS and not resumed.interrupted_
    _assert_same_weights(resumed, uninterrupted)
    assert _history(resumed) == _history(uninterrupted)
    assert load_checkpoint(folder / CHECKPOINT_NAME)["step"] == N_STEPS
    assert _temporary_files(folder) == []
    features = resumed.transform(_windows())
    np.testing.assert_array_equal(features, uninterrupted.transform(_windows()))
    assert np.isfinite(features).all()
