"""Parameter checks shared by the estimators, the evaluation harness and the synthetic data."""

from __future__ import annotations

import numbers

import numpy as np


def is_int_at_least(value, low) -> bool:
    """True for an integer >= ``low``; ``bool`` excluded (``True`` is not a number of anything)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low


def is_positive_int(value) -> bool:
    """True for an integer >= 1, ``bool`` excluded."""
    return is_int_at_least(value, 1)


def is_non_negative_int(value) -> bool:
    """True for an integer >= 0, ``bool`` excluded."""
    return is_int_at_least(value, 0)


def check_positive_int(name, value) -> int:
    """``value`` as an int, or a ``ValueError`` naming ``name``."""
    if not is_positive_int(value):
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_non_negative_int(name, value) -> int:
    """``value`` as an int, or a ``ValueError`` naming ``name``."""
    if not is_non_negative_int(value):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
    return int(value)


def check_flag(name, value) -> bool:
    """``value`` as a bool if it is one (numpy's included), or a ``ValueError`` naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def check_groups_shape(groups, n_rows, name="groups", row="window"):
    """``groups`` as a 1-D array with one entry per row, or a ``ValueError`` naming ``name``."""
    groups = np.asarray(groups)
    if groups.shape != (n_rows,):
        raise ValueError(f"{name} must have one entry per {row} ({n_rows}), got shape {groups.shape}.")
    return groups
