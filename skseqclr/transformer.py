"""``SeqCLRTransformer``: SeqCLR pretraining as a scikit-learn transformer."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .training import distributed as D
from ._transformer_params import PARAMETER_CONSTRAINTS, check_transformer_params
from ._validation import check_device, check_groups_shape
from .augmentations import AUGMENTATION_NAMES, PAPER_RANGES, ChannelAugmenter, make_augmentations, resolve_auto_ranges
from .nn.encoders import encoder_config, make_encoder
from .nn.heads import make_projector, projector_config
from .inputs import as_window_sources, fit_units
from .persistence import _load_weights_into, load_pretrained, load_transformer, save_pretrained, save_transformer
from .pooling import check_pooling
from .preprocessing import WindowPreprocessing
from .readout import FeatureReadout
from .recombination import feature_channel_pairs
from .scaling import estimate_input_scale
from .training.pretrainer import ContrastiveViews, Pretrainer, SeqCLRNetwork, resolve_precision, set_seed_for_init

__all__ = ["SeqCLRTransformer"]

_FORMAT = "skseqclr-encoder"


class SeqCLRTransformer(FeatureReadout, WindowPreprocessing, TransformerMixin, BaseEstimator):
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
        32/16/8, dense 32), for CPUs, tests and datasets of a few thousand
        windows or fewer (:ref:`benchmark-gpu-defaults`).
    encoder_kwargs : dict or None
        Individual encoder sizes overriding the preset, e.g.
        ``{"branch_channels": (32, 32, 16)}``; see :data:`skseqclr.nn.encoders.ENCODER_SIZES`.
    projector : {"lstm", "pooled"}, default="lstm"
        ``"lstm"`` is the paper's projector (BiLSTMs on the encoder's output
        sequence); ``"pooled"`` projects the ``pooling`` statistics of the
        output, the features ``transform`` returns (see
        :class:`skseqclr.nn.heads.PooledProjector`); faster to train, not in
        the paper (:ref:`benchmark-projector`).
    projector_kwargs : dict or None
        Individual projector sizes (``lstm_sizes``, ``hidden_size``, ``output_size``;
        ``lstm_sizes`` is ignored by ``projector="pooled"``).
    amplitude_scale : (float, float) or None, default=None
        Range of gains (unitless); the paper's is ``(0.5, 2.0)``. ``None``
        turns the augmentation off. Off by default: it teaches the encoder to
        ignore amplitude, which can be much of the signal
        (:ref:`benchmark-augmentation-ablation`). ``SeqCLRTransformer(**PAPER_RANGES)`` gives
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
        ``fit`` (``time_shift_``); a ``(low, high)`` pair is used as given.
        Without it the two views can be matched sample by sample
        (:ref:`benchmark-augmentation-ablation`).
    dc_shift : (float, float) or None, default=(-10.0, 10.0)
        Range of offsets, in µV.
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
        frequency. Off by default, like ``amplitude_scale``
        (:ref:`benchmark-augmentation-ablation`).
    augmentations_per_view : int, default=2
        Augmentations composed in each view, each chosen at random among the
        enabled ones; capped at the number enabled, so turning all but one
        off (the paper's study of one augmentation at a time) works with the
        default. We read the paper's augmenter (§2.3) as one augmentation per
        view (``augmentations_per_view=1``); composing two costs no
        pretraining time (:ref:`benchmark-augmentations-per-view`).
    recombination : bool or "feature_channels", default=True
        Draw training channels from the n² recombined set (§2.1); ``False``
        draws the recorded channels only; ``"feature_channels"`` draws
        uniformly from the channels ``feature_channels`` reads at fit time
        (with ``"auto"`` and 10-05 names: the recorded channels and the
        differences of neighbouring electrodes), so the encoder is pretrained
        on what ``transform`` reads (not in the paper;
        :ref:`ablation-recombination-feature-channels`).
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
        windows (:ref:`benchmark-crops`).
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
        give small batches (:ref:`ablation-group-batches`).
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
        number of steps by a probe on labelled windows rather than by the
        loss, which keeps falling after the features stop improving
        (:func:`skseqclr.evaluation.model_selection.select_pretraining_length`;
        :ref:`benchmark-length-cv`). Step 0
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
        the sampling frequency). Keep ``"mean"`` (:ref:`benchmark-pooling`,
        :ref:`benchmark-band-pooling`).
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
        pretraining again. ``transform``'s time grows with the number of
        channels read (:ref:`benchmark-feature-channels`).
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
        own, and nothing but the window itself is used. Not in the paper.
        Meant for new subjects predicted one window at a time, without a
        batch of their windows to standardise features on; redundant with
        per-subject standardisation, hence off by default
        (:ref:`benchmark-feature-reference`,
        :ref:`benchmark-feature-reference-auto`). Acts in ``transform`` and
        ``encode`` only: it can be changed on a fitted transformer.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available (each rank's own GPU under torchrun).
    precision : {"auto", "fp32", "bf16"}, default="auto"
        bf16 autocast is used by ``"auto"`` on CPUs with native bf16
        instructions; elsewhere fp32, on CUDA too, where cuDNN's TF32
        convolutions are faster than bf16 autocast.
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
    #: What each parameter may be, checked by name at fit; what depends on several parameters is checked after,
    #: in ``_check_params`` (:mod:`skseqclr._transformer_params`).
    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

    def _check_params(self):
        """Every parameter by name, then what depends on several of them."""
        check_transformer_params(self)

    def _augmentation_ranges(self):
        """The six range parameters as set (``"auto"`` unresolved)."""
        return {name: getattr(self, name) for name in AUGMENTATION_NAMES}

    def _resolved_ranges(self, sfreq, n_times=None):
        """The six ranges with ``"auto"`` resolved at ``sfreq`` (Hz or None) for views of ``n_times`` samples."""
        return resolve_auto_ranges(self._augmentation_ranges(), sfreq, n_times)

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
        resample = [self.resampling(s) for s in sources]
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
        view_length = crop_samples or min(self.n_times_after_resampling(s) for s in sources)
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

    # ----------------------------------------------------------- persistence
    def save(self, path) -> Path:
        """Save encoder and projector weights with their configuration (safetensors).

        The file loads with :meth:`load` on any machine (CPU or GPU) and can
        initialise another transformer through ``init_weights=path``
        (:mod:`skseqclr.persistence`).

        Parameters
        ----------
        path : str or path
            The file to write; missing parent folders are created.

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        return save_transformer(self, path)

    def _portable_params(self):
        """The parameters a file records: all but paths and the device (:meth:`load` applies those of
        :data:`skseqclr.persistence._MODEL_PARAMS` only)."""
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
        return load_transformer(cls, path, **params)

    def save_pretrained(self, save_directory) -> Path:
        """Save the fitted transformer in the layout of the Hugging Face Hub.

        Writes the files that huggingface_hub's ``PyTorchModelHubMixin`` (used
        by braindecode's models) writes: ``model.safetensors`` (the file
        :meth:`save` writes), ``config.json`` (the architecture, the
        parameters and the fitted values, the same content as the weights
        file's metadata, as readable JSON) and a short model card,
        ``README.md``. The directory can be uploaded to the Hub as it is (for
        example with ``huggingface_hub.upload_folder``) and loads with
        :meth:`from_pretrained`.

        Parameters
        ----------
        save_directory : str or path
            The directory to write; it is created if missing, and files of
            the same names in it are replaced.

        Returns
        -------
        pathlib.Path
            ``save_directory``.
        """
        return save_pretrained(self, save_directory)

    @classmethod
    def from_pretrained(cls, path_or_repo_id, **params):
        """A fitted transformer from a directory written by :meth:`save_pretrained`, or from the Hub.

        A local directory is read offline. Anything else is read as a Hugging
        Face Hub repository id (``"user/model"``) and downloaded with
        ``huggingface_hub.snapshot_download``, which needs the optional
        package ``huggingface_hub`` (``pip install skseqclr[hub]``).
        ``config.json`` is checked as :meth:`load` checks a file's metadata:
        only the parameters that define the model are applied, malformed
        entries are refused with a ``ValueError`` naming the entry, and
        weights holding NaN or inf are refused. Nothing is unpickled.

        Parameters
        ----------
        path_or_repo_id : str or path
            A directory holding ``config.json`` and ``model.safetensors``, or
            a Hub repository id.
        **params
            Parameters to set, replacing the saved ones (e.g. ``device="cpu"``,
            ``pooling="mean"``).

        Returns
        -------
        SeqCLRTransformer
            The fitted transformer, ready to ``transform``.
        """
        return load_pretrained(cls, path_or_repo_id, **params)


def _sample_windows(source, n, seed):
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.choice(source.n_windows, size=min(n, source.n_windows), replace=False))
    return source.read(indices)
