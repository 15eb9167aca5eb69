"""Research tooling, separate from the plugin: linear probes and the label-efficiency protocol (:mod:`.probe`),
classic EEG baselines (:mod:`.baselines`), per-subject normalisation (:mod:`.normalization`) and the choice of the
pretraining length (:mod:`.model_selection`)."""

from .baselines import FIVE_BANDS, LogPower, LogVarianceBandPower, make_riemannian_pipeline, make_tangent_space
from .model_selection import select_pretraining_length
from .normalization import GroupChannelScaler, GroupStandardScaler, standardize_per_group
from .probe import (NORMALIZATIONS, PROBE_SELECTIONS, LinearProbe, evaluate_label_efficiency, format_table,
                    make_linear_probe, plot_label_efficiency, split_by_group, subsample_labels, summarize)

__all__ = ["FIVE_BANDS", "LogPower", "LogVarianceBandPower", "make_riemannian_pipeline", "make_tangent_space",
           "select_pretraining_length", "GroupChannelScaler", "GroupStandardScaler", "standardize_per_group",
           "NORMALIZATIONS", "PROBE_SELECTIONS", "LinearProbe", "evaluate_label_efficiency", "format_table",
           "make_linear_probe", "plot_label_efficiency", "split_by_group", "subsample_labels", "summarize"]
