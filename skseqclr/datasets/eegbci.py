"""PhysioNet's EEG Motor Movement/Imagery dataset (``eegmmidb``).

:func:`load_eegbci` cuts one window per cue, :func:`load_eegbci_continuous` whole runs into windows.
"""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np

from ._common import _check_subjects, _check_window_params, _fixed_length_windows, _progress, _resample


#: Runs of eegmmidb with T1/T2 cues: what the two classes are in each run.
#: Targets are 0 for T1 and 1 for T2.
EEGBCI_RUN_CLASSES = {
    **{run: ("execution", "left fist", "right fist") for run in (3, 7, 11)},
    **{run: ("imagery", "left fist", "right fist") for run in (4, 8, 12)},
    **{run: ("execution", "both fists", "both feet") for run in (5, 9, 13)},
    **{run: ("imagery", "both fists", "both feet") for run in (6, 10, 14)},
}
EEGBCI_SUBJECTS = tuple(range(1, 110))
EEGBCI_RUNS = tuple(range(1, 15))
_EEGBCI_BASELINES = {1: "eyes open", 2: "eyes closed"}  # runs without cues
EEGBCI_SFREQ = 160.0  # every eegmmidb recording's rate, Hz


def find_eegbci(path=None) -> Path | None:
    """The folder to pass to :func:`mne.datasets.eegbci.load_data` as ``path``, if one exists locally.

    Parameters
    ----------
    path : str, path or None
        A folder holding ``MNE-eegbci-data`` (MNE's cache layout), or one with
        an ``eegbci`` sub-folder that does. None returns None (MNE's own
        configured path is used then).

    Returns
    -------
    Path or None
    """
    if path is None:
        return None
    for folder in (Path(path).expanduser(), Path(path).expanduser() / "eegbci"):
        if (folder / "MNE-eegbci-data").is_dir():
            return folder
    return None


def load_eegbci(subject=1, runs=(4, 8, 12), path=None, *, tmin=0.0, tmax=4.0, sfreq=None, l_freq=None,
                h_freq=None, preload=True, verbose=False):
    """Load motor imagery/execution trials of PhysioNet's eegmmidb as braindecode windows.

    A thin wrapper over :func:`mne.datasets.eegbci.load_data` (which
    downloads the EDF files unless they are in ``path``), channel names
    standardised with :func:`mne.datasets.eegbci.standardize`, and one window
    per T1/T2 cue cut with braindecode's ``create_windows_from_events``.
    For unlabelled pretraining on whole runs, see
    :func:`load_eegbci_continuous`.

    Parameters
    ----------
    subject : int or list of int, default=1
        Subject numbers 1-109.
    runs : int or sequence of int, default=(4, 8, 12)
        Runs with cues, all of one pair of classes (``EEGBCI_RUN_CLASSES``):
        runs 3, 7, 11 (executed) and 4, 8, 12 (imagined) are left fist (target
        0) vs right fist (target 1); runs 5, 9, 13 (executed) and 6, 10, 14
        (imagined) are both fists (0) vs both feet (1). Mixing the two pairs
        raises ``ValueError``, since their targets would mean different things.
    path : str, path or None
        Folder holding ``MNE-eegbci-data`` (or its parent, holding
        ``eegbci/MNE-eegbci-data``); None uses MNE's configured path
        (``MNE_DATASETS_EEGBCI_PATH``, by default ``~/mne_data``).
    tmin, tmax : float, default=0.0, 4.0
        Window start and end relative to each cue, in seconds.
    sfreq : float or None
        Resample to this rate in Hz with MNE's polyphase method; None keeps 160 Hz.
    l_freq, h_freq : float or None
        Band-pass (or high-pass, low-pass) each whole run with MNE's default
        FIR filter (:meth:`mne.io.Raw.filter`) before resampling and cutting,
        in Hz; None leaves that edge open. The recordings are stored
        unfiltered; ``l_freq=0.5, h_freq=45`` matches EEGMAT's preprocessing.
    preload : bool, default=True
        Load the signals into memory. Resampling and filtering load them regardless.
    verbose : bool, default=False
        Show progress bars.

    Returns
    -------
    braindecode.datasets.BaseConcatDataset
        One windows dataset per run, 64 channels, in volts. Description:
        ``subject``, ``run``, ``task`` (``"imagery"`` or ``"execution"``),
        ``class_0``, ``class_1`` (what targets 0 and 1 mean).
    """
    import mne

    if not isinstance(tmin, numbers.Real) or not isinstance(tmax, numbers.Real) or not tmax > tmin:
        raise ValueError(f"Need tmin < tmax (seconds), got tmin={tmin!r}, tmax={tmax!r}.")
    _check_window_params(None, None, sfreq)
    _check_band(l_freq, h_freq, EEGBCI_SFREQ)
    subjects = _check_subjects(subject, EEGBCI_SUBJECTS, name="subject")
    runs = [runs] if isinstance(runs, numbers.Integral) else list(runs)
    unknown = [r for r in runs if r not in EEGBCI_RUN_CLASSES]
    if not runs or unknown:
        raise ValueError(f"runs {unknown or runs} have no T1/T2 cues; choose from {sorted(EEGBCI_RUN_CLASSES)}.")
    pairs = {EEGBCI_RUN_CLASSES[r][1:] for r in runs}
    if len(pairs) > 1:
        raise ValueError(
            f"runs {runs} mix the left/right fist runs (3, 4, 7, 8, 11, 12) with the fists/feet runs "
            "(5, 6, 9, 10, 13, 14); targets 0/1 would mean different movements. Load them separately."
        )

    from braindecode.datasets import BaseConcatDataset, RawDataset
    from braindecode.preprocessing import create_windows_from_events

    recordings = []
    for subj, run, raw in _read_eegbci_runs(subjects, runs, path, sfreq, l_freq, h_freq, preload, verbose):
        # Windows start at cue + tmin and end at cue + tmax whatever each cue's
        # annotated duration (4.1 or 4.2 s), so every window has the same length.
        ann = raw.annotations
        raw.set_annotations(mne.Annotations(ann.onset, np.zeros_like(ann.duration), ann.description,
                                            orig_time=ann.orig_time))
        task, class_0, class_1 = EEGBCI_RUN_CLASSES[run]
        recordings.append(RawDataset(raw, {"subject": subj, "run": run, "task": task,
                                           "class_0": class_0, "class_1": class_1}))
    rate = float(recordings[0].raw.info["sfreq"])
    start, stop = int(round(tmin * rate)), int(round(tmax * rate))
    return create_windows_from_events(
        BaseConcatDataset(recordings), trial_start_offset_samples=start, trial_stop_offset_samples=stop,
        window_size_samples=stop - start, window_stride_samples=stop - start,
        mapping={"T1": 0, "T2": 1}, preload=preload,
    )


def load_eegbci_continuous(subject=1, runs=EEGBCI_RUNS, path=None, *, window_size_s=4.0, window_stride_s=None,
                           sfreq=None, l_freq=None, h_freq=None, preload=True, verbose=False):
    """Load whole runs of PhysioNet's eegmmidb, cut into consecutive windows, for unlabelled pretraining.

    Unlike :func:`load_eegbci`, the windows ignore the cues: they cover each
    run from its start (rest periods, cues and the baselines' eyes-open and
    eyes-closed runs alike), which is what contrastive pretraining needs and
    what a labelled task's windows must not be mixed with. Same reading as
    :func:`load_eegbci` (:func:`mne.datasets.eegbci.load_data`, channel names
    standardised), windows cut with braindecode's ``create_fixed_length_windows``.

    Parameters
    ----------
    subject : int or list of int, default=1
        Subject numbers 1-109.
    runs : int or sequence of int, default=all 14
        Runs 1-14: 1 and 2 are the eyes-open and eyes-closed baselines (about
        61 s each), 3-14 the motor runs (about 125 s each, see
        ``EEGBCI_RUN_CLASSES``).
    path : str, path or None
        As in :func:`load_eegbci`.
    window_size_s : float or None, default=4.0
        Window length in seconds; each run's last incomplete window is
        dropped. None returns the continuous runs.
    window_stride_s : float or None
        Seconds between window starts; None means ``window_size_s`` (no overlap).
    sfreq : float or None
        Resample to this rate in Hz with MNE's polyphase method; None keeps 160 Hz.
    l_freq, h_freq : float or None
        Band edges in Hz of the filter applied to each whole run before
        resampling and cutting, as in :func:`load_eegbci`; None leaves that edge open.
    preload : bool, default=True
        Load the signals into memory. Resampling and filtering load them regardless.
    verbose : bool, default=False
        Show progress bars.

    Returns
    -------
    braindecode.datasets.BaseConcatDataset
        One dataset per run, 64 channels, in volts, without targets.
        Description: ``subject``, ``run``, ``task`` (``"eyes open"``, ``"eyes
        closed"``, ``"imagery"`` or ``"execution"``).

    Examples
    --------
    >>> eegbci = load_eegbci_continuous(1, runs=range(3, 15), path="../shared/data/eegbci",
    ...                                 sfreq=128, l_freq=0.5, h_freq=45)  # doctest: +SKIP
    >>> SeqCLRTransformer(model_size="small").fit(MultiDataset([fetch_eegmat(sfreq=128), eegbci]))  # doctest: +SKIP
    """
    _check_window_params(window_size_s, window_stride_s, sfreq)
    _check_band(l_freq, h_freq, EEGBCI_SFREQ)
    subjects = _check_subjects(subject, EEGBCI_SUBJECTS, name="subject")
    runs = [runs] if isinstance(runs, numbers.Integral) else list(runs)
    unknown = [r for r in runs if r not in EEGBCI_RUNS]
    if not runs or unknown:
        raise ValueError(f"runs {unknown or runs} do not exist; eegmmidb has runs 1-14.")

    from braindecode.datasets import RawDataset

    tasks = {**_EEGBCI_BASELINES, **{run: classes[0] for run, classes in EEGBCI_RUN_CLASSES.items()}}
    recordings = [
        RawDataset(raw, {"subject": subj, "run": run, "task": tasks[run]})
        for subj, run, raw in _read_eegbci_runs(subjects, runs, path, sfreq, l_freq, h_freq, preload, verbose)
    ]
    return _fixed_length_windows(recordings, window_size_s, window_stride_s, preload)


def _check_band(l_freq, h_freq, original_sfreq):
    for name, value in (("l_freq", l_freq), ("h_freq", h_freq)):
        if value is not None and (not isinstance(value, numbers.Real) or not value > 0):
            raise ValueError(f"{name} must be None or a positive frequency in Hz, got {value!r}.")
        if value is not None and not value < original_sfreq / 2:
            raise ValueError(f"{name}={value!r} Hz is not below the recordings' Nyquist frequency "
                             f"({original_sfreq / 2:g} Hz).")
    if l_freq is not None and h_freq is not None and not l_freq < h_freq:
        raise ValueError(f"Need l_freq < h_freq for a band-pass, got l_freq={l_freq!r}, h_freq={h_freq!r} (Hz).")


def _read_eegbci_runs(subjects, runs, path, sfreq, l_freq, h_freq, preload, verbose):
    """Yield (subject, run, raw) for every subject and run: names standardised, filtered, resampled."""
    import mne
    from mne.datasets import eegbci

    local = find_eegbci(path)
    mne_path = str(local) if local is not None else (None if path is None else str(path))
    filtering = l_freq is not None or h_freq is not None
    for subj in _progress(subjects, verbose and len(subjects) > 1, "Reading eegbci"):
        files = eegbci.load_data(subj, runs, path=mne_path, update_path=False, verbose="error")
        for run, file in zip(runs, files):
            raw = mne.io.read_raw_edf(file, preload=bool(preload or sfreq is not None or filtering), verbose="error")
            eegbci.standardize(raw)
            # Filter the whole run, before cutting: a 0.5-Hz high-pass needs
            # several seconds of signal, longer than one window.
            if filtering:
                raw.filter(l_freq, h_freq, verbose="error")
            if sfreq is not None and not np.isclose(raw.info["sfreq"], sfreq):
                _resample(raw, sfreq)
            yield subj, run, raw
