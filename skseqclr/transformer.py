"""``SeqCLRTransformer``: SeqCLR pretraining as a scikit-learn transformer."""

from __future__ import annotations

import copy
import json
import numbers
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .training import distributed as D
from ._validation import (DEVICE, HERTZ, NON_NEGATIVE_REAL, PATH, POSITIVE_REAL, RANDOM_STATE, VERBOSE, Flag,
                          InstanceOf, Interval, InvalidParameterError, Options, Satisfies, check_device, check_flag,
                          check_groups_shape, is_non_negative_int, is_positive_int, validate_parameter_constraints)
from ._version import __version__
from .augmentations import (AUGMENTATION_NAMES, PAPER_RANGES, ChannelAugmenter, make_augmentations,
                            resolve_auto_range)
from .nn.encoders import encoder_config, make_encoder
from .features import EncodingSettings, check_finite_outputs, compute_features
from .nn.heads import PROJECTORS, make_projector, projector_config
from .inputs import WindowSource, as_window_source, as_window_sources, fit_units, transform_units
from .pooling import POOLING_BANDS, check_band_resolution, check_pooling
from .recombination import check_feature_channels, feature_channel_pairs
from .referencing import KIND_NAMES, channel_kinds, reference_within_kinds, referenced_kinds
from .scaling import SCALING_MODES, estimate_input_scale
from .training.pretrainer import (ContrastiveViews, Pretrainer, SeqCLRNetwork, nonfinite_tensors, resolve_precision,
                       set_seed_for_init)

__all__ = ["SeqCLRTransformer"]

_FORMAT = "skseqclr-encoder"


def _is_range_pair(value) -> bool:
    """A (low, high) pair of numbers (its values are checked by the augmentations: finite, ordered, ...)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return (isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2
            and all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in value))


_RANGE = Satisfies(_is_range_pair, "a (low, high) pair of numbers")
_SAMPLES_RANGE = Satisfies(_is_range_pair, "a (low, high) pair of whole numbers of samples")


def _is_channel_names(value) -> bool:
    return (isinstance(value, Sequence) or isinstance(value, np.ndarray)) and not isinstance(value, str) \
        and all(isinstance(name, str) for name in value)


def _is_name_or_names(value) -> bool:
    return isinstance(value, str) or (isinstance(value, Sequence) and all(isinstance(v, str) for v in value))


def _is_feature_channels(value) -> bool:
    return isinstance(value, str) or (isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, bytes))


def _is_snapshot_steps(value) -> bool:
    # a one-shot iterator would be used up by this check: a list, tuple, range or array is needed
    return iter(value) is not value and _check_snapshot_steps(value) is not None


class SeqCLRTransformer(TransformerMixin, BaseEstimator):
    """SeqCLR contrastive pretraining of a channel-wise EEG encoder, as a transformer.

    ``fit`` pretrains the encoder without labels (Mohsenvand et al. 2020):
    single channels are drawn from the windows (with channel recombination,
    §2.1), each gets two differently augmented views (§2.2), and encoder plus
    projector learn to tell each channel's two views apart from all other
    views of the batch with the NT-Xent loss (§2.3). ``transform`` encodes every
    channel of every window and pools the encoder's 4 output channels over
    time into a fixed-length feature vector.

    Parameters
    ----------
    encoder : {"conv", "recurrent"}, default="conv"
        The convolutional or the recurrent encoder of the paper.
    model_size : {"paper", "small"}, default="paper"
        Preset of layer sizes. ``"paper"`` follows the paper's figure;
        ``"small"`` keeps the structure with narrower layers and shorter
        kernels (conv: kernels 32/16/8 with 16/16/8 filters, 2 residual units
        with kernel 16; recurrent: GRUs 32/16/8, width 32; projector: BiLSTMs
        32/16/8, dense 32), for CPUs and tests. On EEGMAT (1439 training
        windows) ``"small"`` pretrained for 100 steps gave better features
        than ``"paper"`` with its default 220 steps, by 0.03-0.07 balanced
        accuracy (:doc:`/benchmark`). Try it first on datasets of that size.
    encoder_kwargs : dict or None
        Individual encoder sizes overriding the preset, e.g.
        ``{"branch_channels": (32, 32, 16)}``; see :data:`skseqclr.nn.encoders.ENCODER_SIZES`.
    projector : {"lstm", "pooled"}, default="lstm"
        ``"lstm"`` is the paper's projector (BiLSTMs on the encoder's output
        sequence); ``"pooled"`` projects the ``pooling`` statistics of the
        output, the features ``transform`` returns (see
        :class:`skseqclr.nn.heads.PooledProjector`). On the EEGMAT benchmark
        the pooled projector trained 1.5x faster but its features were worse
        (:doc:`/benchmark`).
    projector_kwargs : dict or None
        Individual projector sizes (``lstm_sizes``, ``hidden_size``, ``output_size``;
        ``lstm_sizes`` is ignored by ``projector="pooled"``).
    amplitude_scale : (float, float) or None, default=None
        Range of gains (unitless); the paper's is ``(0.5, 2.0)``. ``None``
        turns the augmentation off. Off by default: it teaches the encoder to
        ignore amplitude, and on the EEGMAT benchmark amplitude is much of the
        signal (:doc:`/benchmark`). ``SeqCLRTransformer(**PAPER_RANGES)`` gives
        all six augmentations at the paper's ranges (add
        ``augmentations_per_view=1`` for the paper's augmenter as we read it).
    time_shift : (int, int), "auto" or None, default="auto"
        Range of circular shifts, in samples. ``"auto"`` is the paper's
        ±0.25 s (its ±50 samples at 200 Hz) at the data's sampling rate,
        rounded to whole samples and capped at 1/8 of the views' length (the
        windows', or the crops' with ``crop_length``); without a known rate,
        ±50 samples, capped alike. E.g. ±6 samples on 0.5-s windows at
        100 Hz, ±32 on 4-s windows at 128 Hz, ±62 on 2-s windows at 250 Hz
        (:func:`skseqclr.augmentations.resolve_auto_range`). Resolved in
        ``fit`` (``time_shift_``); a ``(low, high)`` pair is used as given. The
        augmentation that mattered most on the EEGMAT benchmark: without it
        the two views can be matched sample by sample, and the features were
        no better than the untrained encoder's (:doc:`/benchmark`).
    dc_shift : (float, float) or None, default=(-10.0, 10.0)
        Range of offsets, in µV. Second in importance on the EEGMAT benchmark.
    zero_mask : (int, int), "auto" or None, default="auto"
        Range of lengths of the zeroed run, in samples. ``"auto"`` is the
        paper's 0 to 0.75 s (its 0-150 samples at 200 Hz) at the data's
        sampling rate, capped at 1/4 of the views' length; without a known
        rate, 0 to 150 samples, capped alike. E.g. 0-12 samples on 0.5-s
        windows at 100 Hz, 0-96 on 4-s windows at 128 Hz, 0-125 on 2-s windows
        at 250 Hz. Resolved in ``fit`` (``zero_mask_``); a ``(low, high)`` pair
        is used as given. ``SeqCLRTransformer(**PAPER_RANGES)`` sets both
        ranges to the paper's samples, ``(-50, 50)`` and ``(0, 150)``.
    gaussian_noise : (float, float) or None, default=(0.0, 0.2)
        Range of noise standard deviations, relative to each channel's.
    bandstop : (float, float) or None, default=None
        Range of centres of the 5-Hz stop band, in Hz (the paper's is
        ``(2.8, 82.5)``); clipped at Nyquist minus 2.5 Hz. Needs the sampling
        frequency. Off by default, like ``amplitude_scale``: on the EEGMAT
        benchmark pretraining with it made the features worse
        (:doc:`/benchmark`).
    augmentations_per_view : int, default=2
        Augmentations composed in each view, each chosen at random among the
        enabled ones; capped at the number enabled, so turning all but one
        off (the paper's study of one augmentation at a time) works with the
        default. We read the paper's augmenter (§2.3) as one augmentation per
        view (``augmentations_per_view=1``); composing two gave better
        features on the EEGMAT benchmark, with the same pretraining time
        (:doc:`/benchmark`).
    recombination : bool or "feature_channels", default=True
        Draw training channels from the n² recombined set (§2.1); ``False``
        draws the recorded channels only; ``"feature_channels"`` draws
        uniformly from the channels ``feature_channels`` reads at fit time
        (with ``"auto"`` and 10-05 names: the recorded channels and the
        differences of neighbouring electrodes), so the encoder is pretrained
        on what ``transform`` reads (not in the paper; on EEGMAT it gained
        less over the untrained encoder than ``True``, :doc:`/benchmark`).
    crop_length : int, float or None, default=None
        If set, the two views of a channel are two random stretches of this
        many samples of it (each from its own uniformly drawn start, then
        augmented as usual), instead of two augmentations of the whole window.
        A float between 0 and 1 is a fraction of the window's length (of the
        shortest window when several datasets are pooled), rounded to whole
        samples: ``crop_length=0.25`` is a quarter of any window.
        The views then share the channel's slowly varying state (its rhythms,
        its amplitude) but not its waveform, so the encoder learns what stays
        the same over the window (not in the paper: SimCLR's random crop,
        in time). Windows must be at least this long, and longer than the
        largest time shift and zero-mask; ``transform`` still encodes whole
        windows. On EEGMAT (4-s windows at 128 Hz) 1-s crops
        (``crop_length=128, zero_mask=(0, 75)``) and 500 steps were the first
        setting in which pretraining clearly paid off, with features
        standardised per subject (:doc:`/benchmark`, "Views as random crops";
        measured with ``augmentations_per_view=1``, level with the default
        two at 10% of the labels).
    channels_per_window : int, default=4
        Single channels drawn from each window per step.
    group_batches : bool, default=False
        Draw every pretraining batch from the windows of one group only
        (a subject, a recording), given as ``fit(X, groups=...)``. The
        negatives of each view then come from the same subject, so telling
        subjects apart no longer solves the contrastive task (not in the
        paper; the subject-specific negatives of Cheng et al., 2020,
        "Subject-aware contrastive learning for biosignals"). Each group's
        windows are split into the fewest batches of at most
        ``ceil(batch_size / channels_per_window)`` windows, so small groups
        give small batches. No gain on EEGMAT (:doc:`/benchmark`).
    scaling : {"global", "window", "channel", "none"}, default="global"
        How channels are scaled for the encoder (see :mod:`skseqclr.scaling`):
        ``"global"`` divides every channel by one constant learned in ``fit``
        (amplitude kept); ``"window"`` divides each window's channels by that
        window's median channel standard deviation (overall gain removed,
        topography kept); ``"channel"`` z-scores each channel of each window.
    units : {"auto", "V", "mV", "uV"} or float, default="auto"
        Units of the input (see :mod:`skseqclr.inputs`); augmentations work in µV.
        ``"auto"`` is decided once, at ``fit``: ``mne.Epochs`` in volts, arrays
        by the training windows' amplitude (``to_microvolts_``), reused by
        ``transform`` so that a window's features never depend on the other
        windows of the call.
    sfreq : float or None
        Sampling frequency in Hz of numpy input (MNE and braindecode input carry it).
    ch_names : list of str or None
        Channel names of numpy input, in order (MNE and braindecode input
        carry theirs; given with them, they must agree). Without names, numpy
        channels are ``ch0``, ``ch1``, ..., which ``feature_channels="auto"``
        cannot place on the scalp.
    resample_to : float or None
        If set, windows at other rates are resampled to it on the device
        (torchaudio's windowed-sinc resampler), in ``fit`` and ``transform``.
        Without it, inputs at different rates are refused.
    temperature : float, default=0.1
        NT-Xent temperature.
    n_epochs : int, default=10
        Passes over the training windows. ``0`` gives the untrained encoder
        with everything else identical: the control for any comparison.
    max_steps : int or None
        Stop after this many optimisation steps.
    snapshot_steps : iterable of int or None
        Step counts after which to keep a copy of the network's weights (in
        memory, on the CPU), e.g. ``range(100, 1001, 100)``;
        :meth:`at_step` turns each into a transformer as it was then. One
        pretraining run then gives every candidate length, for choosing the
        number of steps by a probe on labelled windows rather than by the loss
        (on EEGMAT the probe peaked at a few hundred steps while the loss kept
        falling; see the documentation's benchmark page, and
        :func:`skseqclr.evaluation.model_selection.select_pretraining_length`). Step 0
        keeps the initial network, the same as the untrained control
        (``n_epochs=0``) of the same ``random_state``, so it can be one of the
        candidates. Steps past the end of the run are an error; without
        pretraining (``n_epochs=0``) there are no snapshots. Snapshots are not
        written by :meth:`save`.
    batch_size : int, default=256
        Single channels per step (the loss sees twice as many views); also the
        number of channels encoded at once by ``transform``.
    lr : float, default=1e-3
        AdamW learning rate.
    weight_decay : float, default=1e-6
        AdamW weight decay.
    lr_schedule : {"cosine", "constant"}, default="cosine"
        Learning-rate schedule over all steps.
    pooling : str or tuple of str, default=("mean", "std", "logms")
        Statistics over time of each encoder output channel
        (:data:`skseqclr.pooling.POOLING_STATISTICS`), and log powers in
        frequency bands (:data:`skseqclr.pooling.POOLING_BANDS`: ``"delta"``
        1-4 Hz ... ``"gamma"`` 30-45 Hz; ``"bands"`` for all five; they need
        the sampling frequency). Keep ``"mean"``: without it, on one
        subject's motor imagery, the pretrained features lost 0.01-0.07
        (:ref:`benchmark-feature-reference-auto`). ``pooling="bands"`` gave the
        untrained encoder's features the best scores of any SeqCLR setting
        there, and pretraining made them worse (:doc:`/benchmark`).
    log_power : bool, default=False
        Append each input channel's log mean square (after scaling) as one
        more feature per channel.
    feature_channels : str or sequence of pairs, default="auto"
        The single channels ``transform`` and ``encode`` read features on
        (:func:`skseqclr.recombination.feature_channel_pairs`). ``"auto"``
        reads ``"original+neighbours"`` when every channel has a distinct
        10-05 system name (MNE Epochs and braindecode datasets of scalp EEG
        usually do; numpy input with ``ch_names``), and ``"original"``
        otherwise (:func:`skseqclr.recombination.resolve_feature_channels`;
        ``get_feature_names_out`` lists what is read). ``"original"``: each channel
        as recorded (the paper's features); ``"differences"``, every
        difference ``x_i - x_j`` with ``i < j`` (``n * (n - 1) / 2`` bipolar
        channels, the kind recombination pretrains on most, §2.1);
        ``"all"``, both; ``"neighbours"``, the differences of neighbouring
        electrodes only, placed by their 10-05 names
        (:func:`skseqclr.recombination.neighbour_pairs`);
        ``"original+neighbours"``, the recorded channels and those; or
        ``(a, b)`` pairs of channel names or indices, e.g. a bipolar montage
        (``a == b`` is channel ``a``). Scaled like the recombined channels of
        pretraining. Can be changed on a fitted transformer without
        pretraining again. On EEGMAT ``"original+neighbours"`` gave the best
        features, and pretraining gained most over the untrained encoder on
        neighbours (:ref:`benchmark-feature-channels`); it costs ``transform``
        about 3.3 times the time of ``"original"`` there (63 channels read
        instead of 19).
    feature_reference : bool, default=False
        In each window, each channel's features minus their mean over the
        window's channels of the same kind (the recorded channels among
        themselves, the differences of ``feature_channels`` among
        themselves), then each kind's mean as features of its own, named
        ``original-mean`` and ``difference-mean``
        (:func:`skseqclr.referencing.reference_within_kinds`; a kind read on
        one channel only is left as it is and adds nothing). An average
        reference of the features, as EEG's common average reference is of the
        signals, that loses nothing: what moves every channel together (a
        subject's or amplifier's overall gain, a global change of power) is
        in the mean's features, each channel relative to the others in its
        own, and nothing but the window itself is used. Not in the paper. For
        new subjects predicted one window at a time: on EEGMAT (cross-subject,
        no batch of the test subjects' windows) it lifted the pretrained
        features with 10% of the labels from .704 to .726 (one-SE probe, six
        seeds; best C: .690 to .699); but it cost 0.009 / 0.017 with 100% /
        10% of the labels when the features are standardised per subject,
        and was level with the unreferenced features within one subject's
        motor imagery (:ref:`benchmark-feature-reference-auto`), hence off
        by default. Acts in ``transform`` and ``encode`` only: it can be
        changed on a fitted transformer.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available (each rank's own GPU under torchrun).
    precision : {"auto", "fp32", "bf16"}, default="auto"
        bf16 autocast is used by ``"auto"`` on CPUs with native bf16
        instructions; elsewhere fp32, on CUDA too (there cuDNN's TF32
        convolutions were about 9 times faster than bf16 autocast for the
        paper-size encoder, measured on an H200).
    compile : bool, default=False
        Train through ``torch.compile``; falls back to eager with a warning.
    num_workers : int, default=0
        DataLoader worker processes reading lazy (not preloaded) datasets.
    init_weights : str, path or None
        Weights saved by :meth:`save` to start from (pretraining continues from
        them; with ``n_epochs=0`` they are used as they are).
    checkpoint_dir : str, path or None
        Folder for pretraining checkpoints.
    checkpoint_every : int or None
        Steps between checkpoints (one is always written at the end).
    resume : bool, default=False
        Continue from the checkpoint in ``checkpoint_dir`` (start afresh when
        there is none). Only the run that wrote it continues: a checkpoint of
        other training parameters or data (or of ``random_state=None``, which
        draws a new seed on every fit) is refused with a ``ValueError`` that
        lists the differences.
    random_state : int, RandomState or None
        Seeds weights, channel draws and augmentations.
    verbose : int, default=0
        ``> 0`` shows a progress bar with the running loss.

    Attributes
    ----------
    encoder_ : torch.nn.Module
        The pretrained encoder (on the CPU).
    projector_ : torch.nn.Module
        The projection head used for pretraining.
    history_ : list of dict
        Per epoch: ``epoch``, ``loss``, ``steps``, ``time_s``.
    input_scale_ : float
        Median channel standard deviation of the training data, µV.
    to_microvolts_ : float
        Factor to µV applied in ``transform`` and ``encode`` to inputs that
        carry no units (arrays, tensors): the explicit ``units``, or for
        ``"auto"`` the one decided at ``fit`` from the training windows
        (:func:`skseqclr.inputs.fit_units`). With ``"auto"``, ``mne.Epochs``
        are read in volts and a braindecode dataset in the units judged from
        the dataset as a whole.
    sfreq_ : float or None
        Sampling frequency the encoder was trained at.
    n_channels_fit_ : tuple of int
        Channel counts of the training inputs; ``transform`` accepts these.
    ch_names_ : list of str
        Channel names of the (first) training input.
    n_features_in_ : int
        Channels of the (first) training input (time samples for 2-D arrays).
    n_features_out_ : int
        Length of the feature vector for windows like the first training input.
    interrupted_ : bool
        True if Ctrl-C stopped pretraining early.
    snapshots_ : dict of int to dict
        The network's weights (a ``state_dict`` on the CPU) after each step
        count of ``snapshot_steps``; empty without it.
    time_shift_, zero_mask_ : (int, int) or None
        The ranges of the time shift and the zero-mask pretraining used, in
        samples: ``"auto"`` resolved for the data, given pairs as they are.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipe = make_pipeline(SeqCLRTransformer(model_size="small", n_epochs=5, sfreq=128),
    ...                      LogisticRegression())  # doctest: +SKIP
    """

    def __init__(
        self,
        encoder="conv",
        model_size="paper",
        encoder_kwargs=None,
        projector="lstm",
        projector_kwargs=None,
        amplitude_scale=None,
        time_shift="auto",
        dc_shift=PAPER_RANGES["dc_shift"],
        zero_mask="auto",
        gaussian_noise=PAPER_RANGES["gaussian_noise"],
        bandstop=None,
        augmentations_per_view=2,
        recombination=True,
        crop_length=None,
        channels_per_window=4,
        group_batches=False,
        scaling="global",
        units="auto",
        sfreq=None,
        ch_names=None,
        resample_to=None,
        temperature=0.1,
        n_epochs=10,
        max_steps=None,
        snapshot_steps=None,
        batch_size=256,
        lr=1e-3,
        weight_decay=1e-6,
        lr_schedule="cosine",
        pooling=("mean", "std", "logms"),
        log_power=False,
        feature_channels="auto",
        feature_reference=False,
        device="auto",
        precision="auto",
        compile=False,
        num_workers=0,
        init_weights=None,
        checkpoint_dir=None,
        checkpoint_every=None,
        resume=False,
        random_state=None,
        verbose=0,
    ):
        self.encoder = encoder
        self.model_size = model_size
        self.encoder_kwargs = encoder_kwargs
        self.projector = projector
        self.projector_kwargs = projector_kwargs
        self.amplitude_scale = amplitude_scale
        self.time_shift = time_shift
        self.dc_shift = dc_shift
        self.zero_mask = zero_mask
        self.gaussian_noise = gaussian_noise
        self.bandstop = bandstop
        self.augmentations_per_view = augmentations_per_view
        self.recombination = recombination
        self.crop_length = crop_length
        self.channels_per_window = channels_per_window
        self.group_batches = group_batches
        self.scaling = scaling
        self.units = units
        self.sfreq = sfreq
        self.ch_names = ch_names
        self.resample_to = resample_to
        self.temperature = temperature
        self.n_epochs = n_epochs
        self.max_steps = max_steps
        self.snapshot_steps = snapshot_steps
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.pooling = pooling
        self.log_power = log_power
        self.feature_channels = feature_channels
        self.feature_reference = feature_reference
        self.device = device
        self.precision = precision
        self.compile = compile
        self.num_workers = num_workers
        self.init_weights = init_weights
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume
        self.random_state = random_state
        self.verbose = verbose

    # Pipelines that route groups to other steps (GroupStandardScaler, LinearProbe) keep working
    # without set_fit_request(groups=False) here: groups are only used by group_batches=True.
    __metadata_request__fit = {"groups": False}

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        tags.requires_fit = True
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # ------------------------------------------------------------ validation
    #: What each parameter may be, checked by name at fit (:func:`skseqclr._validation.validate_parameter_constraints`);
    #: what depends on several parameters is checked after, in ``_check_params``.
    _parameter_constraints: dict = {
        "encoder": [Options("conv", "recurrent")],
        "model_size": [Options("paper", "small")],
        "encoder_kwargs": [None, InstanceOf(Mapping, "a dict of encoder sizes (skseqclr.nn.encoders.ENCODER_SIZES)")],
        "projector": [Options(*PROJECTORS)],
        "projector_kwargs": [None, InstanceOf(Mapping, "a dict of projector sizes (skseqclr.nn.heads.HEAD_SIZES)")],
        "amplitude_scale": [_RANGE, None],
        "time_shift": [_SAMPLES_RANGE, Options("auto"), None],
        "dc_shift": [_RANGE, None],
        "zero_mask": [_SAMPLES_RANGE, Options("auto"), None],
        "gaussian_noise": [_RANGE, None],
        "bandstop": [_RANGE, None],
        "augmentations_per_view": [Interval(numbers.Integral, 1)],
        "recombination": [Flag(), Options("feature_channels")],
        "crop_length": [None, Interval(numbers.Integral, 1, description="a positive number of samples"),
                        Interval(numbers.Real, 0, 1, closed="neither",
                                 description="a fraction of the window between 0 and 1")],
        "channels_per_window": [Interval(numbers.Integral, 1)],
        "group_batches": [Flag()],
        "scaling": [Options(*SCALING_MODES)],
        "units": [Options("auto", "V", "mV", "uV", "µV"),
                  Interval(numbers.Real, 0, None, closed="neither", description="a positive, finite factor to µV")],
        "sfreq": [None, HERTZ],
        "ch_names": [Satisfies(_is_channel_names, "a list of channel names (str)"), None],
        "resample_to": [None, HERTZ],
        "temperature": [POSITIVE_REAL],
        "n_epochs": [Interval(numbers.Integral, 0)],
        "max_steps": [None, Interval(numbers.Integral, 0)],
        "snapshot_steps": [None, Satisfies(_is_snapshot_steps,
                                           "an iterable of step counts >= 0, e.g. range(0, 1001, 100)")],
        "batch_size": [Interval(numbers.Integral, 1)],
        "lr": [POSITIVE_REAL],
        "weight_decay": [NON_NEGATIVE_REAL],
        "lr_schedule": [Options("cosine", "constant")],
        "pooling": [Satisfies(_is_name_or_names, "a statistic's name or a tuple of them")],
        "log_power": [Flag()],
        "feature_channels": [Satisfies(_is_feature_channels, "the name of a set of channels or a sequence of "
                                                             "(a, b) channel pairs")],
        "feature_reference": [Flag()],
        "device": DEVICE,
        "precision": [Options("auto", "fp32", "bf16")],
        "compile": [Flag()],
        "num_workers": [Interval(numbers.Integral, 0)],
        "init_weights": [None, PATH],
        "checkpoint_dir": [None, PATH],
        "checkpoint_every": [None, Interval(numbers.Integral, 1)],
        "resume": [Flag()],
        "random_state": RANDOM_STATE,
        "verbose": VERBOSE,
    }

    def _check_params(self):
        """Every parameter by name (the table above), then what depends on several of them."""
        validate_parameter_constraints(self._parameter_constraints, self.get_params(deep=False),
                                       caller=type(self).__name__)
        if self.batch_size < 2:
            raise ValueError("batch_size must be at least 2: NT-Xent needs negatives.")
        if self.resume and self.checkpoint_dir is None:
            raise ValueError("resume=True needs checkpoint_dir, where the checkpoint is.")
        if self.checkpoint_every is not None and self.checkpoint_dir is None:
            raise ValueError(f"checkpoint_every={self.checkpoint_every} needs checkpoint_dir, the folder to write "
                             "the checkpoints to; set it, or leave checkpoint_every=None.")
        if self.ch_names is not None:
            duplicated = sorted({name for name in self.ch_names if list(self.ch_names).count(name) > 1})
            if duplicated:
                raise ValueError(f"ch_names names {duplicated} more than once; every channel needs its own name.")
        self._snapshot_steps = _check_snapshot_steps(self.snapshot_steps)
        self._pooling = check_pooling(self.pooling)
        if self.projector == "pooled" and any(name in POOLING_BANDS for name in self._pooling):
            raise ValueError('projector="pooled" projects statistics over time; the band statistics of '
                             f"pooling={self.pooling!r} are for transform only: use the 'lstm' projector.")
        # the ranges themselves (finite, ordered, whole samples ...); "auto" is resolved for the data in fit
        make_augmentations(sfreq=None, n_times=None, **self._augmentation_ranges())
        check_feature_channels(self.feature_channels)
        self._encoder_config()
        self._projector_config()
        check_device(self.device)

    def _augmentation_ranges(self):
        """The six range parameters as set (``"auto"`` unresolved)."""
        return {name: getattr(self, name) for name in AUGMENTATION_NAMES}

    def _resolved_ranges(self, sfreq, n_times=None):
        """The six ranges with ``"auto"`` resolved at ``sfreq`` (Hz or None) for views of ``n_times`` samples."""
        return {name: (resolve_auto_range(name, sfreq, n_times) if isinstance(value, str) and value == "auto"
                       else value) for name, value in self._augmentation_ranges().items()}

    def _augmenter(self, sfreq, n_times=None):
        """The pretraining augmenter, at ``sfreq`` (Hz, or None if unknown), for views of ``n_times`` samples
        (the windows, or the crops; None: ``"auto"`` ranges uncapped)."""
        augmentations = make_augmentations(sfreq=sfreq, **self._resolved_ranges(sfreq, n_times))
        return ChannelAugmenter(augmentations, min(self.augmentations_per_view, max(len(augmentations), 1)))

    def _device(self):
        check_device(self.device)  # also at transform: a model pickled with device="cuda" on a machine without
        return D.local_device(self.device)

    def _encoder_config(self):
        return encoder_config(self.encoder, self.model_size, **(self.encoder_kwargs or {}))

    def _projector_config(self):
        return projector_config(self.projector, self.model_size, check_pooling(self.pooling),
                                **(self.projector_kwargs or {}))

    def _target_sfreq(self, sources):
        if self.resample_to is not None:
            return float(self.resample_to)
        rates = {s.sfreq for s in sources if s.sfreq is not None}
        if len(rates) > 1:
            raise ValueError(
                f"The inputs have different sampling frequencies {sorted(rates)} Hz; resample them "
                "to one rate first (e.g. mne's raw.resample) or set resample_to=<Hz> to resample on the fly."
            )
        return rates.pop() if rates else None

    def _resample_pair(self, source):
        if self.resample_to is None or source.sfreq is None or np.isclose(source.sfreq, self.resample_to):
            return None
        if not float(source.sfreq).is_integer() or not float(self.resample_to).is_integer():
            raise ValueError(
                f"On-the-fly resampling needs whole-Hz rates, got {source.sfreq} -> {self.resample_to} Hz; "
                "resample with MNE first."
            )
        return int(source.sfreq), int(self.resample_to)

    def _n_times_after_resampling(self, source):
        pair = self._resample_pair(source)
        return source.n_times if pair is None else int(np.ceil(source.n_times * pair[1] / pair[0]))

    def _check_window_length(self, source, encoder_min_length, augmenter=None, *, sfreq, crop_samples=None):
        """Refuse windows too short for the encoder, the augmentations or the pooling bands.

        ``sfreq`` is the encoder's rate (after resampling), or None if unknown;
        ``crop_samples`` the length of the pretraining views if they are crops.
        """
        n_times = self._n_times_after_resampling(source)
        if n_times < encoder_min_length:
            raise ValueError(
                f"Windows of {n_times} samples are too short for the {self.encoder} encoder "
                f"(model_size={self.model_size!r}), which needs at least {encoder_min_length} samples "
                f"({n_times} feature(s) per window); use longer windows or a smaller model."
            )
        if augmenter is not None:
            if crop_samples is None:
                augmenter.check_window(n_times)
            else:
                self._check_crop(crop_samples, n_times, encoder_min_length, augmenter)
        check_band_resolution(check_pooling(self.pooling), n_times, sfreq)

    def _crop_samples(self, sources):
        """Samples per pretraining view if the views are crops, else None.

        A fractional ``crop_length`` is a fraction of the shortest window, so
        that one crop length fits every pooled dataset.
        """
        if self.crop_length is None:
            return None
        if is_positive_int(self.crop_length):
            return int(self.crop_length)
        shortest = min(self._n_times_after_resampling(s) for s in sources)
        return max(1, int(round(self.crop_length * shortest)))

    def _crop_name(self, crop_samples):
        if is_positive_int(self.crop_length):
            return f"crop_length={crop_samples}"
        return f"crop_length={self.crop_length} ({crop_samples} samples)"

    def _check_crop(self, crop_samples, n_times, encoder_min_length, augmenter):
        name = self._crop_name(crop_samples)
        if crop_samples > n_times:
            raise ValueError(f"{name} is longer than the windows ({n_times} samples).")
        if crop_samples < encoder_min_length:
            raise ValueError(
                f"{name} is too short for the {self.encoder} encoder "
                f"(model_size={self.model_size!r}), which needs at least {encoder_min_length} samples."
            )
        augmenter.check_window(crop_samples, what=f"the pretraining crops (crop_length={self.crop_length})")

    # ------------------------------------------------------------------- fit
    def fit(self, X, y=None, groups=None):
        """Pretrain the encoder on unlabelled windows.

        Parameters
        ----------
        X : array-like, braindecode dataset, mne.Epochs, SliceDataset, list, or skseqclr.MultiDataset
            Training windows. A list (or tuple) is one sequence of windows,
            as for ``transform`` (:mod:`skseqclr.inputs`); a
            :class:`~skseqclr.MultiDataset` pools several datasets (any
            channel counts and lengths) for pretraining, each batch drawn
            from one of them.
        y : ignored
            Present for Pipeline compatibility; SeqCLR uses no labels.
        groups : array-like of shape (n_windows,) or None
            Subject (or recording) of each window, for ``group_batches=True``
            (ignored otherwise); with a ``MultiDataset``, the groups of all its
            windows in order. In a Pipeline, route it with
            ``set_fit_request(groups=True)``.

        Returns
        -------
        self : SeqCLRTransformer
        """
        self._check_params()
        sources = as_window_sources(X, sfreq=self.sfreq, ch_names=self.ch_names)
        # also validates feature_channels against every source's channels, before any pretraining
        read_pairs = [feature_channel_pairs(self.feature_channels, list(source.ch_names))[:2] for source in sources]
        training = self.n_epochs > 0 and self.max_steps != 0
        # the untrained control (n_epochs=0) needs no groups: it draws no batches
        source_groups = self._split_groups(groups, sources) if self.group_batches and training else None
        target_sfreq = self._target_sfreq(sources)
        factors, to_microvolts = fit_units(self.units, sources)  # "auto" is decided here, once
        resample = [self._resample_pair(s) for s in sources]
        D.init_from_env()  # under torchrun: join the process group (NCCL on GPU, Gloo on CPU)
        # all ranks need one seed (it fixes the shards, weights and input scale), even with random_state=None
        seed = D.broadcast_object(int(check_random_state(self.random_state).randint(0, 2**31 - 1)))
        device = self._device()
        precision = resolve_precision(self.precision, device)

        with set_seed_for_init(seed):
            encoder = make_encoder(self.encoder, self.model_size, **(self.encoder_kwargs or {}))
            projector = make_projector(self.projector, encoder.n_outputs, **self._projector_config())
        network = SeqCLRNetwork(encoder, projector)
        if self.init_weights is not None:
            _load_weights_into(network, self.init_weights, self.encoder, self._encoder_config())

        crop_samples = self._crop_samples(sources)
        # "auto" shift and mask lengths follow the views: the crops, or the shortest windows
        view_length = crop_samples or min(self._n_times_after_resampling(s) for s in sources)
        augmenter = self._augmenter(target_sfreq, view_length)
        for source in sources:
            self._check_window_length(source, encoder.min_length, augmenter, sfreq=target_sfreq,
                                      crop_samples=crop_samples)

        # Datasets pooled for pretraining may differ in window length: estimate on their common length.
        n_common = min(s.n_times for s in sources)
        input_scale = estimate_input_scale(np.concatenate([
            _sample_windows(s, 64, seed).reshape(-1, s.n_times)[:, :n_common] * f for s, f in zip(sources, factors)
        ])[:, None, :]) if self.scaling == "global" else 1.0

        self.history_ = []
        self.interrupted_ = False
        self.snapshots_ = {}  # and stays empty for the untrained control (n_epochs=0): one parameter away
        if training:
            on_feature_channels = isinstance(self.recombination, str)  # "feature_channels"
            candidates = [tuple(torch.as_tensor(indices, device=device) for indices in pairs)
                          for pairs in read_pairs] if on_feature_channels else None
            views = ContrastiveViews(self.batch_size, self.channels_per_window,
                                     not on_feature_channels and bool(self.recombination), augmenter, self.scaling,
                                     input_scale, crop_samples, candidates)
            trainer = Pretrainer(
                network=network, sources=sources, to_microvolts=factors, resample=resample, views=views,
                device=device, n_epochs=self.n_epochs, max_steps=self.max_steps, lr=self.lr,
                weight_decay=self.weight_decay, lr_schedule=self.lr_schedule, temperature=self.temperature,
                precision=precision, compile=self.compile, num_workers=self.num_workers, seed=seed,
                checkpoint_dir=self.checkpoint_dir, checkpoint_every=self.checkpoint_every,
                resume=self.resume, verbose=self.verbose, groups=source_groups,
                snapshot_steps=frozenset(self._snapshot_steps),
                run_identity=self.get_params(deep=False),  # a checkpoint resumes only the run it came from
            )
            if self._snapshot_steps and self._snapshot_steps[-1] > trainer.total_steps:
                raise ValueError(
                    f"snapshot_steps asks for step {self._snapshot_steps[-1]}, but this fit trains "
                    f"{trainer.total_steps} steps (n_epochs={self.n_epochs} of {trainer.steps_per_epoch} steps, "
                    f"max_steps={self.max_steps}).")
            self.history_ = trainer.run()
            self.interrupted_ = trainer.interrupted
            self.n_steps_ = trainer.step
            self.snapshots_ = trainer.snapshots
        else:
            self.n_steps_ = 0
        network.cpu().eval()

        self.encoder_ = network.encoder
        self.projector_ = network.projector
        self.input_scale_ = float(input_scale)
        self.sfreq_ = target_sfreq
        self.to_microvolts_ = to_microvolts
        self.precision_ = precision
        self.n_channels_fit_ = tuple(sorted({s.n_channels for s in sources}))
        self.ch_names_ = list(sources[0].ch_names)
        first = sources[0]
        self.n_features_in_ = first.n_times if getattr(first, "from_2d", False) else first.n_channels
        ranges = self._resolved_ranges(target_sfreq, view_length)
        self.time_shift_, self.zero_mask_ = (None if ranges[name] is None else tuple(ranges[name])
                                             for name in ("time_shift", "zero_mask"))
        return self

    def at_step(self, step):
        """This transformer as it was after ``step`` pretraining steps.

        Parameters
        ----------
        step : int
            One of the step counts kept by ``snapshot_steps`` (the keys of
            ``snapshots_``).

        Returns
        -------
        SeqCLRTransformer
            A fitted copy with the network's weights of that step (its own
            copy: this transformer is unchanged), ``n_steps_=step``, the epochs
            of ``history_`` completed by then, and no snapshots.

        See Also
        --------
        skseqclr.evaluation.model_selection.select_pretraining_length :
            Chooses among the snapshots by a linear probe's cross-validation
            on labelled windows, folds grouped by subject.

        Examples
        --------
        One pretraining run, every length a candidate::

            seqclr = SeqCLRTransformer(max_steps=1000, snapshot_steps=range(100, 1000, 100),
                                       sfreq=128).fit(X_unlabelled)
            features_300 = seqclr.at_step(300).transform(X)
        """
        check_is_fitted(self, "encoder_")
        snapshots = getattr(self, "snapshots_", {})
        if step not in snapshots:
            kept = ", ".join(map(str, sorted(snapshots))) or "none (snapshot_steps=None)"
            raise ValueError(f"No snapshot after step {step!r}; this fit kept: {kept}.")
        network = copy.deepcopy(SeqCLRNetwork(self.encoder_, self.projector_))
        network.load_state_dict(snapshots[step])
        earlier = copy.copy(self)
        earlier.encoder_, earlier.projector_ = network.encoder.eval(), network.projector.eval()
        earlier.n_steps_ = int(step)
        completed = np.cumsum([entry["steps"] for entry in self.history_]) <= step
        earlier.history_ = [entry for entry, done in zip(self.history_, completed) if done]
        earlier.snapshots_ = {}
        return earlier

    @staticmethod
    def _split_groups(groups, sources):
        """``groups`` checked and cut into one array per source."""
        if groups is None:
            raise ValueError("group_batches=True needs the group (subject) of every window: "
                             "fit(X, groups=...); in a Pipeline, set_fit_request(groups=True) and "
                             "pass groups to the Pipeline's fit.")
        bounds = np.cumsum([0] + [s.n_windows for s in sources])
        groups = check_groups_shape(groups, int(bounds[-1]))
        if groups.dtype.kind == "f" and np.isnan(groups).any():
            raise ValueError("groups contains NaN.")
        return [groups[start:stop] for start, stop in zip(bounds[:-1], bounds[1:])]

    def _n_features_per_channel(self):
        return self.encoder_.n_outputs * len(check_pooling(self.pooling)) + int(self.log_power)

    def _feature_channels(self, ch_names):
        """``(pairs, names)`` of the channels features are read on; ``pairs`` None for the originals."""
        first, second, names = feature_channel_pairs(self.feature_channels, list(ch_names))
        return (None if first == second == list(range(len(ch_names))) else (first, second)), names

    @property
    def n_features_out_(self):
        """Features per window: channels read (``feature_channels``, on the fitted channels) x features each."""
        check_is_fitted(self, "encoder_")
        return len(self._read_rows(self.ch_names_)) * self._n_features_per_channel()

    # ------------------------------------------------------------- transform
    def encode(self, X) -> np.ndarray:
        """Pooled features per channel, for windows with any number of channels.

        Parameters
        ----------
        X : array-like, braindecode dataset, mne.Epochs or SliceDataset

        Returns
        -------
        np.ndarray of shape (n_windows, n_rows, n_features_per_channel), float32
            One row per channel ``feature_channels`` makes of the windows'
            (their own by default); with ``feature_reference`` each
            minus the mean of its kind's channels in the same window, then
            one row per kind with that mean (``get_feature_names_out`` names
            the rows).
        """
        check_is_fitted(self, "encoder_")
        check_flag("feature_reference", self.feature_reference)  # transform-time: set_params skips fit's checks
        source = as_window_source(X, sfreq=self.sfreq, ch_names=self.ch_names)
        pairs, names = self._feature_channels(source.ch_names)
        if self.sfreq_ is not None and source.sfreq is not None and self.resample_to is None \
                and not np.isclose(source.sfreq, self.sfreq_):
            raise ValueError(
                f"The encoder was trained on {self.sfreq_} Hz data, X is at {source.sfreq} Hz; "
                "resample X, or set resample_to to resample on the fly."
            )
        self._check_window_length(source, self.encoder_.min_length, sfreq=self.sfreq_)
        device = self._device()
        encoder = self.encoder_.to(device)
        try:
            windows_per_batch = max(1, self.batch_size // len(names))
            features = compute_features(
                encoder, source, to_microvolts=self._to_microvolts(source), resample=self._resample_pair(source),
                settings=self._settings(device), device=device, windows_per_batch=windows_per_batch,
                statistics=check_pooling(self.pooling), log_power=self.log_power, num_workers=self.num_workers,
                sfreq=self.sfreq_, pairs=pairs,
            )
        finally:
            self.encoder_.cpu()
        if self.feature_reference:
            features = reference_within_kinds(features, self._channel_kinds(pairs, len(names)))
        # never NaN silently (compute_features checked each batch; this covers what followed)
        check_finite_outputs(features, np.arange(len(features)), modules={"encoder": self.encoder_})
        return features

    @staticmethod
    def _channel_kinds(pairs, n_read):
        return np.zeros(n_read, dtype=int) if pairs is None else channel_kinds(*pairs)

    def _read_rows(self, ch_names):
        """Names of the rows of ``encode``'s output for windows with channels ``ch_names``: the channels read,
        then (``feature_reference``) each referenced kind's mean."""
        pairs, names = self._feature_channels(ch_names)
        if not self.feature_reference:
            return list(names)
        kinds = self._channel_kinds(pairs, len(names))
        return list(names) + [f"{KIND_NAMES[kinds[members[0]]]}-mean" for members in referenced_kinds(kinds)]

    def _settings(self, device):
        # Resolved for the device in use now: a model fitted in bf16 on a GPU and unpickled on a
        # CPU without native bf16 must not transform in (emulated, very slow) bf16.
        return EncodingSettings(self.scaling, self.input_scale_, resolve_precision(self.precision, device))

    def _to_microvolts(self, source: WindowSource) -> float:
        """Factor to µV of ``source``: the same for every window of the call (decided at fit for "auto")."""
        return transform_units(self.units, source, self.to_microvolts_)

    def transform(self, X):
        """Encode windows into feature vectors.

        Parameters
        ----------
        X : array-like, braindecode dataset, mne.Epochs or SliceDataset
            Windows with one of the channel counts seen in ``fit`` and any
            length the encoder accepts.

        Returns
        -------
        np.ndarray of shape (n_windows, n_rows * n_features_per_channel), float32
            For each channel read (``feature_channels``; the windows' own by
            default), then with ``feature_reference`` for each kind's
            mean (:meth:`encode`): its 4 encoder outputs' pooling statistics (then its log
            power, if ``log_power``), channel after channel.
        """
        check_is_fitted(self, "encoder_")
        source = as_window_source(X, sfreq=self.sfreq, ch_names=self.ch_names)
        if source.n_channels not in self.n_channels_fit_:
            raise ValueError(
                f"X has {source.n_channels} channels but SeqCLRTransformer was fitted on windows with "
                f"{' or '.join(map(str, self.n_channels_fit_))} channels: the feature vector (channels x "
                f"{self._n_features_per_channel()} features) would change layout and no longer match what "
                "a downstream estimator was trained on. Use encode(X) for per-channel features of any "
                "channel count, or refit on windows with these channels."
            )
        self._check_read_channels(source)
        features = self.encode(source)
        return features.reshape(features.shape[0], -1)

    def _check_read_channels(self, source: WindowSource):
        """Refuse windows with the fitted channel count whose names make ``feature_channels`` read another number
        of channels (e.g. ``"auto"`` on numpy windows without names, after fitting on named Epochs)."""
        if source.n_channels != len(self.ch_names_):
            return
        fitted = self._feature_channels(self.ch_names_)[1]
        read = self._feature_channels(source.ch_names)[1]
        if len(read) != len(fitted):
            raise ValueError(
                f"feature_channels={self.feature_channels!r} reads {len(read)} channels of X but read "
                f"{len(fitted)} of the windows seen in fit, because X's channel names "
                f"({', '.join(list(source.ch_names)[:4])}, ...) differ from those seen in fit "
                f"({', '.join(self.ch_names_[:4])}, ...); the feature vector would change layout. Give numpy "
                "windows their names (ch_names=...), or set feature_channels explicitly."
            )

    def get_feature_names_out(self, input_features=None):
        """Feature names ``<channel>_h<k>_<statistic>`` (and ``<channel>_logpower``); a difference's channel is
        ``<a>-<b>``, the means of ``feature_reference`` ``original-mean`` and ``difference-mean``."""
        check_is_fitted(self, "encoder_")
        names = []
        for ch in self._read_rows(self.ch_names_):
            for k in range(self.encoder_.n_outputs):
                names.extend(f"{ch}_h{k}_{stat}" for stat in check_pooling(self.pooling))
            if self.log_power:
                names.append(f"{ch}_logpower")
        return np.asarray(names, dtype=object)

    # ----------------------------------------------------------- persistence
    def save(self, path) -> Path:
        """Save encoder and projector weights with their configuration (safetensors).

        The file loads with :meth:`load` on any machine (CPU or GPU) and can
        initialise another transformer through ``init_weights=path``.
        """
        from safetensors.torch import save_file

        check_is_fitted(self, "encoder_")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {f"encoder.{k}": v.detach().cpu().contiguous() for k, v in self.encoder_.state_dict().items()}
        tensors.update({f"projector.{k}": v.detach().cpu().contiguous()
                        for k, v in self.projector_.state_dict().items()})
        metadata = {
            "format": _FORMAT,
            "skseqclr_version": __version__,
            "encoder": self.encoder,
            "encoder_config": json.dumps(_jsonable(self._encoder_config())),
            "projector_config": json.dumps(_jsonable(self._projector_config())),
            "params": json.dumps(_jsonable(self._portable_params())),
            "fitted": json.dumps({
                "input_scale_": self.input_scale_, "sfreq_": self.sfreq_, "ch_names_": self.ch_names_,
                "n_channels_fit_": list(self.n_channels_fit_), "to_microvolts_": self.to_microvolts_,
                "n_features_in_": self.n_features_in_, "n_steps_": getattr(self, "n_steps_", 0),
                "history_": self.history_,
            }),
        }
        save_file(tensors, str(path), metadata=metadata)
        return path

    def _portable_params(self):
        """The parameters a file records: all but paths and the device (:meth:`load` applies those of
        :data:`_MODEL_PARAMS` only)."""
        skip = {"init_weights", "checkpoint_dir", "resume", "device", "snapshot_steps"}
        return {k: v for k, v in self.get_params(deep=False).items() if k not in skip}

    @classmethod
    def load(cls, path, **params):
        """A fitted transformer from a file written by :meth:`save`.

        A file carries the model, not the run: of the parameters recorded in
        it, only those that define the network and how windows are read and
        turned into features are applied (``encoder``, ``model_size``,
        ``encoder_kwargs``, ``projector``, ``projector_kwargs``, ``scaling``,
        ``units``, ``sfreq``, ``ch_names``, ``resample_to``, ``pooling``,
        ``log_power``, ``feature_channels``, ``feature_reference``,
        ``precision``). Every other parameter (how it was trained, where
        checkpoints went, the device, ``init_weights``) takes its default, or
        the value given here. Malformed metadata (a missing entry, invalid
        JSON, a value of the wrong type, an unknown parameter) is refused with
        a ``ValueError`` naming the entry.

        Parameters
        ----------
        path : str or path
        **params
            Parameters to set (e.g. ``device="cpu"``, ``pooling="mean"``,
            ``n_epochs=20`` to pretrain further from these weights with ``fit``).
        """
        metadata, _ = _read_weights(path)
        model, fitted = _read_metadata(metadata, path, known=set(cls().get_params(deep=False)))
        try:
            cls(**model)._check_params()
        except ValueError as error:
            raise ValueError(f"{path}: the parameters in the metadata entry 'params' are invalid: {error}") from None
        estimator = cls(**{**model, **params})
        estimator._check_params()
        with set_seed_for_init(0):
            encoder = make_encoder(estimator.encoder, estimator.model_size, **(estimator.encoder_kwargs or {}))
            projector = make_projector(estimator.projector, encoder.n_outputs, **estimator._projector_config())
        network = SeqCLRNetwork(encoder, projector)
        _load_weights_into(network, path, estimator.encoder, estimator._encoder_config())
        network.eval()
        estimator.encoder_, estimator.projector_ = network.encoder, network.projector
        estimator.input_scale_ = float(fitted["input_scale_"])
        estimator.sfreq_ = None if fitted["sfreq_"] is None else float(fitted["sfreq_"])
        estimator.ch_names_ = list(fitted["ch_names_"])
        estimator.n_channels_fit_ = tuple(int(n) for n in fitted["n_channels_fit_"])
        estimator.to_microvolts_ = float(fitted["to_microvolts_"])
        estimator.n_features_in_ = int(fitted["n_features_in_"])
        estimator.n_steps_ = int(fitted["n_steps_"])
        estimator.history_ = fitted["history_"]
        estimator.interrupted_ = False
        estimator.snapshots_ = {}
        estimator.precision_ = resolve_precision(estimator.precision, estimator._device())
        return estimator


#: The parameters a weights file sets on :meth:`SeqCLRTransformer.load`: the network's architecture and how
#: windows are read, scaled and turned into features.
_MODEL_PARAMS = frozenset({
    "encoder", "model_size", "encoder_kwargs", "projector", "projector_kwargs", "scaling", "units", "sfreq",
    "ch_names", "resample_to", "pooling", "log_power", "feature_channels", "feature_reference", "precision",
})
#: Parameters a file may record but ``load`` does not apply: how the encoder was trained and where (the run).
#: Names written by earlier versions stay here, so that their files keep loading.
_RUN_PARAMS = frozenset({
    "amplitude_scale", "time_shift", "dc_shift", "zero_mask", "gaussian_noise", "bandstop",
    "augmentations_per_view", "recombination", "crop_length", "channels_per_window", "group_batches",
    "temperature", "n_epochs", "max_steps", "snapshot_steps", "batch_size", "lr", "weight_decay", "lr_schedule",
    "device", "compile", "num_workers", "init_weights", "checkpoint_dir", "checkpoint_every", "resume",
    "random_state", "verbose",
})


#: What each fitted value in a file's metadata entry 'fitted' may be.
_FITTED_CONSTRAINTS = {
    "input_scale_": [POSITIVE_REAL],
    "sfreq_": [None, HERTZ],
    "ch_names_": [Satisfies(lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(n, str) for n in v),
                            "a non-empty list of channel names")],
    "n_channels_fit_": [Satisfies(lambda v: isinstance(v, list) and len(v) > 0 and all(map(is_positive_int, v)),
                                  "a non-empty list of channel counts")],
    "to_microvolts_": [POSITIVE_REAL],
    "n_features_in_": [Interval(numbers.Integral, 1)],
    "n_steps_": [Interval(numbers.Integral, 0)],
    "history_": [Satisfies(lambda v: isinstance(v, list) and all(isinstance(entry, dict) for entry in v),
                           "a list of dicts, one per epoch")],
}


def _metadata_entry(metadata, key, path, kind=dict):
    """The JSON entry ``key`` of a weights file's metadata, or a ``ValueError`` naming it."""
    if key not in metadata:
        raise ValueError(f"{path}: the metadata has no entry {key!r}; the file was not written by "
                         "SeqCLRTransformer.save, or was altered since.")
    try:
        value = json.loads(metadata[key])
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: the metadata entry {key!r} is not valid JSON ({error}).") from None
    if not isinstance(value, kind):
        raise ValueError(f"{path}: the metadata entry {key!r} must be a JSON {kind.__name__}, "
                         f"got {type(value).__name__}.")
    return value


def _read_metadata(metadata, path, known):
    """The model parameters and the fitted values in a weights file's metadata, checked.

    ``known``: the parameter names of this version; a file may also hold any of
    :data:`_RUN_PARAMS`, which are recorded but not applied.
    """
    encoder = metadata.get("encoder")
    if not isinstance(encoder, str):
        raise ValueError(f"{path}: the metadata has no entry 'encoder' (the encoder's kind); the file was not "
                         "written by SeqCLRTransformer.save, or was altered since.")
    _metadata_entry(metadata, "encoder_config", path)
    saved = _metadata_entry(metadata, "params", path)
    unknown = sorted(set(saved) - _MODEL_PARAMS - _RUN_PARAMS - set(known))
    if unknown:
        raise ValueError(f"{path}: the metadata entry 'params' holds unknown parameter(s) {unknown}; "
                         "this version of skseqclr does not know them (a file of a newer version, or altered).")
    model = {name: _tuples(value) for name, value in saved.items() if name in _MODEL_PARAMS}
    model.setdefault("feature_reference", False)  # files from before it existed hold unreferenced features
    missing_model = sorted(name for name in model if name not in known)
    if missing_model:
        raise ValueError(f"{path}: the file's model needs parameter(s) {missing_model}, which this version of "
                         "skseqclr does not have.")
    fitted = _metadata_entry(metadata, "fitted", path)
    missing = [name for name in _FITTED_CONSTRAINTS if name not in fitted]
    if missing:
        raise ValueError(f"{path}: the metadata entry 'fitted' lacks {missing}; the file was not written by "
                         "SeqCLRTransformer.save, or was altered since.")
    try:
        validate_parameter_constraints(_FITTED_CONSTRAINTS, {k: fitted[k] for k in _FITTED_CONSTRAINTS})
    except InvalidParameterError as error:
        raise ValueError(f"{path}: the metadata entry 'fitted' is invalid: {error}") from None
    if len(fitted["ch_names_"]) not in fitted["n_channels_fit_"]:
        raise ValueError(f"{path}: the metadata entry 'fitted' is inconsistent: ch_names_ has "
                         f"{len(fitted['ch_names_'])} names, n_channels_fit_ is {fitted['n_channels_fit_']}.")
    return model, fitted


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.random.RandomState):
        return None
    return value


def _tuples(value):
    """JSON gives lists; parameters such as ranges and sizes are tuples."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _read_weights(path):
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No weights file at {path}.")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except Exception as error:  # safetensors raises its own error type for corrupt headers
        raise ValueError(f"{path} is not an skseqclr weights file (written by SeqCLRTransformer.save): {error}") from error
    if metadata.get("format") != _FORMAT:
        raise ValueError(f"{path} is not an skseqclr weights file (written by SeqCLRTransformer.save).")
    tensors = load_file(str(path))
    bad = nonfinite_tensors(tensors.items())
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise ValueError(
            f"The weights in {path} are not finite: tensor(s) {shown} hold NaN or inf values, so every feature "
            "computed with them would be NaN. The file was written by a pretraining run that diverged or was "
            "altered since; it is refused. Use weights saved before, or pretrain again."
        )
    return metadata, tensors


def _load_weights_into(network, path, kind, config):
    """Load saved weights into ``network``, refusing a different architecture clearly."""
    metadata, tensors = _read_weights(path)
    saved_config = json.loads(metadata["encoder_config"])
    expected = _jsonable(config)
    if metadata["encoder"] != kind or saved_config != expected:
        raise ValueError(
            f"The weights in {path} are for a {metadata['encoder']} encoder with sizes {saved_config}, "
            f"but this estimator builds a {kind} encoder with sizes {expected}; set encoder, model_size "
            "and encoder_kwargs to match the saved encoder."
        )
    encoder_state = {k[len("encoder."):]: v for k, v in tensors.items() if k.startswith("encoder.")}
    network.encoder.load_state_dict(encoder_state)
    projector_state = {k[len("projector."):]: v for k, v in tensors.items() if k.startswith("projector.")}
    if projector_state:
        try:
            network.projector.load_state_dict(projector_state)
        except RuntimeError:
            warnings.warn(f"The projector in {path} has other sizes; it starts from random weights.")


def _sample_windows(source, n, seed):
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.choice(source.n_windows, size=min(n, source.n_windows), replace=False))
    return source.read(indices)


def _check_snapshot_steps(snapshot_steps) -> tuple:
    """``snapshot_steps`` as a sorted tuple of distinct step counts >= 0 (empty for None)."""
    if snapshot_steps is None:
        return ()
    problem = ValueError("snapshot_steps must be None or an iterable of step counts >= 0, e.g. "
                         f"range(0, 1001, 100), got {snapshot_steps!r}.")
    if isinstance(snapshot_steps, (str, bytes, numbers.Number)):
        raise problem
    try:
        steps = list(snapshot_steps)
    except TypeError:
        raise problem from None
    if not all(is_non_negative_int(step) for step in steps):
        raise problem
    return tuple(sorted({int(step) for step in steps}))
