"""Batches of windows for training and feature extraction, delivered on the device.

Windows are read in batches through a ``torch.utils.data.DataLoader`` whose
items are whole batches (so reading a lazy braindecode dataset happens in
worker processes, in parallel with training), copied from pinned memory with
non-blocking transfers when the device is a GPU, converted to µV and, where
asked, resampled on the device.

With several sources (multi-dataset pretraining) each batch comes from one
source, so its windows share a channel count and length; the order of batches
mixes the sources.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..inputs import WindowSource

__all__ = ["BatchPlan", "iterate_batches", "to_device_microvolts", "plan_epoch"]


class BatchPlan(Dataset):
    """A list of ``(source_index, window_indices)`` batches, readable by a DataLoader."""

    def __init__(self, sources: list[WindowSource], batches: list[tuple[int, np.ndarray]]):
        self.sources = sources
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, item):
        source_index, indices = self.batches[item]
        return source_index, torch.from_numpy(self.sources[source_index].read(indices))


def plan_epoch(
    sources: list[WindowSource],
    windows_per_batch: int,
    *,
    seed: int,
    epoch: int,
    shuffle: bool = True,
    rank: int = 0,
    world_size: int = 1,
) -> list[tuple[int, np.ndarray]]:
    """The batches of one training epoch, the same on every call with the same arguments.

    Every window of every source is used once per epoch (up to the last,
    incomplete batch of each source, which is dropped unless it is the only
    one). Under ``torch.distributed`` each rank gets a disjoint shard of the
    same length, so all ranks run the same number of steps.
    """
    rng = np.random.default_rng([seed, epoch])
    batches = []
    for source_index, source in enumerate(sources):
        order = rng.permutation(source.n_windows) if shuffle else np.arange(source.n_windows)
        if world_size > 1:
            order = order[: len(order) - len(order) % world_size][rank::world_size]
        n_full = len(order) // windows_per_batch
        n_batches = max(n_full, 1)
        for b in range(n_batches):
            chunk = order[b * windows_per_batch : (b + 1) * windows_per_batch]
            if len(chunk):
                batches.append((source_index, chunk))
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def iterate_batches(sources, batches, *, num_workers=0, pin_memory=False):
    """Yield ``(source_index, windows)`` CPU tensors for planned batches.

    Parameters
    ----------
    sources : list of WindowSource
    batches : list of (int, np.ndarray)
        From :func:`plan_epoch` or consecutive chunks for feature extraction.
    num_workers : int
        Worker processes reading batches (use > 0 for lazy datasets).
    pin_memory : bool
        Pin batches for fast non-blocking copies to a GPU.
    """
    plan = BatchPlan(sources, batches)
    if num_workers == 0 and not pin_memory:
        for item in range(len(plan)):
            yield plan[item]
        return
    loader = DataLoader(plan, batch_size=None, shuffle=False, num_workers=num_workers,
                        pin_memory=pin_memory, persistent_workers=False,
                        prefetch_factor=4 if num_workers else None)
    yield from loader


def to_device_microvolts(windows: torch.Tensor, device, to_microvolts: float,
                         resample: tuple[int, int] | None = None) -> torch.Tensor:
    """Move a CPU batch to ``device`` (non-blocking), convert to µV, resample if asked.

    Parameters
    ----------
    windows : torch.Tensor of shape (n_windows, n_channels, n_times)
    device : torch.device
    to_microvolts : float
        Factor from the source's units to µV.
    resample : (int, int) or None
        ``(from_hz, to_hz)``: resample along time with torchaudio's
        windowed-sinc resampler, on the device.
    """
    windows = windows.to(device, non_blocking=True)
    if to_microvolts != 1.0:
        windows = windows * to_microvolts
    if resample is not None and resample[0] != resample[1]:
        import torchaudio.functional as TAF

        # torchaudio views the input as (-1, n_times): windows read from mne.Epochs are not C-contiguous
        windows = TAF.resample(windows.contiguous(), resample[0], resample[1])
    return windows


def consecutive_batches(n_windows: int, windows_per_batch: int, source_index: int = 0):
    """Batches covering ``range(n_windows)`` in order (for feature extraction)."""
    return [
        (source_index, np.arange(start, min(start + windows_per_batch, n_windows)))
        for start in range(0, n_windows, windows_per_batch)
    ]
