"""EEG data for skseqclr: a synthetic generator and loaders of public recordings.

Four sources of windows, each ready for :class:`~skseqclr.SeqCLRTransformer`:

- :func:`make_synthetic_eeg`: labelled EEG-like windows in microvolts, in the
  style of ``sklearn.datasets.make_*``, for tests, examples and quick runs.
- :func:`make_synthetic_task`: two-class windows in microvolts whose classes
  differ in one known property (amplitude, band power or a slow potential),
  with subject-specific gains, offsets and background spectra, for telling
  what a feature or an augmentation keeps.
- :func:`fetch_eegmat`: PhysioNet's "EEG During Mental Arithmetic Tasks"
  (``eegmat`` 1.0.0; Zyma et al. 2019), rest vs mental arithmetic, 36
  subjects, as a braindecode ``BaseConcatDataset`` of windows. A local copy laid
  out like PhysioNet's is read without touching the network; otherwise the
  files are downloaded with pooch and checked against their SHA-256 sums.
- :func:`load_eegbci`: PhysioNet's EEG Motor Movement/Imagery dataset
  (``eegmmidb``; Schalk et al. 2004), a thin wrapper over
  :func:`mne.datasets.eegbci.load_data` that cuts one window per T1/T2 cue;
  :func:`load_eegbci_continuous` cuts whole runs into consecutive windows
  for unlabelled pretraining.

Real recordings are returned as MNE reads them, in volts (braindecode's
convention); the estimators' ``units="auto"`` detects this.
"""

from ._common import data_home
from .eegbci import (EEGBCI_RUN_CLASSES, EEGBCI_RUNS, EEGBCI_SFREQ, EEGBCI_SUBJECTS, find_eegbci,  # noqa: F401
                     load_eegbci, load_eegbci_continuous)
from .eegmat import EEGMAT_CHANNELS, EEGMAT_REGISTRY, EEGMAT_SUBJECTS, EEGMAT_URL, fetch_eegmat, find_eegmat
from .synthetic import (SYNTHETIC_CLASS_FREQUENCIES, SYNTHETIC_TASK_KINDS, make_synthetic_eeg,  # noqa: F401
                        make_synthetic_task)

__all__ = [
    "make_synthetic_eeg",
    "make_synthetic_task",
    "fetch_eegmat",
    "load_eegbci",
    "load_eegbci_continuous",
    "data_home",
    "find_eegmat",
    "find_eegbci",
    "EEGMAT_URL",
    "EEGMAT_SUBJECTS",
    "EEGMAT_CHANNELS",
    "EEGMAT_REGISTRY",
    "EEGBCI_RUN_CLASSES",
]
