"""Units of EEG windows: the factor to microvolts, decided once at ``fit`` and reused by ``transform``.

See the *Units* section of :mod:`skseqclr.inputs`, which re-exports the public names.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._sources import _UNIT_FACTORS, WindowSource, _guess_from_std, _unit_name


def resolve_units(units, source: WindowSource) -> float:
    """Factor that converts ``source``'s data to microvolts, from ``source`` alone.

    Parameters
    ----------
    units : {"auto", "V", "mV", "uV"} or float
        See the module's Units section. ``"auto"`` gives the units the input
        declares (``mne.Epochs``: volts), else the guess from its amplitude.
    source : WindowSource

    Returns
    -------
    float
        The factor to µV.

    See Also
    --------
    fit_units, transform_units : How the estimators decide ``"auto"`` once, at fit.
    """
    if isinstance(units, str):
        if units == "auto":
            own = source.own_to_microvolts()
            return source.guess_to_microvolts() if own is None else float(own)
        if units not in _UNIT_FACTORS:
            raise ValueError(f"units={units!r} is not one of 'auto', 'V', 'mV', 'uV' or a number.")
        return _UNIT_FACTORS[units]
    try:
        factor = float(units)
    except (TypeError, ValueError):
        factor = float("nan")
    if isinstance(units, (bool, np.bool_)) or not np.isfinite(factor) or factor <= 0:
        raise ValueError(f"units={units!r} is not one of 'auto', 'V', 'mV', 'uV' or a number: a numeric factor "
                         "to µV must be positive and finite.")
    return factor


def fit_units(units, sources) -> tuple[list[float], float]:
    """The factors to µV of training datasets, and the one kept for the inputs of later calls.

    Parameters
    ----------
    units : {"auto", "V", "mV", "uV"} or float
    sources : list of WindowSource
        The training datasets.

    Returns
    -------
    factors : list of float
        One per training dataset (:func:`resolve_units`: with ``"auto"``,
        the units the dataset carries, :meth:`WindowSource.own_to_microvolts`,
        else the guess from its training windows' amplitude).
    kept : float
        The factor for inputs that carry no units (arrays, tensors) in later
        calls, the estimator's ``to_microvolts_``: the explicit units, or with
        ``"auto"`` the factor of the first training dataset that carries none,
        or that of the first dataset when all carry theirs.
    """
    factors = [resolve_units(units, source) for source in sources]
    if isinstance(units, str) and units == "auto":
        for source, factor in zip(sources, factors):
            if source.declares_units:
                _warn_if_unlike(source, factor, None)
        without_units = [f for s, f in zip(sources, factors) if s.own_to_microvolts() is None]
        return factors, (without_units or factors)[0]
    return factors, factors[0]


def transform_units(units, source: WindowSource, fitted: float) -> float:
    """The factor to µV of ``source`` at transform or predict time: the same for every window of a call.

    Parameters
    ----------
    units : {"auto", "V", "mV", "uV"} or float
    source : WindowSource
    fitted : float
        The factor kept at fit (``to_microvolts_``, from :func:`fit_units`).

    Returns
    -------
    float
        Explicit units as they are. With ``"auto"``: the units ``source``
        carries (``mne.Epochs``: volts; a braindecode dataset: judged once
        from the dataset as a whole, whichever windows of it are read), else
        ``fitted``. Never a guess from the windows of the call, so a window's
        features do not depend on the others; a ``UserWarning`` says when the
        call's amplitude disagrees with the factor used.
    """
    if not (isinstance(units, str) and units == "auto"):
        return resolve_units(units, source)
    own = source.own_to_microvolts()
    if own is None:
        _warn_if_unlike(source, fitted, fitted)
        return float(fitted)
    if source.declares_units:
        _warn_if_unlike(source, own, None)
    return float(own)


def _warn_if_unlike(source: WindowSource, factor: float, fitted) -> None:
    """Warn when the amplitude of ``source`` looks like other units than ``factor`` converts from."""
    std = source.median_channel_std()
    guess = _guess_from_std(std)
    if float(factor) not in (1.0, 1e6) or guess == float(factor):
        return
    why = (f"was decided at fit from the training data (to_microvolts_={fitted:g})" if fitted is not None
           else "takes the units they declare (MNE holds EEG in volts)")
    noun = {"array": "windows", "epochs": "mne.Epochs"}.get(source.kind, source.kind)
    warnings.warn(
        f"These {noun} look like {_unit_name(guess)} (median channel standard deviation {std:.3g} in "
        f"their own units) but are read as {_unit_name(factor)}, as units='auto' {why}; their features may be "
        "wrong. Pass units explicitly ('V', 'mV', 'uV' or a factor) if the inputs' units differ.",
        UserWarning, stacklevel=3,
    )
