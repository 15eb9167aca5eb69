"""The networks of SeqCLR (paper §2.3): the channel encoders, the projector and classification heads, the NT-Xent
loss, and the FFT convolution the long-kernel encoder runs on."""

from .encoders import ENCODER_SIZES, ConvEncoder, RecurrentEncoder, make_encoder
from .heads import HEAD_SIZES, ClassifierHead, Projector, make_projector
from .losses import NTXentLoss, nt_xent

__all__ = ["ENCODER_SIZES", "ConvEncoder", "RecurrentEncoder", "make_encoder", "HEAD_SIZES", "ClassifierHead",
           "Projector", "make_projector", "NTXentLoss", "nt_xent", "SeqCLRNet", "SeqCLREncoder"]


def __getattr__(name):
    # SeqCLRNet and SeqCLREncoder subclass braindecode's EEGModuleMixin: importing braindecode's models costs
    # about a second, so they are imported on first use rather than with the package.
    if name in ("SeqCLRNet", "SeqCLREncoder"):
        from . import seqclr_net

        return getattr(seqclr_net, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
