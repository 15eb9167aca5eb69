"""Datasets of the ``skseqclr`` subcommands: loading, and the train/test split by subject (or run)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import DATASETS, EEGBCI_CUE_RUNS, UsageError

@dataclass
class Split:
    """Windows of a dataset with labels and the train/test assignment."""

    name: str
    X: object
    y: np.ndarray
    groups: np.ndarray
    train: np.ndarray
    description: str
    metadata: object = None
    sfreq: float | None = None
    unsplittable: str | None = None

    def part(self, which):
        """``(X, y)`` of ``"train"``, ``"test"`` or ``"all"``."""
        if which == "all":
            return self.X, self.y
        mask = self._mask(which)
        return _subset(self.X, mask), self.y[mask]

    def part_groups(self, which):
        """The groups (subjects, or runs) of the windows of :meth:`part`."""
        return self.groups if which == "all" else self.groups[self._mask(which)]

    def _mask(self, which):
        if self.unsplittable:
            raise UsageError(self.unsplittable)
        return self.train if which == "train" else ~self.train


def _subset(X, mask):
    indices = np.flatnonzero(mask)
    if isinstance(X, np.ndarray):
        return X[indices]
    from braindecode.datasets import BaseConcatDataset

    # Windows of one recording are contiguous; keep whole recordings.
    keep, start = [], 0
    for dataset in X.datasets:
        stop = start + len(dataset)
        if mask[start:stop].all():
            keep.append(dataset)
        elif mask[start:stop].any():
            raise RuntimeError("a recording straddles the train/test split")
        start = stop
    return BaseConcatDataset(keep)


def _proportional_split(subjects, train_subjects=None):
    subjects = sorted(set(subjects))
    if len(subjects) < 2:
        raise UsageError(f"splitting by subject needs at least 2 subjects, got {subjects}; "
                         "load more subjects (--subjects).")
    if train_subjects is not None and set(train_subjects) & set(subjects) and set(subjects) - set(train_subjects):
        return [s for s in subjects if s in train_subjects]
    n_train = min(len(subjects) - 1, max(1, round(2 * len(subjects) / 3)))
    return subjects[:n_train]


def _check_data_dir(path):
    if path is not None and not path.exists():
        raise UsageError(f"--data-dir {path} does not exist.")
    if path is not None and not path.is_dir():
        raise UsageError(f"--data-dir {path} is not a folder.")


def _load(name, args, quiet) -> Split:
    from ..inputs import extract_targets

    if name == "synthetic":
        from ..datasets import make_synthetic_eeg

        try:
            X, y = make_synthetic_eeg(n_windows=args.n_windows, n_channels=8,
                                      n_times=int(round(args.window_s * args.sfreq)), sfreq=args.sfreq,
                                      random_state=0)
        except ValueError as exc:
            raise UsageError(f"synthetic data: {exc}") from None
        train = np.arange(len(y)) < round(2 * len(y) / 3)
        return Split(name, X, y, np.where(train, 0, 1), train,
                     f"synthetic: {len(y)} windows (first 2/3 train), 8 channels, {args.window_s:g} s at "
                     f"{args.sfreq:g} Hz, 10 Hz vs 20 Hz rhythms (make_synthetic_eeg)", sfreq=args.sfreq)
    if name == "eegmat":
        from ..datasets import EEGMAT_SUBJECTS, fetch_eegmat, find_eegmat

        folder = find_eegmat(args.data_dir)
        subjects = args.subjects
        if subjects is None and folder is not None:
            present = {int(p.name[7:9]) for p in folder.glob("Subject*_1.edf")}
            subjects = sorted(present & {int(p.name[7:9]) for p in folder.glob("Subject*_2.edf")})
        if subjects is not None and any(s not in EEGMAT_SUBJECTS for s in subjects):
            raise UsageError(f"eegmat has subjects 0-35, got {subjects}.")
        path = folder if folder is not None else args.data_dir
        X = fetch_eegmat(path, subjects, window_size_s=args.window_s, sfreq=args.sfreq, preload=True,
                         download=not args.no_download, verbose=not quiet)
        metadata = X.get_metadata()
        groups = metadata["subject"].to_numpy()
        train_subjects = _proportional_split(groups, train_subjects=range(24))
        train = np.isin(groups, train_subjects)
        test_subjects = sorted(set(groups) - set(train_subjects))
        description = (f"eegmat: {len(set(groups))} subjects, train {_ranges(train_subjects)}, "
                       f"test {_ranges(test_subjects)}; 19 channels, {args.window_s:g}-s windows at {args.sfreq:g} Hz")
        return Split(name, X, np.asarray(extract_targets(X)), groups, train, description, metadata, args.sfreq)
    if name == "eegbci":
        from ..datasets import EEGBCI_RUNS, find_eegbci, load_eegbci

        path = find_eegbci(args.data_dir)
        if args.data_dir is not None and path is None:
            path = args.data_dir  # MNE downloads into it
        subjects = args.subjects or [1]
        if getattr(args, "eegbci_windows", "cues") == "runs":
            return _load_eegbci_runs(subjects, list(args.runs or EEGBCI_RUNS), path, args, quiet)
        runs = args.runs or EEGBCI_CUE_RUNS
        X = load_eegbci(subjects, runs=runs, path=path, tmin=0.0, tmax=args.window_s, sfreq=args.sfreq,
                        verbose=not quiet)
        metadata = X.get_metadata()
        run_of_window = _run_of_window(X)
        subject_of_window = metadata["subject"].to_numpy()
        unsplittable = None
        if len(subjects) == 1:
            if len(set(runs)) < 2:
                unsplittable = "eegbci with one subject splits by run: give at least 2 --runs."
            groups = run_of_window
            train = run_of_window != max(runs)
            split = f"train runs {sorted(set(runs) - {max(runs)})}, test run {max(runs)}"
        else:
            groups = subject_of_window
            train, split = _split_by_subject(groups)
        description = (f"eegbci: subject(s) {_ranges(subjects)}, runs {runs}, {split}; "
                       f"64 channels, {args.window_s:g}-s windows from each cue at {args.sfreq:g} Hz")
        return Split(name, X, np.asarray(extract_targets(X)), groups, train, description, metadata, args.sfreq,
                     unsplittable)
    raise UsageError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}.")


def _load_eegbci_runs(subjects, runs, path, args, quiet) -> Split:
    """eegmmidb's whole runs cut into consecutive, unlabelled windows, for ``pretrain``."""
    from ..datasets import EEGBCI_RUNS, load_eegbci_continuous

    if any(r not in EEGBCI_RUNS for r in runs):
        raise UsageError(f"eegbci has runs 1-14, got {runs}.")
    X = load_eegbci_continuous(subjects, runs=runs, path=path, window_size_s=args.window_s, sfreq=args.sfreq,
                               verbose=not quiet)
    subject_of_window = X.get_metadata()["subject"].to_numpy()
    if len(subjects) == 1:
        # Splitting one subject by run would put the benchmark's test run (12) on either side depending on
        # --runs; all the runs given are pretraining material instead, so leaving out run 12 is a visible choice.
        groups = _run_of_window(X)  # as for the cue windows
        train = np.ones(len(subject_of_window), dtype=bool)
        split = "every run given in the train split"
    else:
        groups = subject_of_window
        train, split = _split_by_subject(groups)
    description = (f"eegbci whole runs: subject(s) {_ranges(subjects)}, runs {_ranges(runs)}, {split}; "
                   f"64 channels, consecutive {args.window_s:g}-s windows at {args.sfreq:g} Hz, no labels")
    return Split("eegbci", X, np.full(len(subject_of_window), -1), groups, train, description, sfreq=args.sfreq)


def _run_of_window(X):
    """The run of every window of eegbci windows (one braindecode dataset per run)."""
    return np.concatenate([np.full(len(d), r) for d, r in zip(X.datasets, X.description["run"])])


def _split_by_subject(subject_of_window):
    """The train mask of the first two thirds of the subjects, and its description."""
    train_subjects = _proportional_split(subject_of_window)
    test_subjects = sorted(set(subject_of_window) - set(train_subjects))
    return (np.isin(subject_of_window, train_subjects),
            f"train subjects {_ranges(train_subjects)}, test {_ranges(test_subjects)}")


def _ranges(values):
    """``[0, 1, 2, 5]`` -> ``"0-2,5"``."""
    values = sorted(int(v) for v in values)
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(f"{start}" if start == v else f"{start}-{v}")
            start = None
    return ",".join(parts)


def _auto_dataset(args):
    """Dataset for ``benchmark`` without ``--dataset``: local recordings, else synthetic."""
    from ..datasets import data_home, find_eegbci, find_eegmat

    roots = [args.data_dir] if args.data_dir is not None else [data_home()]
    for root in roots:
        if find_eegmat(root) is not None:
            return "eegmat", None
        if find_eegbci(root) is not None:
            return "eegbci", None
    if args.data_dir is not None:
        raise UsageError(f"no eegmat or eegbci recordings in --data-dir {args.data_dir}; "
                         "pass --dataset to download one, or --dataset synthetic.")
    where = roots[0]
    return "synthetic", (f"No EEG recordings found (looked for eegmat/eegbci in {where}; use --data-dir or "
                         "--dataset): running on SYNTHETIC data from make_synthetic_eeg.")
