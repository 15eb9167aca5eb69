"""skseqclr: SeqCLR self-supervised EEG features for scikit-learn, braindecode and MNE.

SeqCLR is the contrastive method of Mohsenvand, Izadi & Maes, "Contrastive
Representation Learning for Electroencephalogram Classification" (ML4H 2020).
"""

from ._version import __version__
from . import datasets
from .augmentations import PAPER_RANGES
from .inputs import MultiDataset
from .plotting import plot_augmentations
from .options import Checkpointing, Preprocessing, Readout
from .transformer import PAPER_SETTINGS, SeqCLRTransformer
from .classifier import LogSoftmaxClassifier, SeqCLRClassifier

__all__ = ["__version__", "PAPER_RANGES", "PAPER_SETTINGS", "SeqCLRTransformer", "Preprocessing", "Readout",
           "Checkpointing", "SeqCLRClassifier", "LogSoftmaxClassifier",
           "MultiDataset", "plot_augmentations", "SeqCLRNet", "SeqCLREncoder"]


def __getattr__(name):
    # SeqCLRNet and SeqCLREncoder subclass braindecode's EEGModuleMixin: importing braindecode's models costs
    # about a second, so they are imported on first use rather than with the package.
    if name in ("SeqCLRNet", "SeqCLREncoder"):
        from .nn import seqclr_net

        return getattr(seqclr_net, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
