"""Datasets of the ``skseqclr`` subcommands: loading, and the train/test split by subject (or run).

The bundled datasets and ``--data`` files or folders are read here; a BIDS root is read by ``skseqclr.cli._bids``.
"""

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
    ch_names: list | None = None

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


# ------------------------------------------------------------ the user's own recordings

#: File endings ``--data FOLDER`` reads with ``mne.io.read_raw`` (sidecars such as BrainVision's .eeg are not listed).
RAW_SUFFIXES = (".edf", ".bdf", ".gdf", ".fif", ".fif.gz", ".vhdr", ".set", ".cnt", ".mff", ".nxe", ".lay", ".cdt")
EPOCHS_SUFFIXES = ("-epo.fif", "_epo.fif", "-epo.fif.gz", "_epo.fif.gz")


def _own_files(paths):
    """The files named by ``--data``: files as given, folders expanded to the recordings they hold."""
    files = []
    for path in paths:
        if not path.exists():
            raise UsageError(f"--data {path} does not exist.")
        if path.is_dir():
            found = sorted(p for p in path.iterdir()
                           if p.is_file() and not p.name.startswith(".") and p.name.lower().endswith(RAW_SUFFIXES))
            if not found and any(p.is_dir() and p.name.startswith("sub-") for p in path.iterdir()):
                raise UsageError(f"--data {path}: its sub-* folders look like a BIDS dataset, but there is no "
                                 "dataset_description.json, which marks a BIDS root; add it (mne_bids."
                                 "make_dataset_description) or name the recordings themselves.")
            if not found:
                raise UsageError(f"--data {path}: no recordings in this folder (looked for files ending in "
                                 f"{', '.join(RAW_SUFFIXES)}).")
            files.extend(found)
        else:
            files.append(path)
    return list(dict.fromkeys(files))


def _is_epochs_file(path):
    return path.name.lower().endswith(EPOCHS_SUFFIXES)


def _prepare(inst, path, args):
    """Pick ``--picks`` channels of an MNE Raw or Epochs and resample it to ``args.sfreq`` (Hz)."""
    picks = list(args.picks) if args.picks else "data"
    try:
        inst.pick(picks)
    except ValueError as exc:
        raise UsageError(f"--picks {' '.join(args.picks or ['data'])}: no such channels or channel types in "
                         f"{path} ({exc}).") from None
    if args.sfreq is not None and abs(inst.info["sfreq"] - args.sfreq) > 1e-6:
        inst.resample(args.sfreq, verbose="error")
    return inst


def _load_own(args, quiet, labelled) -> Split:
    """``--data``: a labelled ``-epo.fif`` file, recordings ``mne.io.read_raw`` reads (one group each), or a BIDS root.

    Parameters
    ----------
    args : argparse.Namespace
        The command's options (``data``, ``picks``, ``subject_column``, ``events``, ``bids_*``, ``window_s``
        in s, ``sfreq`` in Hz).
    quiet : bool
        Unused by the readers (MNE's messages are silenced); kept for symmetry with :func:`_load`.
    labelled : bool
        True for ``benchmark``: labels (an epochs file, or a BIDS dataset's events), at least 2 classes and
        2 subjects are required.
    """
    from ._bids import bids_options_given, is_bids_root, load_bids

    bids = [path for path in args.data if is_bids_root(path)]
    if bids:
        if len(args.data) != 1:
            raise UsageError(f"--data: give the BIDS root {bids[0]} alone, got {len(args.data)} paths.")
        return load_bids(bids[0], args, labelled)
    given = bids_options_given(args)
    if given:
        raise UsageError(f"{', '.join(given)}: filters of a BIDS dataset; --data must then be a BIDS root (the "
                         "folder holding dataset_description.json).")
    if getattr(args, "events", None) and not any(_is_epochs_file(path) for path in args.data):
        raise UsageError("--events: event names of a BIDS dataset or an -epo.fif file; --data names neither.")
    files = _own_files(args.data)
    epochs_files = [f for f in files if _is_epochs_file(f)]
    if labelled and len(epochs_files) != len(files):
        raw = [str(f) for f in files if not _is_epochs_file(f)]
        raise UsageError(f"benchmark --data needs labelled epochs (an -epo.fif file, labels from its event names, "
                         f"or a BIDS root, labels from its events); "
                         f"{', '.join(raw[:3])}{' ...' if len(raw) > 3 else ''} has no labels (a raw recording, "
                         "for 'skseqclr pretrain --data').")
    if epochs_files:
        if len(files) != 1:
            raise UsageError(f"--data: give one -epo.fif file alone, got {len(files)} files "
                             f"({len(epochs_files)} of them epochs).")
        return _load_epochs_file(files[0], args, labelled)
    return _load_raw_files(files, args)


def _load_epochs_file(path, args, labelled) -> Split:
    import mne

    try:
        epochs = mne.read_epochs(path, preload=True, verbose="error")
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad --data file
        raise UsageError(f"--data {path}: cannot read it as MNE epochs ({type(exc).__name__}: {exc}).") from None
    epochs = _prepare(epochs, path, args)
    wanted = getattr(args, "events", None)
    if wanted:
        unknown = [name for name in wanted if name not in epochs.event_id]
        if unknown:
            raise UsageError(f"--events: no event {unknown[0]!r} in {path} (events there: "
                             f"{', '.join(epochs.event_id)}).")
        epochs = epochs[list(dict.fromkeys(wanted))]
    names = {code: name for name, code in epochs.event_id.items()}
    y = np.asarray([names.get(code, str(code)) for code in epochs.events[:, 2]])
    classes = sorted(set(y))
    if labelled and len(classes) < 2:
        raise UsageError(f"--data {path}: a single class ({classes[0] if classes else 'no epochs'}); "
                         "the benchmark needs at least 2 event names.")
    metadata = epochs.metadata
    columns = [] if metadata is None else list(metadata.columns)
    column = args.subject_column
    if column is None:
        column = "subject" if "subject" in columns else None
    elif column not in columns:
        raise UsageError(f"--subject-column {column!r}: no such column in the metadata of {path} "
                         f"(columns: {', '.join(map(str, columns)) or 'none'}).")
    if column is None:
        if labelled:
            raise UsageError(f"--data {path}: no 'subject' column in its metadata (columns: "
                             f"{', '.join(map(str, columns)) or 'none'}); name the column of subjects with "
                             "--subject-column, the benchmark splits by subject.")
        groups = np.zeros(len(y), dtype=int)
    else:
        groups = metadata[column].to_numpy()
    subjects = sorted(set(groups.tolist()))
    unsplittable = None
    if len(subjects) < 2:
        unsplittable = (f"--data {path}: a single subject ({subjects[0] if subjects else 'none'}) in column "
                        f"{column!r}; splitting by subject needs at least 2 (--subject-column names another "
                        "column of groups, e.g. runs or sessions).")
        if labelled:
            raise UsageError(unsplittable)
        train = np.ones(len(y), dtype=bool)
        split = "one subject"
    else:
        train_subjects = _proportional_split(subjects)
        train = np.isin(groups, train_subjects)
        test_subjects = [s for s in subjects if s not in train_subjects]
        split = f"train subjects {_names(train_subjects)}, test {_names(test_subjects)}"
    sfreq = float(epochs.info["sfreq"])
    description = (f"{path.name}: {len(y)} epochs of {epochs.times[-1] - epochs.times[0] + 1 / sfreq:g} s, "
                   f"classes {', '.join(classes)}, {len(subjects)} subject(s)"
                   f"{'' if column in (None, 'subject') else f' (column {column!r})'}, {split}; "
                   f"{len(epochs.ch_names)} channels at {sfreq:g} Hz")
    X = epochs.get_data().astype(np.float32)
    return Split(path.name, X, y, groups, train, description, sfreq=sfreq, unsplittable=unsplittable,
                 ch_names=list(epochs.ch_names))


def _load_raw_files(files, args) -> Split:
    import mne

    windows, groups, ch_names, sfreq = [], [], None, None
    for index, path in enumerate(files):
        try:
            raw = mne.io.read_raw(path, preload=True, verbose="error")
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad --data file
            raise UsageError(f"--data {path}: cannot read it as a recording ({type(exc).__name__}: {exc}).") from None
        raw = _prepare(raw, path, args)
        if ch_names is None:
            ch_names, sfreq = list(raw.ch_names), float(raw.info["sfreq"])
        elif list(raw.ch_names) != ch_names or float(raw.info["sfreq"]) != sfreq:
            raise UsageError(f"--data {path}: its channels or sampling rate differ from those of {files[0]} "
                             "(choose common channels with --picks NAME ..., a common rate with --sfreq).")
        cut = _consecutive_windows(raw, path, args.window_s)
        windows.append(cut)
        groups.append(np.full(len(cut), index))
    X, groups = np.concatenate(windows), np.concatenate(groups)
    unsplittable = None
    if len(files) > 1:
        train, split = _split_by_subject(groups)
        split = split.replace("subjects", "recordings")
    else:
        train, split = np.ones(len(groups), dtype=bool), "one recording"
        unsplittable = "--data: one recording cannot be split into train and test; give at least 2 (--split all)."
    description = (f"{len(files)} recording(s) ({', '.join(p.name for p in files[:3])}{' ...' if len(files) > 3 else ''}), "
                   f"one group each, {split} (numbered from 0 in this order); {len(ch_names)} channels, "
                   f"consecutive {args.window_s:g}-s windows at {sfreq:g} Hz, no labels")
    return Split("data", X, np.full(len(groups), -1), groups, train, description, sfreq=sfreq,
                 unsplittable=unsplittable, ch_names=ch_names)


def _names(values):
    """Subjects for a description: ranges of integers, else the names."""
    try:
        return _ranges(values) if all(float(v) == int(v) for v in values) else ", ".join(map(str, values))
    except (TypeError, ValueError):
        return ", ".join(map(str, values))


def _consecutive_windows(raw, path, window_s):
    """``(n_windows, n_channels, n_times)`` float32: a recording cut into consecutive ``window_s``-s windows."""
    sfreq = float(raw.info["sfreq"])
    n_times = int(round(window_s * sfreq))
    data = raw.get_data()
    n_windows = data.shape[1] // n_times
    if n_windows == 0:
        raise UsageError(f"--data {path}: {data.shape[1] / sfreq:g} s, shorter than one "
                         f"{window_s:g}-s window (--window-s).")
    cut = data[:, :n_windows * n_times].reshape(len(data), n_windows, n_times).transpose(1, 0, 2)
    return cut.astype(np.float32)
