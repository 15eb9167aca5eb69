"""Settings of :class:`~skseqclr.SeqCLRTransformer` that belong together, as small estimators.

Each is a scikit-learn estimator holding parameters only, so that its
settings are reachable with nested names: ``readout__pooling`` on the
transformer, ``seqclr__readout__pooling`` in a Pipeline's grid search.

* :class:`Preprocessing`: how windows are read before the encoder (units,
  resampling, scaling, DataLoader workers);
* :class:`Readout`: how ``transform`` turns the encoder's output into
  features (channels read, pooling, referencing);
* :class:`Checkpointing`: where pretraining checkpoints go, and which weights
  pretraining starts from.

Each class lists what its parameters may be in ``_parameter_constraints``;
:meth:`validate` checks them (the transformer does, in ``fit``, and for
:class:`Readout` again in ``transform``), raising a ``ValueError`` that names
the parameter.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator

from ._validation import HERTZ, PATH, Flag, Interval, Options, Satisfies, validate_parameter_constraints
from .pooling import check_pooling
from .recombination import check_feature_channels
from .scaling import SCALING_MODES

__all__ = ["Preprocessing", "Readout", "Checkpointing"]


class _Options(BaseEstimator):
    """Parameters only: ``get_params``/``set_params`` from scikit-learn, :meth:`validate` from the constraints."""

    _parameter_constraints: dict = {}

    def validate(self):
        """Check every parameter, then what depends on several.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Naming the first invalid parameter and what it may be (a
            ``TypeError`` too, for a value of the wrong type).
        """
        validate_parameter_constraints(self._parameter_constraints, self.get_params(deep=False),
                                       caller=type(self).__name__)
        self._check_together()
        return self

    def _check_together(self):
        """Checks across parameters (none by default)."""


class Preprocessing(_Options):
    """How windows are read, converted and scaled before the encoder.

    Parameters
    ----------
    units : {"auto", "V", "mV", "uV"} or float, default="auto"
        Units of the input (see :mod:`skseqclr.inputs`); the augmentations
        work in µV. A float is the factor to µV. ``"auto"`` is decided once,
        at ``fit``: ``mne.Epochs`` are read in volts, arrays by the training
        windows' amplitude (the transformer's ``to_microvolts_``), reused by
        ``transform`` so that a window's features never depend on the other
        windows of the call.
    scaling : {"global", "window", "channel", "none"}, default="global"
        How channels are scaled for the encoder (:mod:`skseqclr.scaling`):
        ``"global"`` divides every channel by one constant learned in ``fit``
        (amplitude kept); ``"window"`` divides each window's channels by that
        window's median channel standard deviation (overall gain removed,
        topography kept); ``"channel"`` z-scores each channel of each window;
        ``"none"`` leaves µV as they are (:ref:`benchmark-scaling`).
    resample_to : float or None, default=None
        If set, in Hz: windows at other rates are resampled to it on the
        device (torchaudio's windowed-sinc resampler), in ``fit`` and
        ``transform``; both rates must be whole numbers of Hz. Without it,
        inputs at different rates are refused.
    num_workers : int, default=0
        DataLoader worker processes reading lazy (not preloaded) datasets in
        ``fit`` and ``transform``; 0 reads in the main process.
    """

    _parameter_constraints: dict = {
        "units": [Options("auto", "V", "mV", "uV", "µV"),
                  Interval(numbers.Real, 0, None, closed="neither", description="a positive, finite factor to µV")],
        "scaling": [Options(*SCALING_MODES)],
        "resample_to": [None, HERTZ],
        "num_workers": [Interval(numbers.Integral, 0)],
    }

    def __init__(self, units="auto", scaling="global", resample_to=None, num_workers=0):
        self.units = units
        self.scaling = scaling
        self.resample_to = resample_to
        self.num_workers = num_workers


def _is_name_or_names(value) -> bool:
    return isinstance(value, str) or (isinstance(value, Sequence) and all(isinstance(v, str) for v in value))


def _is_feature_channels(value) -> bool:
    return isinstance(value, str) or (isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, bytes))


class Readout(_Options):
    """How ``transform`` turns the encoder's output into a feature vector.

    Acts at ``transform`` only, so it can be changed on a fitted transformer
    without pretraining again, e.g. ``seqclr.set_params(readout__pooling="mean")``.

    Parameters
    ----------
    pooling : str or tuple of str, default=("mean", "std", "logms")
        Statistics over time of each encoder output channel
        (:data:`skseqclr.pooling.POOLING_STATISTICS`), and log powers in
        frequency bands (:data:`skseqclr.pooling.POOLING_BANDS`: ``"delta"``
        1-4 Hz ... ``"gamma"`` 30-45 Hz; ``"bands"`` for all five; they need
        the sampling frequency and windows long enough to resolve the bands).
        Keep ``"mean"`` (:ref:`benchmark-pooling`, :ref:`benchmark-band-pooling`).
    feature_channels : str or sequence of pairs, default="auto"
        The single channels features are read on
        (:func:`skseqclr.recombination.feature_channel_pairs`). ``"auto"``
        reads ``"original+neighbours"`` when every channel has a distinct
        10-05 name (MNE Epochs and braindecode datasets of scalp EEG usually
        do; numpy input with ``ch_names``), and ``"original"`` otherwise
        (:func:`skseqclr.recombination.resolve_feature_channels`).
        ``"original"``: each channel as recorded (the paper's features);
        ``"differences"``: every difference ``x_i - x_j`` with ``i < j``
        (``n * (n - 1) / 2`` bipolar channels); ``"all"``: both;
        ``"neighbours"``: the differences of neighbouring electrodes only
        (:func:`skseqclr.recombination.neighbour_pairs`);
        ``"original+neighbours"``: the recorded channels and those; or
        ``(a, b)`` pairs of channel names or indices, e.g. a bipolar montage
        (``a == b`` is channel ``a``). ``transform``'s time grows with the
        number of channels read; ``get_feature_names_out`` lists them
        (:ref:`benchmark-feature-channels`).
    feature_reference : bool, default=False
        In each window, each channel's features minus their mean over the
        window's channels of the same kind (recorded channels, differences),
        then each kind's mean as features of its own, named
        ``original-mean`` and ``difference-mean``
        (:func:`skseqclr.referencing.reference_within_kinds`): an average
        reference of the features that loses nothing. Meant for new subjects
        predicted one window at a time; redundant with per-subject
        standardisation, hence off by default (not in the paper;
        :ref:`benchmark-feature-reference`).
    log_power : bool, default=False
        Append each channel's log mean square (after scaling) as one more
        feature per channel read.
    """

    _parameter_constraints: dict = {
        "pooling": [Satisfies(_is_name_or_names, "a statistic's name or a tuple of them")],
        "feature_channels": [Satisfies(_is_feature_channels, "the name of a set of channels or a sequence of "
                                                             "(a, b) channel pairs")],
        "feature_reference": [Flag()],
        "log_power": [Flag()],
    }

    def __init__(self, pooling=("mean", "std", "logms"), feature_channels="auto", feature_reference=False,
                 log_power=False):
        self.pooling = pooling
        self.feature_channels = feature_channels
        self.feature_reference = feature_reference
        self.log_power = log_power

    def _check_together(self):
        check_pooling(self.pooling)
        check_feature_channels(self.feature_channels)


class Checkpointing(_Options):
    """Pretraining checkpoints, and the weights pretraining starts from.

    Parameters
    ----------
    directory : str, path or None, default=None
        Folder for pretraining checkpoints (one file, ``checkpoint.pt``,
        written atomically). ``None`` writes none.
    every : int or None, default=None
        Optimisation steps between checkpoints; one is always written at the
        end of pretraining. Needs ``directory``.
    resume : bool, default=False
        Continue from the checkpoint in ``directory`` (start afresh when
        there is none). Only the run that wrote it continues: a checkpoint of
        other training parameters or data (or of ``random_state=None``, which
        draws a new seed on every fit) is refused with a ``ValueError`` that
        lists the differences. Needs ``directory``.
    init_weights : str, path or None, default=None
        A weights file written by :meth:`SeqCLRTransformer.save` to start
        from: pretraining continues from these weights (with ``n_epochs=0``
        they are used as they are). The file's encoder must have the sizes
        the transformer's ``encoder`` and ``model_size`` build.
    """

    _parameter_constraints: dict = {
        "directory": [None, PATH],
        "every": [None, Interval(numbers.Integral, 1)],
        "resume": [Flag()],
        "init_weights": [None, PATH],
    }

    def __init__(self, directory=None, every=None, resume=False, init_weights=None):
        self.directory = directory
        self.every = every
        self.resume = resume
        self.init_weights = init_weights

    def _check_together(self):
        if self.resume and self.directory is None:
            raise ValueError("Checkpointing: resume=True needs directory, the folder holding the checkpoint.")
        if self.every is not None and self.directory is None:
            raise ValueError(f"Checkpointing: every={self.every} needs directory, the folder to write the "
                             "checkpoints to; set it, or leave every=None.")


#: The sub-estimator class of each parameter of the transformer that holds one; ``None`` means its defaults.
OPTION_CLASSES = {"preprocessing": Preprocessing, "readout": Readout, "checkpointing": Checkpointing}
