"""The SeqCLR pretraining loop in plain PyTorch (paper §2.3, "Learning algorithm").

One step:

1. read a batch of windows (DataLoader, pinned memory, non-blocking copy);
2. convert to µV and draw single channels of the recombined set on the device
   (:mod:`skseqclr.recombination`, §2.1);
3. make two augmented views of each channel (:mod:`skseqclr.augmentations`,
   §2.2) and scale them with the clean channel's statistics
   (:mod:`skseqclr.scaling`);
4. encode and project both views in one forward pass, NT-Xent
   (:mod:`skseqclr.nn.losses`), backward, optimiser and scheduler step.

The loss is accumulated on the device and read only at logging intervals and
epoch ends, so a step has no host-device synchronisation of its own. Under
``torchrun`` the network is wrapped in DistributedDataParallel, each rank reads
its shard, and NT-Xent draws negatives from all ranks. Checkpoints are written
atomically every ``checkpoint_every`` steps and at the end; ``resume``
continues from the last one, bit for bit on the CPU. Ctrl-C stops after the
current step and keeps the weights learned so far.

A loss or weights that stop being finite (NaN or inf) stop the run with a
:class:`TrainingDivergedError` naming the step and the likely cause. On the
CPU the loss is checked at every step, before the weights are updated; on a
GPU its finiteness is folded into a flag on the device and read where the loop
synchronises anyway (logging, epoch ends, checkpoints, snapshots), and the
weights are checked there too, so no checkpoint or snapshot holds non-finite
weights.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import ClassVar
from pathlib import Path

import torch
from torch import nn

from . import distributed as D
from .._version import __version__
from .checkpoint import (CHECKPOINT_NAME, FORMAT, FORMAT_VERSION, NOT_IDENTIFYING, check_checkpoint,
                         load_checkpoint, plain, save_checkpoint, sources_digest)
from .loading import iterate_batches, plan_epoch, to_device_microvolts
from ..nn.losses import NTXentLoss
# ContrastiveViews, TrainingDivergedError, nonfinite_tensors and the precision helpers live in their own modules
# and stay importable from here.
from .divergence import DivergenceChecks, TrainingDivergedError, nonfinite_tensors
from .precision import autocast, cpu_has_native_bf16, resolve_precision  # noqa: F401
from .views import ContrastiveViews

__all__ = ["SeqCLRNetwork", "ContrastiveViews", "Pretrainer", "TrainingDivergedError", "autocast",
           "resolve_precision", "nonfinite_tensors"]


class SeqCLRNetwork(nn.Module):
    """Encoder followed by projector: single channels ``(batch, time)`` -> ``(batch, 32)``."""

    def __init__(self, encoder: nn.Module, projector: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.projector = projector

    def forward(self, x):
        return self.projector(self.encoder(x))


@dataclass
class Pretrainer(DivergenceChecks):
    """Runs contrastive pretraining of a :class:`SeqCLRNetwork`.

    The estimator builds one and calls :meth:`run`; everything here is plain
    PyTorch, usable without scikit-learn. Under torch.distributed on CUDA,
    ``sync_batchnorm`` synchronises BatchNorm statistics across ranks while
    training (see :mod:`skseqclr.training.distributed`).

    Checkpoints (``checkpoint_dir``) record the run's :meth:`identity`:
    ``run_identity``, the parameters of the estimator that built the
    pretrainer, and what the pretrainer knows of the run itself (seed, steps,
    data). ``resume=True`` continues from a checkpoint only if its identity is
    this run's, and raises a ``ValueError`` listing the differences otherwise.
    """

    network: SeqCLRNetwork
    sources: list
    to_microvolts: list
    resample: list
    views: ContrastiveViews
    device: torch.device
    n_epochs: int = 10
    max_steps: int | None = None
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_schedule: str = "cosine"
    temperature: float = 0.1
    precision: str = "fp32"
    num_workers: int = 0
    seed: int = 0
    checkpoint_dir: str | None = None
    checkpoint_every: int | None = None
    resume: bool = False
    run_identity: dict | None = None
    sync_batchnorm: bool = True
    log_every: int = 10
    verbose: int = 0
    snapshot_steps: frozenset = frozenset()
    history: list = field(default_factory=list)
    snapshots: dict = field(default_factory=dict)
    #: Check the loss for NaN/inf at every step (``None``: on every device but CUDA, where reading it would
    #: synchronise each step; there it is checked at the loop's synchronisation points).
    check_each_step: ClassVar[bool | None] = None

    def __post_init__(self):
        self.rank, self.world_size = D.rank(), D.world_size()
        self.steps_per_epoch = len(self._plan(0))
        if self.steps_per_epoch == 0:
            raise ValueError("No batches could be formed from the training windows.")
        total = self.n_epochs * self.steps_per_epoch
        self.total_steps = total if self.max_steps is None else min(total, int(self.max_steps))
        self.network.to(self.device)
        self.model = self.network
        self._restore_batchnorm = None
        if D.is_distributed():
            if self.sync_batchnorm and self.device.type == "cuda":
                self._restore_batchnorm = D.synchronize_batchnorm(self.network)
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(self.network, device_ids=device_ids)
        self.loss_fn = NTXentLoss(self.temperature, gather_distributed=True)
        self.optimizer = torch.optim.AdamW(self.network.parameters(), lr=self.lr,
                                           weight_decay=self.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(self.seed) * 1000 + self.rank)
        self.step = 0
        self.interrupted = False
        self._saved_step = None
        self._new_epoch_sums()
        self._watch_finiteness()

    def _lr_factor(self, step):
        if self.lr_schedule == "constant":
            return 1.0
        if self.lr_schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(step, self.total_steps) / max(self.total_steps, 1)))
        raise ValueError(f"lr_schedule={self.lr_schedule!r} is not 'cosine' or 'constant'.")

    def _plan(self, epoch):
        return plan_epoch(self.sources, self.views.windows_per_batch, seed=self.seed, epoch=epoch,
                          rank=self.rank, world_size=self.world_size)

    # -- checkpoints -------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path | None:
        return None if self.checkpoint_dir is None else Path(self.checkpoint_dir) / CHECKPOINT_NAME

    def _new_epoch_sums(self):
        self.epoch_loss, self.epoch_steps, self.epoch_time = torch.zeros((), device=self.device), 0, 0.0

    def _rank_state(self) -> dict:
        """What differs between ranks: random states and this rank's running loss."""
        state = {"generator": self.generator.get_state(), "torch_rng": torch.get_rng_state(),
                 "epoch_loss": self.epoch_loss.detach().cpu()}
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def state_dict(self) -> dict:
        """The training state; collective under torch.distributed (gathers every rank's random states)."""
        return {
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rank_states": D.all_gather_object(self._rank_state()),
            "world_size": self.world_size,
            "step": self.step,
            "epoch": self.step // self.steps_per_epoch,
            "epoch_steps": self.epoch_steps,
            "epoch_time": self.epoch_time,
            "total_steps": self.total_steps,
            "history": list(self.history),
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "run_identity": self.identity(),
        }

    def identity(self) -> dict:
        """What identifies this run, as plain data: a checkpoint continues only a run with the same identity.

        The estimator's parameters given as ``run_identity`` (less those in
        :data:`skseqclr.training.checkpoint.NOT_IDENTIFYING`), and what the pretrainer
        itself knows: the seed, optimisation and schedule, the number of steps,
        precision and device type, the views, the data's shape (per source:
        windows, channels, samples, sampling rate), its µV factors and
        resampling, a digest of some of its windows, and the package version.
        """
        if getattr(self, "_identity", None) is None:
            views = self.views
            own = {
                "seed": int(self.seed), "lr": self.lr, "weight_decay": self.weight_decay,
                "lr_schedule": self.lr_schedule, "temperature": self.temperature, "precision": self.precision,
                "n_epochs": self.n_epochs, "max_steps": self.max_steps, "total_steps": self.total_steps,
                "steps_per_epoch": self.steps_per_epoch, "device_type": self.device.type,
                "sync_batchnorm": bool(self.sync_batchnorm) if self.device.type == "cuda" else None,
                "batch_size": views.batch_size, "channels_per_window": views.channels_per_window,
                "recombination": views.recombination, "scaling": views.scaling,
                "input_scale": float(views.input_scale), "crop_samples": views.crop_length,
                "n_sources": len(self.sources), "n_windows": [s.n_windows for s in self.sources],
                "n_channels": [s.n_channels for s in self.sources], "n_times": [s.n_times for s in self.sources],
                "data_sfreq": [s.sfreq for s in self.sources], "to_microvolts": list(self.to_microvolts),
                "resample": list(self.resample), "data": sources_digest(self.sources),
                "version": __version__,
            }
            given = {name: value for name, value in (self.run_identity or {}).items() if name not in NOT_IDENTIFYING}
            self._identity = plain({**own, **given})
        return self._identity

    def load_state_dict(self, state: dict) -> None:
        if state["world_size"] != self.world_size:
            raise ValueError(
                f"The checkpoint was written by a run of {state['world_size']} process(es) and this run has "
                f"{self.world_size}: each process's shard of the windows and random state depend on the number "
                "of processes, so resume with the same number (torchrun --nnodes/--nproc-per-node)."
            )
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        own = state["rank_states"][self.rank]
        self.generator.set_state(own["generator"].to(self.generator.get_state().device))
        torch.set_rng_state(own["torch_rng"])
        if "cuda_rng" in own and self.device.type == "cuda":
            torch.cuda.set_rng_state(own["cuda_rng"], self.device)
        self.step = int(state["step"])
        self.epoch_loss = own["epoch_loss"].to(self.device)
        self.epoch_steps, self.epoch_time = int(state["epoch_steps"]), float(state["epoch_time"])
        self.history = list(state["history"])

    def _resume(self) -> None:
        """Continue from the checkpoint, if there is one and it is of this run (collective).

        Every rank reads and checks the file, then all agree: they resume
        together, start afresh together, or all raise the same ``ValueError``
        (a rank that went on alone would wait forever in the collectives).
        """
        path = self.checkpoint_path
        found = D.all_gather_object(path.is_file())
        if not any(found):
            return
        state, failure = None, None
        if not all(found):
            failure = (f"The checkpoint {path} is visible to the processes of ranks "
                       f"{[r for r, seen in enumerate(found) if seen]} only: put checkpoint_dir on a folder every "
                       "process shares.")
        else:
            try:
                state = load_checkpoint(path)
                self._check_checkpoint(state, path)
            except ValueError as error:
                failure = str(error)
        failures = [message for message in D.all_gather_object(failure) if message is not None]
        if failures:
            raise ValueError(failures[0])
        try:
            self.load_state_dict(state)
        except (KeyError, IndexError, TypeError, AttributeError, RuntimeError, ValueError) as error:
            raise ValueError(f"{path} does not hold a state this run can continue from "
                             f"({type(error).__name__}: {str(error)[:300]}); start again without resume, or use "
                             "another checkpoint folder.") from error

    def _check_checkpoint(self, state, path) -> None:
        """Raise ``ValueError`` unless ``state`` is a complete checkpoint of this run."""
        check_checkpoint(state, path, self.identity())
        if state["world_size"] != self.world_size:
            raise ValueError(
                f"The checkpoint {path} was written by a run of {state['world_size']} process(es) and this run "
                f"has {self.world_size}: each process's shard of the windows and random state depend on the "
                "number of processes, so resume with the same number (torchrun --nnodes/--nproc-per-node)."
            )
        where = f"The checkpoint {path} is damaged"
        if not 0 <= state["step"] <= self.total_steps:
            raise ValueError(f"{where}: its step {state['step']} is outside this run's 0..{self.total_steps}.")
        if not 0 <= state["epoch_steps"] <= self.steps_per_epoch:
            raise ValueError(f"{where}: its epoch_steps {state['epoch_steps']} is outside 0..{self.steps_per_epoch}.")
        ranks = state["rank_states"]
        if len(ranks) != self.world_size or not all(
                isinstance(own, dict) and all(isinstance(own.get(key), torch.Tensor)
                                              for key in ("generator", "torch_rng", "epoch_loss")) for own in ranks):
            raise ValueError(f"{where}: its rank_states are not the random states of {self.world_size} process(es).")
        if not all(isinstance(entry, dict) for entry in state["history"]):
            raise ValueError(f"{where}: its history is not a list of one dict per epoch.")
        expected = self.network.state_dict()
        network = state["network"]
        if network.keys() != expected.keys():
            raise ValueError(f"{where}: its network weights are not those of this run's network "
                             f"({len(network)} tensors, this network has {len(expected)}).")
        for name, tensor in expected.items():
            if not isinstance(network[name], torch.Tensor) or network[name].shape != tensor.shape:
                shape = list(getattr(network[name], "shape", []))
                raise ValueError(f"{where}: its network weight {name} has shape {shape}, this run's network "
                                 f"needs {list(tensor.shape)}.")

    def save(self) -> None:
        """Write a checkpoint (rank 0); every rank must call it.

        Raises :class:`TrainingDivergedError` instead if a loss of the run or a
        weight is not finite: a checkpoint never holds a diverged network.
        """
        if self.checkpoint_path is not None:
            self._check_finite()
            state = self.state_dict()
            if D.is_main_process():
                save_checkpoint(state, self.checkpoint_path)
            self._saved_step = self.step

    # -- the loop ------------------------------------------------------------
    def _train_step(self, windows_uv, source_index=0):
        self._last_batch = (windows_uv, source_index)  # a reference, for the diagnosis of a divergence
        view_a, view_b = self.views(windows_uv, self.generator, source_index)
        with autocast(self.device, self.precision):
            projections = self.model(torch.cat([view_a, view_b], dim=0))
        z_a, z_b = projections.float().chunk(2, dim=0)
        loss = self.loss_fn(z_a, z_b)
        self._watch_loss(loss)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        return loss.detach()

    def _snapshot(self) -> None:
        self._check_finite()  # the step synchronises anyway: the copy to the host
        self.snapshots[self.step] = {name: tensor.detach().to("cpu", copy=True)
                                     for name, tensor in self.network.state_dict().items()}

    def run(self) -> list:
        """Train until ``total_steps``; returns the history (one dict per epoch)."""
        if self.resume and self.checkpoint_path is not None:
            self._resume()
        self._watch_finiteness()
        if self.step == 0 and 0 in self.snapshot_steps:
            self._snapshot()  # the initial network: the untrained control of the same seed
        self.network.train()
        show = self.verbose > 0 and D.is_main_process()
        progress = _progress(self.total_steps, self.step, show)
        pin = self.device.type == "cuda"
        agree_to_stop = D.StopAgreement(self.device)
        try:
            with _stop_on_sigint() as stop_requested:
                while self.step < self.total_steps and not self.interrupted:
                    epoch = self.step // self.steps_per_epoch
                    skip = self.step - epoch * self.steps_per_epoch
                    if skip == 0:
                        self._new_epoch_sums()
                    batches = self._plan(epoch)[skip:]
                    interval_loss, interval_steps = torch.zeros((), device=self.device), 0
                    started = time.perf_counter() - self.epoch_time
                    for source_index, windows in iterate_batches(self.sources, batches, num_workers=self.num_workers,
                                                                 pin_memory=pin):
                        windows_uv = to_device_microvolts(windows, self.device, self.to_microvolts[source_index],
                                                          self.resample[source_index])
                        loss = self._train_step(windows_uv, source_index)
                        self.epoch_loss, interval_loss = self.epoch_loss + loss, interval_loss + loss
                        self.epoch_steps, interval_steps = self.epoch_steps + 1, interval_steps + 1
                        self.epoch_time = time.perf_counter() - started
                        self.step += 1
                        if self.step in self.snapshot_steps:
                            self._snapshot()  # copied to the host: the one device sync of such a step
                        progress.update(1)
                        if show and interval_steps >= self.log_every:
                            self._check_finite(weights=False)  # the loss is read here anyway
                            # rank 0's running loss; the history holds the mean over ranks
                            progress.set_postfix(loss=f"{float(interval_loss) / interval_steps:.4f}")
                            interval_loss, interval_steps = torch.zeros((), device=self.device), 0
                        # every rank must leave the loop after the same step (DDP's collectives)
                        self.interrupted = agree_to_stop(stop_requested())
                        ending = self.interrupted or self.step >= self.total_steps
                        if ending or self.step % self.steps_per_epoch == 0:
                            self._record_epoch(epoch, progress if show else None)
                        if self.checkpoint_every and self.step % self.checkpoint_every == 0:
                            self.save()
                        if ending:
                            break
        finally:
            progress.close()
            if self._restore_batchnorm is not None:
                self._restore_batchnorm()
                self._restore_batchnorm = None
        if self._saved_step != self.step:
            self.save()
        if self.interrupted and D.is_main_process():
            where = "" if self.checkpoint_path is None else (
                f" and saved in the checkpoint {self.checkpoint_path} (resume=True continues from it)")
            warnings.warn(
                f"Pretraining interrupted by Ctrl-C after step {self.step} of {self.total_steps}; "
                f"the weights learned so far are kept{where}.", RuntimeWarning, stacklevel=3,
            )
        self.network.eval()
        return self.history

    def _record_epoch(self, epoch, progress=None):
        """Append the epoch's mean loss over steps and ranks to the history (collective).

        Raises :class:`TrainingDivergedError` on every rank if a loss or a weight is not finite.
        """
        mean_loss = float(D.all_reduce_mean(self.epoch_loss / self.epoch_steps))
        self._check_finite()
        if not math.isfinite(mean_loss):  # another rank's loss (the ranks share the negatives and gradients)
            raise self._diverged(self.step)
        entry = {"epoch": epoch, "loss": mean_loss, "steps": self.epoch_steps, "time_s": self.epoch_time}
        if self.history and self.history[-1]["epoch"] == epoch:
            self.history[-1] = entry  # the epoch was interrupted, then resumed
        else:
            self.history.append(entry)
        if progress is not None:
            progress.set_postfix(loss=f"{mean_loss:.4f}", epoch=epoch)


def _progress(total, initial, show):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not show, desc="SeqCLR pretraining", unit="step")


@contextlib.contextmanager
def _stop_on_sigint():
    """Turn Ctrl-C into a request to stop after the current step (main thread only)."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested.is_set
        return

    def handler(signum, frame):
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield requested.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


def set_seed_for_init(seed: int):
    """A context in which module initialisation is reproducible from ``seed``."""
    return _seeded(seed)


@contextlib.contextmanager
def _seeded(seed):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield
