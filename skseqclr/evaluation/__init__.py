"""Research tooling, separate from the plugin: linear probes (:mod:`.probe`), the label-efficiency protocol
(:mod:`.protocol`) and its tables and figures (:mod:`.reporting`),
classic EEG baselines (:mod:`.baselines`), per-subject normalisation (:mod:`.normalization`) and the choice of the
pretraining length (:mod:`.model_selection`) and of the augmentations (:mod:`.augmentation_selection`)."""

from .augmentation_selection import (AUGMENTATION_CANDIDATES, AugmentationChoice, augmentations_by_cv_rows,
                                     select_augmentations)
from .baselines import FIVE_BANDS, LogPower, LogVarianceBandPower, make_riemannian_pipeline, make_tangent_space
from .model_selection import select_pretraining_length
from .normalization import GroupChannelScaler, GroupStandardScaler, standardize_per_group
from .probe import PROBE_SELECTIONS, LinearProbe, make_linear_probe, subsample_labels
from .protocol import NORMALIZATIONS, evaluate_label_efficiency, split_by_group
from .reporting import format_table, method_label, plot_label_efficiency, summarize

__all__ = ["AUGMENTATION_CANDIDATES", "AugmentationChoice", "augmentations_by_cv_rows", "select_augmentations",
           "FIVE_BANDS", "LogPower", "LogVarianceBandPower", "make_riemannian_pipeline", "make_tangent_space",
           "select_pretraining_length", "GroupChannelScaler", "GroupStandardScaler", "standardize_per_group",
           "NORMALIZATIONS", "PROBE_SELECTIONS", "LinearProbe", "evaluate_label_efficiency", "format_table",
           "make_linear_probe", "plot_label_efficiency", "split_by_group", "subsample_labels", "summarize",
           "method_label"]
