"""Parameter checks shared by the estimators and the evaluation harness."""

from __future__ import annotations

import numbers


def is_positive_int(value) -> bool:
    """True for an integer >= 1 (``True`` is not a number of anything)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def check_positive_int(name, value) -> int:
    """``value`` as an int, or a ``ValueError`` naming ``name``."""
    if not is_positive_int(value):
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)
