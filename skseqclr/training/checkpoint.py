"""Atomic training checkpoints, read without running code.

A checkpoint is written to a temporary file in the same folder, flushed to
disk, and then renamed over the old one (``os.replace``, atomic on POSIX and
Windows), so a run killed at any moment leaves either the previous checkpoint
or the new one, never a torn file. Temporary files of a write that was killed
are removed by the next successful write.

A checkpoint of :class:`skseqclr.training.pretrainer.Pretrainer` holds the network,
optimiser and learning-rate schedule, the random states of every rank, the
step, the epoch, the running sums of the current epoch, the history, and the
identity of the run that wrote it (:data:`FORMAT`, :data:`FORMAT_VERSION` and
``run_identity``: the parameters that change training, the data's shape and
a digest of some of its windows, the package version). All of it is tensors
and plain Python data, read back with ``torch.load(weights_only=True)``,
which builds nothing else: a file holding any other object is refused with a
``ValueError`` and no code from it runs. Resuming checks the file's structure
and refuses a checkpoint of another run (:func:`check_checkpoint`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from .._version import __version__

__all__ = ["save_checkpoint", "load_checkpoint", "check_checkpoint", "identity_differences", "CHECKPOINT_NAME",
           "FORMAT", "FORMAT_VERSION", "NOT_IDENTIFYING", "plain", "sources_digest"]

CHECKPOINT_NAME = "checkpoint.pt"
#: What a pretraining checkpoint says it is, and the version of its layout.
FORMAT, FORMAT_VERSION = "skseqclr-pretraining-checkpoint", 2
#: Estimator parameters that do not change what pretraining computes, or whose
#: resolved value the pretrainer records instead (``random_state``: the seed
#: drawn from it; ``device``, ``precision``: the device type and precision used).
NOT_IDENTIFYING = frozenset({"verbose", "random_state", "device", "precision"})
#: The entries of a pretraining checkpoint and the types they must have.
_LAYOUT = {
    "network": dict, "optimizer": dict, "scheduler": dict, "rank_states": list, "world_size": int, "step": int,
    "epoch": int, "epoch_steps": int, "epoch_time": (int, float), "total_steps": int, "history": list,
    "run_identity": dict,
}
#: The entries of the layout written before checkpoints recorded their run.
_UNVERSIONED = ("network", "optimizer", "scheduler", "rank_states", "world_size", "step", "history")


def save_checkpoint(state: dict, path: str | os.PathLike) -> Path:
    """Write ``state`` with ``torch.save`` atomically (write, flush, fsync, rename).

    Parameters
    ----------
    state : dict
        Tensors and plain data (numbers, strings, None, and lists, tuples
        and dicts of them): what :func:`load_checkpoint` reads back.
    path : str or path
        The checkpoint file; its folder is created if needed.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)
    for stale in path.parent.glob(f"{_temporary_prefix(path)}*.tmp"):
        # left by a write that was killed; one writer per checkpoint (rank 0), so not in use
        stale.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` onto the CPU, running no code from it.

    The file is read with ``torch.load(weights_only=True)``: tensors,
    numbers, strings and containers of them, nothing else.

    Parameters
    ----------
    path : str or path
        The checkpoint file.

    Returns
    -------
    dict
        What was saved, its tensors on the CPU. It is not checked here to be
        a pretraining checkpoint: see :func:`check_checkpoint`.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not a readable checkpoint: torn, not a torch file, or
        holding objects other than tensors and plain data (which are refused,
        not built).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(
            f"{path} is not a readable checkpoint ({_reason(error)}). Checkpoints are read as tensors and plain "
            "data only (torch.load with weights_only=True), so nothing in the file runs; start again without "
            "resume, or use another checkpoint folder."
        ) from None


def check_checkpoint(state, path: str | os.PathLike, identity: dict) -> None:
    """Refuse a checkpoint that is not a complete one of the run described by ``identity``.

    Parameters
    ----------
    state : object
        What :func:`load_checkpoint` returned.
    path : str or path
        The file, for the messages.
    identity : dict
        The ``run_identity`` this run would write (plain data).

    Raises
    ------
    ValueError
        If ``state`` is not a pretraining checkpoint of this format, misses an
        entry or has one of the wrong type, or was written by another run: the
        message lists every difference (the checkpoint's value vs this run's).
    """
    again = "start again without resume, or use another checkpoint folder"
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a skseqclr pretraining checkpoint (it holds a {type(state).__name__}, "
                         f"not a dict); {again}.")
    if state.get("format") != FORMAT:
        if all(key in state for key in _UNVERSIONED):
            raise ValueError(f"{path} was written by an older version of skseqclr, whose checkpoints do not record "
                             f"the run they belong to, so it cannot be checked; {again}.")
        raise ValueError(f"{path} is not a skseqclr pretraining checkpoint (no format={FORMAT!r}); {again}.")
    if state.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} has checkpoint format version {state.get('format_version')!r}, and this version "
                         f"of skseqclr ({__version__}) reads version {FORMAT_VERSION}; {again}.")
    for key, kind in _LAYOUT.items():
        if key not in state:
            raise ValueError(f"{path} is not a complete checkpoint: its {key!r} entry is missing; {again}.")
        value = state[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(f"{path} is not a valid checkpoint: its {key!r} entry is a {type(value).__name__}; "
                             f"{again}.")
    differences = identity_differences(state["run_identity"], identity)
    if differences:
        hints = []
        if any(line.startswith("seed:") for line in differences):
            hints.append("the seed comes from random_state: resume with the integer random_state of the run "
                         "that wrote the checkpoint (with random_state=None every fit draws a new seed)")
        if any(line.startswith("version:") for line in differences):
            hints.append("the checkpoint was written by another version of skseqclr")
        raise ValueError(
            f"Cannot resume from {path}: it was written by another run. A checkpoint continues only the run that "
            f"wrote it (same parameters and data, same package version). Differences (checkpoint vs this run): "
            + "; ".join(differences) + "." + "".join(f" Note: {hint}." for hint in hints) + f" Otherwise {again}."
        )


def identity_differences(saved: dict, current: dict) -> list[str]:
    """``"name: saved vs current"`` for every entry that differs between two run identities."""
    missing = object()
    lines = []
    for name in sorted(set(saved) | set(current), key=str):
        old, new = saved.get(name, missing), current.get(name, missing)
        if old is missing or new is missing or _canonical(old) != _canonical(new):
            lines.append(f"{name}: {_shown(old, missing)} vs {_shown(new, missing)}")
    return lines


def plain(value):
    """``value`` as JSON-like plain data (dicts with str keys, lists, numbers, str, bool, None)."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist") and hasattr(value, "ndim"):  # numpy / torch arrays and scalars
        return plain(value.tolist()) if value.ndim else plain(value.item())
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return repr(value)


def sources_digest(sources) -> str:
    """A short digest of training data: the shape and some windows of each source.

    Parameters
    ----------
    sources : list of WindowSource
        Each source's shape, channel names and up to eight windows spread
        over it enter the digest, so two data sets of the same shape are
        told apart without reading either whole.

    Returns
    -------
    str
        16 hexadecimal digits of a SHA-256.
    """
    digest = hashlib.sha256()
    for source in sources:
        n_windows = int(source.n_windows)
        digest.update(json.dumps([n_windows, int(source.n_channels), int(source.n_times),
                                  [str(name) for name in source.ch_names]]).encode())
        some = np.unique(np.linspace(0, n_windows - 1, num=min(n_windows, 8)).round().astype(np.int64))
        digest.update(np.ascontiguousarray(source.read(some), dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


def _canonical(value) -> str:
    return json.dumps(plain(value), sort_keys=True)


def _shown(value, missing) -> str:
    if value is missing:
        return "(none)"
    text = repr(plain(value))
    return text if len(text) <= 200 else text[:197] + "..."


def _reason(error: Exception) -> str:
    """A short reason why torch could not read a file, without torch's advice to unpickle it anyway."""
    text = str(error)
    marker = "WeightsUnpickler error:"
    if marker in text:
        detail = text.split(marker, 1)[1].strip().split("\n")[0].strip()
        detail = detail.split(" Please use")[0].strip()
        return f"it holds an object that is not a tensor or plain data: {detail or 'unsupported content'}"
    if isinstance(error, EOFError) or not text:
        return "the file ends too early: empty or cut off"
    return f"{type(error).__name__}: {text.splitlines()[0][:200]}"


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
