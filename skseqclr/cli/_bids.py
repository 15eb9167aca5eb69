"""``--data BIDS_ROOT``: the recordings of a BIDS dataset, chosen by the ``--bids-*`` filters, read with MNE-BIDS.

For ``benchmark`` the windows are those of the recordings' events, labelled by event name; for ``pretrain``
each recording is cut into consecutive windows. Subjects are the BIDS ``sub-`` labels.
"""

from __future__ import annotations

import numpy as np

from ._common import UsageError
from ._data import Split, _consecutive_windows, _prepare, _proportional_split

#: The BIDS datatypes (and file suffixes) of the recordings ``--data BIDS_ROOT`` reads.
BIDS_DATATYPES = ("eeg", "ieeg", "meg")
#: BIDS entity, ``args`` attribute and option of each ``--bids-*`` filter.
BIDS_FILTERS = (("subject", "bids_subjects", "--bids-subjects"), ("session", "bids_sessions", "--bids-sessions"),
                ("task", "bids_tasks", "--bids-tasks"), ("run", "bids_runs", "--bids-runs"))
#: Annotations that mark segments, not classes (MNE's conventions), left out unless ``--events`` names them.
NOT_CLASSES = ("bad", "edge")


def is_bids_root(path):
    return path.is_dir() and (path / "dataset_description.json").is_file()


def bids_options_given(args):
    given = [option for _, attr, option in BIDS_FILTERS if getattr(args, attr, None)]
    return given + (["--bids-datatype"] if getattr(args, "bids_datatype", None) else [])


def _bids_paths(root, args):
    """The recordings of a BIDS root that the ``--bids-*`` filters choose, and the filters in words."""
    from mne_bids import find_matching_paths, get_entity_vals
    from mne_bids.config import reader

    chosen, described = {}, []
    for entity, attr, option in BIDS_FILTERS:
        wanted = getattr(args, attr, None)
        if not wanted:
            continue
        present = get_entity_vals(root, entity)
        values = []
        for value in wanted:
            # runs are numbers: '--bids-runs 2' also finds run-02
            same = [p for p in present if p == value or (entity == "run" and _same_number(p, value))]
            if not same:
                raise UsageError(f"{option} {' '.join(wanted)}: no {entity} {value!r} in the BIDS dataset {root} "
                                 f"({entity}s there: {', '.join(present) or 'none'}).")
            values.extend(same)
        chosen[f"{entity}s"] = list(dict.fromkeys(values))
        described.append(f"{entity} {', '.join(chosen[f'{entity}s'])}")
    datatypes = [args.bids_datatype] if getattr(args, "bids_datatype", None) else list(BIDS_DATATYPES)
    if getattr(args, "bids_datatype", None):
        described.append(f"datatype {args.bids_datatype}")
    try:
        paths = find_matching_paths(root, **chosen, datatypes=datatypes, suffixes=datatypes,
                                    extensions=sorted(reader), ignore_json=True)
    except Exception as exc:  # noqa: BLE001 - a malformed tree is a bad --data folder
        raise UsageError(f"--data {root}: cannot search it as a BIDS dataset ({type(exc).__name__}: {exc}).") from None
    # a recording split over several files is read from its first
    paths = sorted((p for p in paths if p.split in (None, "01")), key=lambda p: str(p.fpath))
    if not paths:
        filters = f" matches {'; '.join(described)}" if described else " in this BIDS dataset"
        raise UsageError(f"--data {root}: no recording{filters} (looked for {', '.join(datatypes)} recordings "
                         "MNE-BIDS reads: sub-*/[ses-*/]DATATYPE/*_DATATYPE.EXT).")
    return paths, "; ".join(described)


def _same_number(a, b):
    try:
        return int(a) == int(b)
    except ValueError:
        return False


def _read_bids(bids_path, args):
    from mne_bids import read_raw_bids

    try:
        raw = read_raw_bids(bids_path, verbose="error")
        raw.load_data(verbose="error")
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad --data file
        raise UsageError(f"--data {bids_path.fpath}: cannot read it with mne_bids.read_raw_bids "
                         f"({type(exc).__name__}: {exc}).") from None
    return _prepare(raw, bids_path.fpath, args)


def _event_windows(raw, path, window_s, classes):
    """Windows of a recording's annotations named in ``classes``, and their names.

    An annotation at least one window long gives consecutive windows over its
    duration; a shorter one (an event) gives one window from its onset.
    Windows past the end of the recording are left out.
    """
    annotations = raw.annotations
    sfreq = float(raw.info["sfreq"])
    n_times = int(round(window_s * sfreq))
    descriptions = np.array([str(d) for d in annotations.description], dtype=str)
    keep = np.flatnonzero(np.isin(descriptions, list(classes)))
    if len(keep) == 0:
        return np.empty((0, len(raw.ch_names), n_times), np.float32), np.empty(0, dtype=str)
    starts = raw.time_as_index(annotations.onset[keep], use_rounding=True, origin=annotations.orig_time)
    counts = np.maximum(np.round(annotations.duration[keep] * sfreq).astype(int) // n_times, 1)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    window_starts = np.repeat(starts, counts) + offsets * n_times
    names = np.repeat(descriptions[keep], counts)
    data = raw.get_data()
    fits = (window_starts >= 0) & (window_starts + n_times <= data.shape[1])
    window_starts, names = window_starts[fits], names[fits]
    cut = data[:, window_starts[:, None] + np.arange(n_times)]  # (n_channels, n_windows, n_times)
    return cut.transpose(1, 0, 2).astype(np.float32), names


def load_bids(root, args, labelled) -> Split:
    """``--data BIDS_ROOT``: the recordings ``--bids-*`` choose, grouped by their BIDS subject.

    For ``benchmark`` (``labelled``) the windows are those of the events
    (annotations, from the recordings' ``events.tsv``), labelled by event
    name; for ``pretrain`` each recording is cut into consecutive windows.
    """
    if getattr(args, "subject_column", None) is not None:
        raise UsageError("--subject-column: a column of an -epo.fif file's metadata; the subjects of a BIDS "
                         "dataset are its sub- labels (choose them with --bids-subjects).")
    paths, filters = _bids_paths(root, args)
    wanted = list(dict.fromkeys(getattr(args, "events", None) or []))
    windows, labels, groups, names_seen, ch_names, sfreq = [], [], [], set(), None, None
    for bids_path in paths:
        raw = _read_bids(bids_path, args)
        path = bids_path.fpath
        if ch_names is None:
            ch_names, sfreq, first = list(raw.ch_names), float(raw.info["sfreq"]), path
        elif list(raw.ch_names) != ch_names or float(raw.info["sfreq"]) != sfreq:
            raise UsageError(f"--data {path}: its channels or sampling rate differ from those of {first} "
                             "(choose common channels with --picks NAME ..., a common rate with --sfreq, "
                             "or recordings with --bids-*).")
        if not labelled:
            cut, y = _consecutive_windows(raw, path, args.window_s), None
        else:
            present = list(dict.fromkeys(str(d) for d in raw.annotations.description))
            names_seen.update(present)
            classes = wanted or [n for n in present if not n.lower().startswith(NOT_CLASSES)]
            if not classes:
                raise UsageError(f"--data {root}: {path.name} has no events to label windows with (no "
                                 f"events.tsv or no trial types{': only ' + ', '.join(present) if present else ''}); "
                                 "the benchmark needs labels: leave it out with --bids-* filters, or pretrain on "
                                 "unlabelled recordings with 'skseqclr pretrain --data'.")
            cut, y = _event_windows(raw, path, args.window_s, classes)
            if len(cut) == 0 and not wanted:
                raise UsageError(f"--data {path}: no {args.window_s:g}-s window of its events "
                                 f"({', '.join(classes)}) fits in the recording (--window-s).")
            labels.append(y)
        windows.append(cut)
        groups.append(np.full(len(cut), bids_path.subject, dtype=object))
    if labelled and wanted:
        unknown = [name for name in wanted if name not in names_seen]
        if unknown:
            raise UsageError(f"--events: no event {unknown[0]!r} in the recordings chosen "
                             f"(events there: {', '.join(sorted(names_seen)) or 'none'}).")
    X, groups = np.concatenate(windows), np.concatenate(groups).astype(str)
    if len(X) == 0:
        raise UsageError(f"--data {root}: no {args.window_s:g}-s window of the events {', '.join(wanted)} fits in "
                         "the recordings (--window-s).")
    y = np.concatenate(labels).astype(str) if labelled else np.full(len(X), -1)
    subjects = sorted(set(groups.tolist()))
    classes = sorted(set(y.tolist())) if labelled else []
    if labelled and len(classes) < 2:
        raise UsageError(f"--data {root}: a single class ({classes[0]}) in the windows of the recordings chosen; "
                         "the benchmark needs at least 2 event names (--events).")
    unsplittable = None
    if len(subjects) < 2:
        unsplittable = (f"--data {root}: a single subject ({subjects[0]}) in the recordings chosen; splitting by "
                        "subject needs at least 2 (--bids-subjects).")
        if labelled:
            raise UsageError(unsplittable)
        train, split = np.ones(len(X), dtype=bool), "one subject"
    else:
        train_subjects = _proportional_split(subjects)
        train = np.isin(groups, train_subjects)
        split = (f"train subjects {', '.join(train_subjects)}, "
                 f"test {', '.join(s for s in subjects if s not in train_subjects)}")
    content = (f"{len(X)} windows of {args.window_s:g} s from events, classes {', '.join(classes)}" if labelled
               else f"consecutive {args.window_s:g}-s windows, no labels")
    description = (f"BIDS {root.name}: {len(paths)} recording(s) of {len(subjects)} subject(s)"
                   f"{' (' + filters + ')' if filters else ''}, {content}, {split}; {len(ch_names)} channels at "
                   f"{sfreq:g} Hz")
    return Split(root.name, X, y, groups, train, description, sfreq=sfreq, unsplittable=unsplittable,
                 ch_names=ch_names)
