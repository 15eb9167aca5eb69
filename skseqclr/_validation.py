"""Parameter checks shared by the estimators, the evaluation harness and the synthetic data."""

from __future__ import annotations

import math
import numbers
import os
import re

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


def check_optional_groups(groups, n_rows, name="groups"):
    """None for ``groups=None``, else ``groups`` checked by :func:`check_groups_shape`."""
    return None if groups is None else check_groups_shape(groups, n_rows, name)


# --------------------------------------------------------------------------- declarative constraints
# Modelled on scikit-learn's ``_parameter_constraints`` (sklearn.utils._param_validation), kept here so
# that the messages are ours and do not depend on a private scikit-learn module: an estimator lists the
# values each parameter may take, and ``validate_parameter_constraints`` checks them all by name at fit.


class InvalidParameterError(ValueError, TypeError):
    """A parameter outside its constraints.

    Both a ``ValueError`` and a ``TypeError``, like scikit-learn's, so that
    either ``except`` clause catches a wrong value as well as a wrong type.
    """


class Constraint:
    """One kind of allowed value; ``alternatives`` names it for the error message."""

    def is_satisfied_by(self, value) -> bool:
        raise NotImplementedError

    @property
    def alternatives(self) -> list[str]:
        raise NotImplementedError


def _is_number(value, kind) -> bool:
    return isinstance(value, kind) and not isinstance(value, (bool, np.bool_))


class Interval(Constraint):
    """Numbers of ``type`` (``numbers.Integral`` or ``numbers.Real``) between ``left`` and ``right``.

    ``None`` leaves a side open; ``closed`` is ``"left"``, ``"right"``, ``"both"`` or ``"neither"``.
    Booleans are not numbers here, and real numbers must be finite (NaN and infinity are refused
    whatever the bounds), so that a typo or an overflow never passes as a setting.
    """

    def __init__(self, type, left=None, right=None, closed="both", description=None):
        if type not in (numbers.Integral, numbers.Real):
            raise ValueError(f"Interval type must be numbers.Integral or numbers.Real, got {type!r}.")
        self.type, self.left, self.right, self.closed = type, left, right, closed
        self.description = description

    def is_satisfied_by(self, value) -> bool:
        if not _is_number(value, self.type):
            return False
        if self.type is numbers.Real and not math.isfinite(value):
            return False
        if self.left is not None and (value < self.left or (
                value == self.left and self.closed not in ("left", "both"))):
            return False
        if self.right is not None and (value > self.right or (
                value == self.right and self.closed not in ("right", "both"))):
            return False
        return True

    @property
    def alternatives(self) -> list[str]:
        if self.description is not None:
            return [self.description]
        noun = "an integer" if self.type is numbers.Integral else "a finite number"
        if self.type is numbers.Integral and self.right is None and self.left in (0, 1) \
                and self.closed in ("left", "both"):
            return ["a positive integer" if self.left == 1 else "a non-negative integer"]
        if self.left is not None and self.right is not None:
            opening = "[" if self.closed in ("left", "both") else "("
            closing = "]" if self.closed in ("right", "both") else ")"
            return [f"{noun} in {opening}{self.left}, {self.right}{closing}"]
        if self.left is not None:
            return [f"{noun} {'>=' if self.closed in ('left', 'both') else '>'} {self.left}"]
        if self.right is not None:
            return [f"{noun} {'<=' if self.closed in ('right', 'both') else '<'} {self.right}"]
        return [noun]


class Options(Constraint):
    """One of the given strings."""

    def __init__(self, *options):
        self.options = tuple(options)

    def is_satisfied_by(self, value) -> bool:
        return isinstance(value, str) and value in self.options

    @property
    def alternatives(self) -> list[str]:
        return [repr(option) for option in self.options]


class Flag(Constraint):
    """``True`` or ``False`` (numpy's included); ``0``, ``1`` and strings are refused as typos."""

    def is_satisfied_by(self, value) -> bool:
        return isinstance(value, (bool, np.bool_))

    @property
    def alternatives(self) -> list[str]:
        return ["True", "False"]


class InstanceOf(Constraint):
    """An instance of ``types``, described as ``description``."""

    def __init__(self, types, description):
        self.types, self.description = types, description

    def is_satisfied_by(self, value) -> bool:
        return isinstance(value, self.types) and not isinstance(value, (bool, np.bool_))

    @property
    def alternatives(self) -> list[str]:
        return [self.description]


class Satisfies(Constraint):
    """A value for which ``predicate`` returns True (an exception counts as False)."""

    def __init__(self, predicate, description):
        self.predicate, self.description = predicate, description

    def is_satisfied_by(self, value) -> bool:
        try:
            return bool(self.predicate(value))
        except Exception:  # noqa: BLE001 - a predicate that cannot read the value refuses it
            return False

    @property
    def alternatives(self) -> list[str]:
        return [self.description]


class _NoneConstraint(Constraint):
    def is_satisfied_by(self, value) -> bool:
        return value is None

    @property
    def alternatives(self) -> list[str]:
        return ["None"]


def _as_constraint(constraint) -> Constraint:
    return _NoneConstraint() if constraint is None else constraint


def _or_list(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _short_repr(value, limit=80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_constraints(constraints) -> str:
    """The allowed values of one parameter, as a phrase: ``"None or a positive integer"``."""
    return _or_list([alt for constraint in constraints for alt in _as_constraint(constraint).alternatives])


def validate_parameter_constraints(constraints, params, caller=None) -> None:
    """Check every parameter of ``params`` that ``constraints`` names.

    Parameters
    ----------
    constraints : dict of str to list
        For each parameter, the constraints of which its value must satisfy
        one: :class:`Interval`, :class:`Options`, :class:`Flag`,
        :class:`InstanceOf`, :class:`Satisfies`, or ``None`` for ``None``.
    params : dict
        Parameter names and values (e.g. ``estimator.get_params(deep=False)``).
    caller : str or None
        Named at the start of the message (e.g. the estimator's class name).

    Raises
    ------
    InvalidParameterError
        For the first parameter that satisfies none of its constraints, with
        a message naming the parameter, the value and the allowed values.
    """
    for name, value in params.items():
        if name not in constraints:
            continue
        allowed = [_as_constraint(c) for c in constraints[name]]
        if any(constraint.is_satisfied_by(value) for constraint in allowed):
            continue
        expected = describe_constraints(allowed)
        if isinstance(value, str) and any(isinstance(c, Options) for c in allowed):
            message = f"{name}={value!r} is not allowed: {name} must be {expected}."
        else:
            message = f"{name} must be {expected}, got {_short_repr(value)}."
        raise InvalidParameterError(message if caller is None else f"{caller}: {message}")


# --------------------------------------------------------------------------- shared constraints
#: An integer seed for numpy's RandomState, a RandomState, or None.
RANDOM_STATE = [None, Interval(numbers.Integral, 0, 2**32 - 1, description="an integer in [0, 2**32 - 1]"),
                InstanceOf(np.random.RandomState, "a numpy.random.RandomState")]
#: ``verbose``: a non-negative integer (``True`` and ``False`` read as 1 and 0).
VERBOSE = [Interval(numbers.Integral, 0), Flag()]
#: A folder or file name.
PATH = InstanceOf((str, os.PathLike), "a path (str or os.PathLike)")
#: A learning rate, a temperature: a finite number > 0.
POSITIVE_REAL = Interval(numbers.Real, 0, None, closed="neither")
#: A weight decay: a finite number >= 0.
NON_NEGATIVE_REAL = Interval(numbers.Real, 0, None, closed="left")
#: A sampling frequency: a finite number of Hz > 0.
HERTZ = Interval(numbers.Real, 0, None, closed="neither", description="a positive, finite number of Hz")

_DEVICE_PATTERN = re.compile(r"^(cpu|cuda|mps)(:\d+)?$")


def _is_device(value) -> bool:
    if isinstance(value, str):
        return value == "auto" or _DEVICE_PATTERN.match(value) is not None
    import torch

    return isinstance(value, torch.device) and value.type in ("cpu", "cuda", "mps")


#: ``device``: "auto", "cpu", "cuda", "cuda:<index>" or "mps" (or a torch.device of those).
DEVICE = [Satisfies(_is_device, "'auto', 'cpu', 'cuda', 'cuda:<index>' or 'mps' (or a torch.device of these)")]


def check_device(device, name="device") -> None:
    """Refuse a device this machine does not have, with a ``ValueError`` naming ``name``.

    ``"auto"`` is always possible (CUDA when available, else the CPU);
    ``"cuda"`` needs a CUDA device, ``"cuda:<i>"`` more than ``i`` of them,
    ``"mps"`` Apple's Metal backend.
    """
    import torch

    if isinstance(device, str) and device == "auto":
        return
    kind = torch.device(device)
    if kind.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name}={device!r}, but no CUDA device is available on this machine; "
                             f"use {name}='cpu' or {name}='auto' (CUDA when there is one).")
        count = torch.cuda.device_count()
        if kind.index is not None and kind.index >= count:
            raise ValueError(f"{name}={device!r}, but this machine has {count} CUDA device(s) "
                             f"(cuda:0 to cuda:{count - 1}).")
    if kind.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"{name}={device!r}, but the MPS backend is not available on this machine; "
                         f"use {name}='cpu' or {name}='auto'.")
