"""The tasks of the multi-task suite (:mod:`skseqclr.evaluation.suite`): loading and splitting their windows."""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches

import numpy as np

__all__ = ["SUITE_TASKS", "SuiteSplit", "SuiteTask", "load_task"]

#: The suite's tasks, in the order tables show them.
SUITE_TASKS = ("eegmat", "mi_left_right", "mi_fists_feet", "synthetic_amplitude", "synthetic_bandpower",
               "synthetic_slow_potential")
_REAL_TASKS = ("eegmat", "mi_left_right", "mi_fists_feet")
_MI_RUNS = {"mi_left_right": (4, 8, 12), "mi_fists_feet": (6, 10, 14)}
_MI_PRETRAIN_RUNS = tuple(range(3, 15))
SFREQ = 128.0  # Hz, every task's rate
WINDOW_S = 4.0  # s, the recordings' windows


@dataclass
class SuiteSplit:
    """One train/test split of a suite task; windows are float32 arrays in µV, (n_windows, n_channels, n_times).

    Attributes
    ----------
    name : str
        What the split holds out, e.g. ``"test run 4"``.
    X_pretrain : np.ndarray
        Unlabelled windows the extractors are fitted on (never of the test subjects or run).
    groups_pretrain : np.ndarray
        Their groups (subject or run).
    X_train, y_train, groups_train : np.ndarray
        Labelled training windows, their labels and groups (subject or run).
    X_test, y_test, groups_test : np.ndarray
        Test windows, labels and groups.
    """

    name: str
    X_pretrain: np.ndarray = field(repr=False)
    groups_pretrain: np.ndarray = field(repr=False)
    X_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    groups_train: np.ndarray = field(repr=False)
    X_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    groups_test: np.ndarray = field(repr=False)


@dataclass
class SuiteTask:
    """A task of the suite: its windows split for the label-efficiency protocol.

    Attributes
    ----------
    name : str
        One of :data:`SUITE_TASKS` (or a name of the user's own).
    description : str
        What the task is, how it is split and grouped.
    sfreq : float
        Sampling frequency of the windows in Hz.
    ch_names : list of str or None
        Channel names (None for the synthetic tasks).
    splits : list of SuiteSplit
        The folds; results are averaged over them.
    """

    name: str
    description: str
    sfreq: float
    ch_names: list | None
    splits: list


def _check_task_name(name):
    if not isinstance(name, str):
        raise TypeError(f"A suite task is a name (str) or a SuiteTask, got {type(name).__name__}; the tasks are "
                        f"{', '.join(SUITE_TASKS)}.")
    if name not in SUITE_TASKS:
        close = get_close_matches(name, SUITE_TASKS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"Unknown suite task {name!r}{hint}; the tasks are {', '.join(SUITE_TASKS)}.")


def load_task(name, data_dir=None, random_state=0) -> SuiteTask:
    """Load one task of the suite, split for the label-efficiency protocol.

    Parameters
    ----------
    name : str
        One of :data:`SUITE_TASKS` (each described in :mod:`skseqclr.evaluation.suite`).
    data_dir : str, path or None
        Folder holding the recordings (``eegmat/`` with the EDF files,
        ``eegbci/`` laid out as MNE caches it), or the dataset's own folder;
        None looks in :func:`skseqclr.datasets.data_home`. Nothing is ever
        downloaded. Unused by the synthetic tasks.
    random_state : int, default=0
        Seed of the synthetic tasks' windows; unused by the recordings.

    Returns
    -------
    SuiteTask

    Raises
    ------
    ValueError
        For an unknown task name (TypeError for a name that is not a string).
    FileNotFoundError
        When a task's recordings are not found in ``data_dir``.
    """
    _check_task_name(name)
    if name == "eegmat":
        return _load_eegmat(data_dir)
    if name in _MI_RUNS:
        return _load_motor_imagery(name, data_dir)
    return _load_synthetic(name.removeprefix("synthetic_"), random_state)


def _where(data_dir):
    from ..datasets import data_home

    return (f"data_dir={str(data_dir)!r}" if data_dir is not None else
            f"{data_home()} (data_home(); pass data_dir=..., e.g. the folder holding eegmat/ and eegbci/)")


def _microvolts(windows):
    """Every window of a braindecode windows dataset (volts) as one float32 array in µV, and the channel names."""
    from ..inputs import as_window_source

    source = as_window_source(windows)
    X = np.asarray(source.read(np.arange(source.n_windows)), dtype=np.float32) * np.float32(1e6)
    return X, list(source.ch_names)


def _ranges(values):
    values = sorted(int(v) for v in values)
    if values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}"
    return ",".join(map(str, values))


def _load_eegmat(data_dir) -> SuiteTask:
    from ..datasets import fetch_eegmat, find_eegmat
    from ..inputs import extract_targets

    folder = find_eegmat(data_dir)
    if folder is None:
        raise FileNotFoundError(f"Task 'eegmat' needs the EEGMAT recordings (SubjectNN_1.edf and SubjectNN_2.edf); "
                                f"none found in {_where(data_dir)}.")
    present = {int(p.name[7:9]) for p in folder.glob("Subject*_1.edf")}
    subjects = sorted(present & {int(p.name[7:9]) for p in folder.glob("Subject*_2.edf")})
    train_subjects = [s for s in subjects if s < 24]
    test_subjects = [s for s in subjects if s >= 24]
    if not train_subjects or not test_subjects:
        raise FileNotFoundError(f"Task 'eegmat' needs subjects 0-23 (train) and 24-35 (test); {folder} holds "
                                f"subjects {subjects}.")
    windows = fetch_eegmat(folder, subjects, window_size_s=WINDOW_S, sfreq=SFREQ, preload=True, download=False)
    X, ch_names = _microvolts(windows)
    y = np.asarray(extract_targets(windows), dtype=np.int64)
    groups = windows.get_metadata()["subject"].to_numpy().astype(np.int64)
    train = groups < 24
    X_train = X[train]  # also the pretraining windows (one array)
    split = SuiteSplit(f"test subjects {_ranges(test_subjects)}", X_train, groups[train], X_train, y[train],
                       groups[train], X[~train], y[~train], groups[~train])
    description = (f"EEGMAT: rest vs mental arithmetic, {len(subjects)} subjects, {len(ch_names)} channels, "
                   f"{WINDOW_S:g}-s windows at {SFREQ:g} Hz; subjects {_ranges(train_subjects)} train (and "
                   f"pretrain), {_ranges(test_subjects)} test; grouped by subject")
    return SuiteTask("eegmat", description, SFREQ, ch_names, [split])


def _load_motor_imagery(name, data_dir) -> SuiteTask:
    from ..datasets import EEGBCI_RUN_CLASSES, data_home, find_eegbci, load_eegbci, load_eegbci_continuous

    folder = find_eegbci(data_home() if data_dir is None else data_dir)
    if folder is None:
        raise FileNotFoundError(f"Task {name!r} needs eegmmidb's subject 1 (MNE-eegbci-data, runs 3-14); none "
                                f"found in {_where(data_dir)}.")
    runs = _MI_RUNS[name]
    band = dict(sfreq=SFREQ, l_freq=0.5, h_freq=45.0)
    try:
        cues = load_eegbci(1, runs, folder, tmin=0.0, tmax=WINDOW_S, **band)
        continuous = load_eegbci_continuous(1, _MI_PRETRAIN_RUNS, folder, window_size_s=WINDOW_S, **band)
    except (OSError, ValueError) as error:  # MNE would download the missing runs: refuse instead
        raise FileNotFoundError(f"Task {name!r}: cannot read eegmmidb subject 1, runs 3-14, in {folder} "
                                f"({type(error).__name__}: {error}).") from None
    X, ch_names = _microvolts(cues)
    y = cues.get_metadata()["target"].to_numpy().astype(np.int64)
    run = np.concatenate([np.full(len(d), r) for d, r in zip(cues.datasets, cues.description["run"])])
    X_all, _ = _microvolts(continuous)
    run_all = np.concatenate([np.full(len(d), r) for d, r in zip(continuous.datasets, continuous.description["run"])])
    splits = []
    for test_run in runs:
        test = run == test_run
        pretrain = run_all != test_run
        splits.append(SuiteSplit(f"test run {test_run}", X_all[pretrain], run_all[pretrain], X[~test], y[~test],
                                 run[~test], X[test], y[test], run[test]))
    _, class_0, class_1 = EEGBCI_RUN_CLASSES[runs[0]]
    description = (f"eegmmidb subject 1, imagined {class_0} vs {class_1}: runs {', '.join(map(str, runs))}, one "
                   f"{WINDOW_S:g}-s window from each cue, {len(ch_names)} channels band-passed 0.5-45 Hz at "
                   f"{SFREQ:g} Hz; leave one run out (3 splits), grouped by run; pretraining on consecutive "
                   f"{WINDOW_S:g}-s windows of every other run of 3-14")
    return SuiteTask(name, description, SFREQ, ch_names, splits)


def _load_synthetic(kind, random_state) -> SuiteTask:
    from ..datasets import make_synthetic_task

    X, y, groups = make_synthetic_task(kind, random_state=random_state)
    subjects = np.unique(groups)
    train = np.isin(groups, subjects[:round(2 * len(subjects) / 3)])
    X_train = X[train]  # also the pretraining windows (one array)
    split = SuiteSplit(f"test subjects {_ranges(np.unique(groups[~train]))}", X_train, groups[train], X_train,
                       y[train], groups[train], X[~train], y[~train], groups[~train])
    description = (f"synthetic ({kind}): make_synthetic_task({kind!r}, random_state={random_state}), "
                   f"{len(subjects)} subjects, {X.shape[1]} channels, {X.shape[2] / SFREQ:g}-s windows at "
                   f"{SFREQ:g} Hz; subjects {_ranges(subjects[:len(np.unique(groups[train]))])} train (and "
                   f"pretrain), the rest test; grouped by subject")
    return SuiteTask(f"synthetic_{kind}", description, SFREQ, None, [split])
