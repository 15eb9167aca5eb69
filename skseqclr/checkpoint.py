"""Atomic training checkpoints.

A checkpoint is written to a temporary file in the same folder, flushed to
disk, and then renamed over the old one (``os.replace``, atomic on POSIX and
Windows), so a run killed at any moment leaves either the previous checkpoint
or the new one, never a torn file. Temporary files of a write that was killed
are removed by the next successful write.

A checkpoint of :class:`skseqclr.training.Pretrainer` holds the network,
optimiser and learning-rate schedule, the random states of every rank, the
step, the epoch, the running sums of the current epoch and the history.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

__all__ = ["save_checkpoint", "load_checkpoint", "CHECKPOINT_NAME"]

CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(state: dict, path: str | os.PathLike) -> Path:
    """Write ``state`` with ``torch.save`` atomically (write, flush, fsync, rename).

    Parameters
    ----------
    state : dict
        Anything ``torch.save`` accepts.
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
    """Read a checkpoint written by :func:`save_checkpoint` onto the CPU.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not a readable checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    try:
        # weights_only=False: the state holds optimizer and history objects written by this package
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise ValueError(f"{path} is not a readable checkpoint ({error}).") from error


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
