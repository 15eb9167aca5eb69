"""skseqclr: SeqCLR self-supervised EEG features for scikit-learn, braindecode and MNE.

SeqCLR is the contrastive method of Mohsenvand, Izadi & Maes, "Contrastive
Representation Learning for Electroencephalogram Classification" (ML4H 2020).
"""

from ._version import __version__
from .augmentations import PAPER_RANGES
from .transformer import SeqCLRTransformer

__all__ = ["__version__", "PAPER_RANGES", "SeqCLRTransformer"]
