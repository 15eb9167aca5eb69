"""The two augmented, scaled views of single channels that the contrastive loss compares."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..augmentations.functional import crop
from ..recombination import recombine, sample_channel_pairs
from ..scaling import scaling_statistics

__all__ = ["ContrastiveViews"]


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
    """

    batch_size: int
    channels_per_window: int
    recombination: bool
    augmenter: object
    scaling: str
    input_scale: float = 1.0
    crop_length: int | None = None

    @property
    def windows_per_batch(self) -> int:
        return max(1, math.ceil(self.batch_size / self.channels_per_window))

    def __call__(self, windows_uv: torch.Tensor, generator: torch.Generator, source_index: int = 0):
        first, second = sample_channel_pairs(
            windows_uv.shape[0], windows_uv.shape[1], self.channels_per_window,
            recombination=self.recombination, generator=generator, device=windows_uv.device,
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
