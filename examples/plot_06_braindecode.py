"""
SeqCLR in a braindecode pipeline: pretrain, then fine-tune with EEGClassifier
=============================================================================

A braindecode user's route from recordings to a trained network, with SeqCLR
pretraining in the middle:

1. the recordings as a braindecode dataset, preprocessed with braindecode's
   :class:`~braindecode.preprocessing.Preprocessor`;
2. unlabelled fixed-length windows of the training runs to pretrain a
   :class:`~skseqclr.SeqCLRTransformer` (no labels seen);
3. the labelled trials as a braindecode windows dataset, to fine-tune the
   paper's downstream network, :class:`~skseqclr.nn.SeqCLRNet`, with
   :class:`braindecode.EEGClassifier` (skorch: callbacks, history), its encoder
   started from the pretrained one and trained at a lower learning rate;
4. braindecode's usual training curves from skorch's history, beside the same
   network fine-tuned from the **untrained** encoder.

The task is imagined left vs right fist movement of PhysioNet's EEG Motor
Movement/Imagery dataset (eegmmidb, subject 1, runs 4, 8 and 12). Everything is
CPU-sized: 7 channels over the motor cortex at 64 Hz, a small encoder, a few
dozen pretraining steps and a few epochs of fine-tuning.
"""

# %%
# Data as a braindecode dataset
# -----------------------------
# One :class:`~braindecode.datasets.RawDataset` per run, with the subject and
# run in its description. Without the local copy of the recordings, the
# example builds synthetic runs of the same layout (a 10 Hz rhythm that drops
# over the hemisphere opposite the imagined hand) and says so.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import mne
import numpy as np
import pandas as pd
import torch
from braindecode import EEGClassifier
from braindecode.datasets import BaseConcatDataset, RawDataset
from braindecode.preprocessing import (Preprocessor, create_fixed_length_windows, create_windows_from_events,
                                       preprocess)
from skorch.callbacks import LRScheduler
from skorch.helper import predefined_split

from skseqclr import SeqCLRTransformer
from skseqclr.nn import SeqCLRNet

QUICK = os.environ.get("SKSEQCLR_DOCS_QUICK", "0") not in ("", "0")
candidates = [os.environ.get("SKSEQCLR_SHARED_DATA", ""), "../shared/data", "../../shared/data"]
shared = next((Path(c) for c in candidates if c and (Path(c) / "eegbci").is_dir()), None)

runs = (4, 8, 12)
motor = ["FC3", "FC4", "C3", "Cz", "C4", "CP3", "CP4"]


def synthetic_run(run, seconds=120.0, sfreq=160.0):
    """A run of 15 cues ('T1' left, 'T2' right) every 8 s; a 10 Hz rhythm, weaker opposite the imagined hand."""
    rng = np.random.default_rng(run)
    t = np.arange(int(seconds * sfreq)) / sfreq
    data = rng.standard_normal((len(motor), len(t)))
    alpha = np.sin(2 * np.pi * 10 * t + rng.uniform(0, 2 * np.pi))
    onsets = 2.0 + 8.0 * np.arange(15)
    names = np.array(["T1", "T2"])[rng.permutation(np.arange(15) % 2)]
    gain = np.ones((len(motor), len(t)))
    for onset, name in zip(onsets, names):
        during = (t >= onset) & (t < onset + 4)
        side = [c for c in motor if c[-1].isdigit() and int(c[-1]) % 2 == (0 if name == "T1" else 1)]
        gain[np.ix_([motor.index(c) for c in side], np.flatnonzero(during))] = 0.3
    raw = mne.io.RawArray(1e-5 * (data + 2 * gain * alpha), mne.create_info(motor, sfreq, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations(onsets, 4.0, names))
    return raw


if shared is not None:
    from skseqclr.datasets import find_eegbci

    folder = find_eegbci(shared / "eegbci")
    raws = []
    for run in runs:
        (edf,) = mne.datasets.eegbci.load_data(1, run, path=folder, update_path=False, verbose="error")
        raw = mne.io.read_raw_edf(edf, preload=True, verbose="error")
        mne.datasets.eegbci.standardize(raw)  # channel names as in the 10-10 system
        raws.append(raw)
    source = "eegmmidb subject 1"
else:
    print("Note: ../shared/data not found; using synthetic motor imagery runs instead.")
    raws = [synthetic_run(run) for run in runs]
    source = "synthetic runs"
dataset = BaseConcatDataset([RawDataset(raw, pd.Series({"subject": 1, "run": run})) for raw, run in zip(raws, runs)])

# %%
# braindecode preprocessing: the motor channels, band-passed 4-30 Hz (mu and
# beta rhythms), resampled to 64 Hz. The data stay in volts; the transformer
# finds the unit when it is fitted, and the network built from it inherits it.
sfreq = 64.0
preprocess(dataset, [
    Preprocessor("pick", picks=motor),
    Preprocessor("filter", l_freq=4.0, h_freq=30.0, verbose="error"),
    Preprocessor("resample", sfreq=sfreq, verbose="error"),
])

# %%
# Windows: unlabelled ones to pretrain, the trials to fine-tune
# --------------------------------------------------------------
# Runs 4 and 8 train and run 12 validates (one subject: the split is by run).
# Pretraining sees runs 4 and 8 whole, cut into consecutive 2-s windows
# (rest and trials alike, no labels); the classifiers see the 4-s trials cut
# into two 2-s windows each, labelled T1 (left, 0) or T2 (right, 1).
by_run = dataset.split("run")
pretraining_windows = create_fixed_length_windows(
    BaseConcatDataset([by_run["4"], by_run["8"]]), window_size_samples=int(2 * sfreq),
    window_stride_samples=int(2 * sfreq), drop_last_window=True, preload=True)
trials = create_windows_from_events(dataset, trial_start_offset_samples=0, trial_stop_offset_samples=0,
                                    window_size_samples=int(2 * sfreq), window_stride_samples=int(2 * sfreq),
                                    drop_last_window=True, mapping={"T1": 0, "T2": 1}, preload=True)
trial_runs = trials.split("run")
train_set = BaseConcatDataset([trial_runs["4"], trial_runs["8"]])
valid_set = trial_runs["12"]
print(f"{source}: {len(pretraining_windows)} unlabelled windows to pretrain; {len(train_set)} training and "
      f"{len(valid_set)} validation windows of {len(motor)} channels")

# %%
# Pretraining
# -----------
# ``SeqCLRTransformer.fit`` reads the braindecode windows dataset directly.
# Its twin with ``n_epochs=0`` and the same seed is the same encoder before any
# pretraining step: the control for everything below.
settings = dict(model_size="small", time_shift=(-16, 16), zero_mask=(0, 32), batch_size=32, random_state=0)
seqclr = SeqCLRTransformer(**settings, n_epochs=10, max_steps=15 if QUICK else 30).fit(pretraining_windows)
untrained = SeqCLRTransformer(**settings, n_epochs=0).fit(pretraining_windows)
print(f"pretrained {seqclr.n_steps_} steps; contrastive loss {seqclr.history_[0]['loss']:.2f} -> "
      f"{seqclr.history_[-1]['loss']:.2f}")

# %%
# Fine-tuning with EEGClassifier
# ------------------------------
# :meth:`SeqCLRNet.from_transformer <skseqclr.nn.SeqCLRNet.from_transformer>`
# copies the encoder's weights and input handling into the braindecode model.
# ``EEGClassifier`` then trains it like any braindecode model: the head at
# ``lr=1e-3``, the encoder at ``1e-4`` through a skorch parameter group, a
# cosine learning-rate schedule, validation on run 12 after every epoch.
n_epochs = 3 if QUICK else 6


def fine_tune(transformer):
    torch.manual_seed(0)  # the same head initialisation and batch order for both networks
    net = SeqCLRNet.from_transformer(transformer, n_outputs=2, n_chans=len(motor), n_times=int(2 * sfreq),
                                     lstm_sizes=(16, 8, 4), hidden_size=16)
    clf = EEGClassifier(
        net, criterion=torch.nn.NLLLoss, optimizer=torch.optim.AdamW, lr=1e-3,
        optimizer__param_groups=[("encoder.*", {"lr": 1e-4})],
        train_split=predefined_split(valid_set), batch_size=16, max_epochs=n_epochs,
        callbacks=["accuracy", ("lr_scheduler", LRScheduler("CosineAnnealingLR", T_max=n_epochs - 1))],
        classes=[0, 1], device="cpu", verbose=0,
    )
    return clf.fit(train_set, y=None)


classifiers = {"pretrained encoder": fine_tune(seqclr), "untrained encoder": fine_tune(untrained)}
for name, clf in classifiers.items():
    last = clf.history[-1]
    print(f"{name:>18}: train loss {last['train_loss']:.3f}, valid loss {last['valid_loss']:.3f}, "
          f"valid accuracy {last['valid_accuracy']:.3f}")

# %%
# Training curves
# ---------------
# As in braindecode's tutorials: losses (solid) and misclassification rates
# (dashed) per epoch, from skorch's ``history``.
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True, layout="constrained")
for ax, (name, clf) in zip(axes, classifiers.items()):
    history = pd.DataFrame(clf.history[:, ("epoch", "train_loss", "valid_loss", "train_accuracy", "valid_accuracy")],
                           columns=["epoch", "train_loss", "valid_loss", "train_accuracy", "valid_accuracy"])
    for split, color in (("train", "tab:blue"), ("valid", "tab:orange")):
        ax.plot(history["epoch"], history[f"{split}_loss"], "-o", color=color, ms=3, label=f"{split} loss")
        ax.plot(history["epoch"], 1 - history[f"{split}_accuracy"], "--", color=color,
                label=f"{split} misclassification")
    ax.set_title(f"SeqCLRNet, {name}")
    ax.set_xlabel("epoch")
axes[0].set_ylabel("loss (NLL) / misclassification rate")
axes[1].legend(fontsize=8)
fig.suptitle(f"Left vs right fist imagery, {source}: train runs 4 and 8, validation run 12")
plt.show()

# %%
# Reading the curves honestly
# ---------------------------
# Both networks are identical but for their encoder's starting weights: the
# untrained one is the very initialisation the pretraining started from, the
# heads start alike and see the same batches. Still, one split of 30 trials
# of one subject (or synthetic runs, built to be easy), a few dozen
# pretraining steps and a handful of epochs are no evidence either way: a gap
# between the two panels, or its absence, is within the noise of such a run.
# This example shows the route, not a result; the project's measurements of
# when pretraining pays are on the :doc:`/results` page. From here, the usual braindecode tooling
# applies: more epochs with ``EarlyStopping``, a frozen encoder
# (``SeqCLRNet.from_transformer(..., freeze_encoder=True)``), or
# ``skseqclr pretrain --data`` on a folder of recordings or a BIDS dataset
# (:doc:`/user_guide/cli`) to pretrain on more EEG than the labelled runs.
