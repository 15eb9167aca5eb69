"""The SeqCLR pretraining loop in plain PyTorch (paper §2.3, "Learning algorithm").

One step:

1. read a batch of windows (DataLoader, pinned memory, non-blocking copy);
2. convert to µV and draw single channels of the recombined set on the device
   (:mod:`skseqclr.recombination`, §2.1);
3. make two augmented views of each channel (:mod:`skseqclr.augmentations`,
   §2.2) and scale them with the clean channel's statistics
   (:mod:`skseqclr.scaling`);
4. encode and project both views in one forward pass, NT-Xent
   (:mod:`skseqclr.losses`), backward, optimiser and scheduler step.

The loss is accumulated on the device and read only at logging intervals and
epoch ends, so a step has no host-device synchronisation of its own. Under
``torchrun`` the network is wrapped in DistributedDataParallel, each rank reads
its shard, and NT-Xent draws negatives from all ranks. Checkpoints are written
atomically every ``checkpoint_every`` steps and at the end; ``resume``
continues from the last one, bit for bit on the CPU. Ctrl-C stops after the
current step and keeps the weights learned so far.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from . import distributed as D
from .augmentations.functional import crop
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from .loading import iterate_batches, plan_epoch, to_device_microvolts
from .losses import NTXentLoss
from .recombination import recombine, sample_channel_pairs
from .scaling import scaling_statistics

__all__ = ["SeqCLRNetwork", "ContrastiveViews", "Pretrainer", "autocast", "resolve_precision"]


class SeqCLRNetwork(nn.Module):
    """Encoder followed by projector: single channels ``(batch, time)`` -> ``(batch, 32)``."""

    def __init__(self, encoder: nn.Module, projector: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.projector = projector

    def forward(self, x):
        return self.projector(self.encoder(x))


def resolve_precision(precision: str, device: torch.device) -> str:
    """Turn ``"auto"`` into ``"bf16"`` or ``"fp32"`` for ``device``.

    ``"auto"`` picks bf16 on CPUs with native bf16 matrix instructions (AMX or
    AVX512-BF16), where it is several times faster than fp32; elsewhere on CPUs
    bf16 is emulated and far slower, so fp32. On CUDA ``"auto"`` is fp32, whose
    convolutions cuDNN runs in TF32 (PyTorch's default,
    ``torch.backends.cudnn.allow_tf32``): measured on an H200, bf16 autocast
    made the convolutional encoder's training step slower, not faster.
    """
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision={precision!r} is not one of 'auto', 'fp32', 'bf16'.")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        # benchmarks/bench_pretrain.py on an H200 (torch 2.11, CUDA 13; 256 channels of 512 samples): a step of
        # the paper-size convolutional encoder took 0.27-0.29 s in fp32 (TF32 convolutions) and 2.4-2.5 s under
        # bf16 autocast, with cudnn.benchmark on or off; the small encoder 0.018 s against 0.023 s.
        return "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return "fp32"


def cpu_has_native_bf16() -> bool:
    """True if this CPU has AMX-BF16 or AVX512-BF16 instructions."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def autocast(device: torch.device, precision: str):
    """An autocast context for ``precision`` (a no-op for fp32)."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@dataclass
class ContrastiveViews:
    """Turns a batch of windows (µV) into two scaled, augmented views of single channels.

    Parameters
    ----------
    batch_size : int
        Single channels per step (N); the loss sees 2N views.
    channels_per_window : int
        Channels drawn from each window.
    recombination : bool
        Draw from the n² recombined channels (§2.1) or the originals only.
    augmenter : ChannelAugmenter
    scaling : str
        See :mod:`skseqclr.scaling`.
    input_scale : float
        Constant of the ``"global"`` scaling, in µV.
    crop_length : int or None
        If set, each view is first cut to this many consecutive samples of its
        channel, each view and channel from its own uniformly drawn start, so
        the two views of a channel are two (possibly overlapping) stretches of
        it; ``None`` augments the whole channel twice (the paper).
    candidates : list of (torch.Tensor, torch.Tensor), or None
        Per source (in the order of the pretrainer's sources), the channel
        pairs to draw from instead of ``recombination``'s set
        (:func:`skseqclr.recombination.sample_channel_pairs`), on the
        training device.
    """

    batch_size: int
    channels_per_window: int
    recombination: bool
    augmenter: object
    scaling: str
    input_scale: float = 1.0
    crop_length: int | None = None
    candidates: list | None = None

    @property
    def windows_per_batch(self) -> int:
        return max(1, math.ceil(self.batch_size / self.channels_per_window))

    def __call__(self, windows_uv: torch.Tensor, generator: torch.Generator, source_index: int = 0):
        candidates = None if self.candidates is None else self.candidates[source_index]
        first, second = sample_channel_pairs(
            windows_uv.shape[0], windows_uv.shape[1], self.channels_per_window,
            recombination=self.recombination, generator=generator, device=windows_uv.device,
            candidates=candidates,
        )
        recombined = recombine(windows_uv, first, second)
        channels = recombined.flatten(0, 1)[: self.batch_size]
        center, scale = (statistic[: self.batch_size] for statistic in
                         scaling_statistics(recombined, windows_uv, self.scaling, self.input_scale))
        if self.crop_length is None:
            view_a, view_b = self.augmenter(channels, generator)
        else:
            view_a, view_b = (self.augmenter.augment(self._crop(channels, generator), generator) for _ in range(2))
        return (view_a - center) / scale, (view_b - center) / scale

    def _crop(self, channels, generator):
        n_starts = channels.shape[-1] - self.crop_length + 1
        start = torch.randint(n_starts, (channels.shape[0],), generator=generator, device=channels.device)
        return crop(channels, start, self.crop_length)


@dataclass
class Pretrainer:
    """Runs contrastive pretraining of a :class:`SeqCLRNetwork`.

    The estimator builds one and calls :meth:`run`; everything here is plain
    PyTorch, usable without scikit-learn. Under torch.distributed on CUDA,
    ``sync_batchnorm`` synchronises BatchNorm statistics across ranks while
    training (see :mod:`skseqclr.distributed`).
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
    compile: bool = False
    num_workers: int = 0
    seed: int = 0
    checkpoint_dir: str | None = None
    checkpoint_every: int | None = None
    resume: bool = False
    sync_batchnorm: bool = True
    groups: list | None = None
    log_every: int = 10
    verbose: int = 0
    snapshot_steps: frozenset = frozenset()
    history: list = field(default_factory=list)
    snapshots: dict = field(default_factory=dict)

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
        self._forward = self.model
        if self.compile:
            self._forward = self._compiled(self.model)

    def _lr_factor(self, step):
        if self.lr_schedule == "constant":
            return 1.0
        if self.lr_schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(step, self.total_steps) / max(self.total_steps, 1)))
        raise ValueError(f"lr_schedule={self.lr_schedule!r} is not 'cosine' or 'constant'.")

    def _plan(self, epoch):
        return plan_epoch(self.sources, self.views.windows_per_batch, seed=self.seed, epoch=epoch,
                          rank=self.rank, world_size=self.world_size, groups=self.groups)

    @staticmethod
    def _compiled(model):
        try:
            return torch.compile(model)
        except Exception as error:  # torch.compile is optional; eager always works
            warnings.warn(f"torch.compile is unavailable ({error}); training in eager mode.")
            return model

    def _project(self, views):
        """The network's forward pass; a failing ``torch.compile`` falls back to eager.

        ``torch.compile`` compiles lazily, at the first call (and again for new
        shapes), so that is where a missing C++ compiler or an unsupported
        operator shows up.
        """
        if self._forward is self.model:
            return self.model(views)
        try:
            return self._forward(views)
        except Exception as error:  # torch.compile is optional; eager always works
            warnings.warn(f"torch.compile failed ({type(error).__name__}: {str(error)[:200]}); "
                          "training in eager mode.", RuntimeWarning, stacklevel=2)
            self._forward = self.model
            return self.model(views)

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
        }

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

    def save(self) -> None:
        """Write a checkpoint (rank 0); every rank must call it."""
        if self.checkpoint_path is not None:
            state = self.state_dict()
            if D.is_main_process():
                save_checkpoint(state, self.checkpoint_path)
            self._saved_step = self.step

    # -- the loop ------------------------------------------------------------
    def _train_step(self, windows_uv, source_index=0):
        view_a, view_b = self.views(windows_uv, self.generator, source_index)
        with autocast(self.device, self.precision):
            projections = self._project(torch.cat([view_a, view_b], dim=0))
        z_a, z_b = projections.float().chunk(2, dim=0)
        loss = self.loss_fn(z_a, z_b)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        return loss.detach()

    def _snapshot(self) -> None:
        self.snapshots[self.step] = {name: tensor.detach().to("cpu", copy=True)
                                     for name, tensor in self.network.state_dict().items()}

    def run(self) -> list:
        """Train until ``total_steps``; returns the history (one dict per epoch)."""
        if self.resume and self.checkpoint_path is not None and self.checkpoint_path.is_file():
            self.load_state_dict(load_checkpoint(self.checkpoint_path))
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
        """Append the epoch's mean loss over steps and ranks to the history (collective)."""
        mean_loss = float(D.all_reduce_mean(self.epoch_loss / self.epoch_steps))
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
