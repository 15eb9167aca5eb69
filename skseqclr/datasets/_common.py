"""Helpers shared by the dataset loaders: the data folder, parameter checks, resampling, windowing."""

from __future__ import annotations

import numbers
import os
import re
from pathlib import Path


def data_home(data_home=None) -> Path:
    """Folder where skseqclr keeps downloaded datasets.

    Parameters
    ----------
    data_home : str, path or None
        Returned as is if given; else ``$SKSEQCLR_DATA`` if set, else
        ``~/skseqclr_data``.

    Returns
    -------
    Path
    """
    if data_home is not None:
        return Path(data_home).expanduser()
    return Path(os.environ.get("SKSEQCLR_DATA", Path.home() / "skseqclr_data")).expanduser()


def _check_window_params(window_size_s, window_stride_s, sfreq):
    if window_size_s is not None and (not isinstance(window_size_s, numbers.Real) or not window_size_s > 0):
        raise ValueError(f"window_size_s must be None or a positive number of seconds, got {window_size_s!r}.")
    if window_stride_s is not None and (not isinstance(window_stride_s, numbers.Real) or not window_stride_s > 0):
        raise ValueError(f"window_stride_s must be None or a positive number of seconds, got {window_stride_s!r}.")
    if sfreq is not None and (not isinstance(sfreq, numbers.Real) or not sfreq > 0):
        raise ValueError(f"sfreq must be None or a positive number of Hz, got {sfreq!r}.")


def _snake_case(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _resample(raw, sfreq):
    """Resample ``raw`` in place to ``sfreq`` Hz, with MNE's polyphase method where available.

    Polyphase filtering (``scipy.signal.resample_poly``) is about 30 times
    faster than MNE's default FFT method on these recordings' odd lengths.
    """
    import inspect

    if "method" in inspect.signature(raw.resample).parameters:
        raw.resample(sfreq, method="polyphase", verbose="error")
    else:  # MNE < 1.7
        raw.resample(sfreq, verbose="error")


def _drop_last_window(windower):
    """Keyword that drops each recording's incomplete last window, in this braindecode's spelling."""
    import inspect

    if "on_last_window" in inspect.signature(windower).parameters:
        return {"on_last_window": "drop"}
    return {"drop_last_window": True}  # older braindecode


def _fixed_length_windows(recordings, window_size_s, window_stride_s, preload, **kwargs):
    """Consecutive windows of braindecode ``RawDataset`` recordings (each one's incomplete last window dropped);
    with ``window_size_s=None``, the recordings themselves."""
    from braindecode.datasets import BaseConcatDataset
    from braindecode.preprocessing import create_fixed_length_windows

    concat = BaseConcatDataset(recordings)
    if window_size_s is None:
        return concat
    rate = float(recordings[0].raw.info["sfreq"])
    size = int(round(window_size_s * rate))
    stride = size if window_stride_s is None else int(round(window_stride_s * rate))
    shortest = min(r.raw.n_times for r in recordings)
    if size > shortest:
        raise ValueError(f"window_size_s={window_size_s} s is longer than the shortest recording "
                         f"({shortest / rate:.1f} s).")
    return create_fixed_length_windows(concat, window_size_samples=size, window_stride_samples=stride,
                                       preload=preload, **kwargs, **_drop_last_window(create_fixed_length_windows))


def _progress(iterable, show, desc):
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not show, desc=desc, unit="file", leave=False)


def _check_subjects(subjects, known, name="subjects"):
    if subjects is None:
        return list(known)
    if isinstance(subjects, numbers.Integral):
        subjects = [subjects]
    subjects = list(subjects)
    if not subjects:
        raise ValueError(f"{name} is empty; pass None for all of {known[0]}..{known[-1]}.")
    bad = [s for s in subjects if not isinstance(s, numbers.Integral) or int(s) not in known]
    if bad:
        raise ValueError(f"Unknown {name} {bad}; this dataset has subjects {known[0]}..{known[-1]}.")
    return sorted({int(s) for s in subjects})
