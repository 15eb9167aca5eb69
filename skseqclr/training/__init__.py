"""Contrastive pretraining: the training loop (:mod:`.pretrainer`), batch loading (:mod:`.loading`), checkpoints
(:mod:`.checkpoint`) and torch.distributed support (:mod:`.distributed`)."""

from .pretrainer import Pretrainer, SeqCLRNetwork, TrainingDivergedError

__all__ = ["Pretrainer", "SeqCLRNetwork", "TrainingDivergedError"]
