"""Contrastive pretraining: the training loop (:mod:`.pretrainer`), its views (:mod:`.views`), divergence checks
(:mod:`.divergence`) and precision (:mod:`.precision`), batch loading (:mod:`.loading`), checkpoints
(:mod:`.checkpoint`) and torch.distributed support (:mod:`.distributed`)."""

from .divergence import TrainingDivergedError, nonfinite_tensors
from .precision import autocast, resolve_precision
from .pretrainer import Pretrainer, SeqCLRNetwork
from .views import ContrastiveViews

__all__ = ["Pretrainer", "SeqCLRNetwork", "TrainingDivergedError", "ContrastiveViews", "nonfinite_tensors",
           "resolve_precision", "autocast"]
