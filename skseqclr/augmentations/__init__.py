"""SeqCLR's six per-channel augmentations (paper §2.2).

:mod:`~skseqclr.augmentations.functional` holds the pure batched tensor
functions, :mod:`~skseqclr.augmentations.transforms` the small classes that
draw strengths within a range and the two-view :class:`ChannelAugmenter`.
"""

from . import functional
from .transforms import (
    AUGMENTATION_NAMES,
    AUTO_FRACTIONS,
    PAPER_RANGES,
    PAPER_SFREQ,
    AmplitudeScale,
    BandStop,
    ChannelAugmentation,
    ChannelAugmenter,
    DCShift,
    GaussianNoise,
    TimeShift,
    ZeroMask,
    make_augmentations,
    resolve_auto_range,
    resolve_auto_ranges,
)

__all__ = [
    "functional",
    "AUGMENTATION_NAMES",
    "AUTO_FRACTIONS",
    "PAPER_RANGES",
    "PAPER_SFREQ",
    "AmplitudeScale",
    "BandStop",
    "ChannelAugmentation",
    "ChannelAugmenter",
    "DCShift",
    "GaussianNoise",
    "TimeShift",
    "ZeroMask",
    "make_augmentations",
    "resolve_auto_range",
    "resolve_auto_ranges",
]
