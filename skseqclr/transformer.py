"""``SeqCLRTransformer``: SeqCLR pretraining as a scikit-learn transformer."""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .training import distributed as D
from ._transformer_params import PARAMETER_CONSTRAINTS, check_snapshot_steps, check_transformer_params, make_network
from ._validation import check_device
from .augmentations import AUGMENTATION_NAMES, PAPER_RANGES, ChannelAugmenter, make_augmentations, resolve_auto_ranges
from .inputs import as_window_sources
from .options import OPTION_CLASSES
from .persistence import TransformerPersistence, load_weights_into
from .preprocessing import WindowPreprocessing
from .readout import FeatureReadout
from .recombination import feature_channel_pairs
from .training.pretrainer import ContrastiveViews, Pretrainer, SeqCLRNetwork, resolve_precision, set_seed_for_init

__all__ = ["SeqCLRTransformer", "PAPER_SETTINGS"]

#: Single channels drawn from each window per pretraining step, as in the paper (:ref:`benchmark-recombination`).
CHANNELS_PER_WINDOW = 4
#: AdamW's weight decay in pretraining; the learning rate follows a cosine schedule over all steps.
WEIGHT_DECAY = 1e-6

#: The paper's own configuration as we read it (§2.2-2.3): the paper-size encoder, all six augmentations at the
#: paper's ranges in samples at its 200 Hz (:data:`skseqclr.augmentations.PAPER_RANGES`), one augmentation per
#: view, channel recombination and temperature 0.1. ``SeqCLRTransformer(**PAPER_SETTINGS, sfreq=200)``.
PAPER_SETTINGS: dict = dict(model_size="paper", augmentations_per_view=1, recombination=True, temperature=0.1,
                            **PAPER_RANGES)


class SeqCLRTransformer(FeatureReadout, WindowPreprocessing, TransformerPersistence, TransformerMixin, BaseEstimator):
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
    model_size : {"paper", "small"} or dict, default="paper"
        Layer sizes of the encoder and the projector. ``"paper"`` follows the
        paper's figures; ``"small"`` keeps the structure with narrower layers
        and shorter kernels, for CPUs, tests and datasets of a few thousand
        windows or fewer (:ref:`benchmark-gpu-defaults`). A dict changes
        single sizes: ``"preset"`` (default ``"paper"``) picks the base
        sizes, every other key replaces one size of the encoder
        (:data:`skseqclr.nn.encoders.ENCODER_SIZES`, and ``n_outputs``) or of
        the projector (:data:`skseqclr.nn.heads.HEAD_SIZES`), e.g.
        ``{"preset": "small", "branch_channels": (32, 32, 16), "hidden_size": 64}``.
    amplitude_scale : (float, float) or None, default=None
        Range of gains (unitless); the paper's is ``(0.5, 2.0)``. ``None``
        turns the augmentation off: it teaches the encoder to ignore
        amplitude, which can be much of the signal
        (:ref:`benchmark-augmentation-ablation`).
    time_shift : (int, int), "auto" or None, default="auto"
        Range of circular shifts, in samples. ``"auto"`` is the paper's
        ±0.25 s (its ±50 samples at 200 Hz) at the data's sampling rate,
        rounded to whole samples and capped at 1/8 of the views' length (the
        windows', or the crops' with ``crop_length``); without a known rate,
        ±50 samples, capped alike: ±6 samples on 0.5-s windows at 100 Hz,
        ±32 on 4-s windows at 128 Hz, ±62 on 2-s windows at 250 Hz
        (:func:`skseqclr.augmentations.resolve_auto_range`). Resolved in
        ``fit`` (``time_shift_``); a ``(low, high)`` pair is used as given.
    dc_shift : (float, float) or None, default=(-10.0, 10.0)
        Range of offsets, in µV.
    zero_mask : (int, int), "auto" or None, default="auto"
        Range of lengths of the zeroed run, in samples. ``"auto"`` is the
        paper's 0 to 0.75 s (its 0-150 samples at 200 Hz) at the data's
        sampling rate, capped at 1/4 of the views' length; without a known
        rate, 0 to 150 samples, capped alike. Resolved in ``fit``
        (``zero_mask_``); a ``(low, high)`` pair is used as given.
    gaussian_noise : (float, float) or None, default=(0.0, 0.2)
        Range of noise standard deviations, relative to each channel's.
    bandstop : (float, float) or None, default=None
        Range of centres of the 5-Hz stop band, in Hz (the paper's is
        ``(2.8, 82.5)``); clipped at Nyquist minus 2.5 Hz. Needs the sampling
        frequency. Off by default, like ``amplitude_scale``.
    augmentations_per_view : int, default=2
        Augmentations composed in each view, each chosen at random among the
        enabled ones; capped at the number enabled, so turning all but one
        off works with the default. We read the paper's augmenter as one
        augmentation per view (:ref:`benchmark-augmentations-per-view`).
    recombination : bool, default=True
        Draw training channels from the n² recombined set of §2.1 (every
        recorded channel and every difference of two); ``False`` draws the
        recorded channels only (:ref:`benchmark-recombination`).
    crop_length : int, float or None, default=None
        If set, the two views of a channel are two random stretches of this
        many samples of it (each from its own start, then augmented as
        usual), instead of two augmentations of the whole window. A float
        between 0 and 1 is a fraction of the (shortest) window's length. The
        views then share the channel's slowly varying state but not its
        waveform (not in the paper: SimCLR's random crop, in time;
        :ref:`benchmark-crops`). ``transform`` still encodes whole windows.
    temperature : float, default=0.1
        NT-Xent temperature (> 0).
    n_epochs : int, default=10
        Passes over the training windows. ``0`` gives the untrained encoder
        with everything else identical: the control for any comparison.
    max_steps : int or None, default=None
        Stop after this many optimisation steps.
    batch_size : int, default=256
        Single channels per step, at least 2 (the loss sees twice as many
        views; four channels are drawn from each window); also the number of
        channels encoded at once by ``transform``.
    lr : float, default=1e-3
        Peak AdamW learning rate, decayed along a cosine over all steps
        (:ref:`ablation-learning-rate`).
    sfreq : float or None, default=None
        Sampling frequency in Hz of numpy input (MNE and braindecode input carry it).
    ch_names : list of str or None, default=None
        Channel names of numpy input, in order (MNE and braindecode input
        carry theirs; given with them, they must agree). Without names, numpy
        channels are ``ch0``, ``ch1``, ..., which the readout's
        ``feature_channels="auto"`` cannot place on the scalp.
    preprocessing : skseqclr.Preprocessing or None, default=None
        Units, resampling, scaling and DataLoader workers
        (:class:`~skseqclr.Preprocessing`; ``None`` means its defaults).
        Fixed at ``fit`` (``preprocessing_``).
    readout : skseqclr.Readout or None, default=None
        How ``transform`` turns the encoder's output into features: the
        channels read, pooling, referencing (:class:`~skseqclr.Readout`;
        ``None`` means its defaults). Read at every ``transform``, so it can
        be changed on a fitted transformer.
    checkpointing : skseqclr.Checkpointing or None, default=None
        Pretraining checkpoints and initial weights
        (:class:`~skseqclr.Checkpointing`); ``None`` writes no checkpoints.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available (each rank's own GPU under torchrun).
    precision : {"auto", "fp32", "bf16"}, default="auto"
        bf16 autocast is used by ``"auto"`` on CPUs with native bf16
        instructions; elsewhere fp32, on CUDA too, where cuDNN's TF32
        convolutions are faster than bf16 autocast.
    random_state : int, RandomState or None, default=None
        Seeds weights, channel draws and augmentations.
    verbose : int, default=0
        ``> 0`` shows a progress bar with the running loss.

    Attributes
    ----------
    encoder_ : torch.nn.Module
        The pretrained encoder (on the CPU).
    projector_ : torch.nn.Module
        The projection head used for pretraining.
    preprocessing_ : skseqclr.Preprocessing
        The preprocessing in effect since ``fit``: a copy of
        ``preprocessing``, or the defaults.
    history_ : list of dict
        Per epoch: ``epoch``, ``loss``, ``steps``, ``time_s``.
    n_steps_ : int
        Optimisation steps pretraining ran.
    input_scale_ : float
        Median channel standard deviation of the training data, µV.
    to_microvolts_ : float
        Factor to µV applied in ``transform`` and ``encode`` to inputs that
        carry no units (arrays, tensors): the explicit ``units``, or for
        ``"auto"`` the one decided at ``fit`` from the training windows
        (:func:`skseqclr.inputs.fit_units`).
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
        count of ``fit``'s ``snapshot_steps``; empty without it.
    time_shift_, zero_mask_ : (int, int) or None
        The ranges of the time shift and the zero-mask pretraining used, in
        samples: ``"auto"`` resolved for the data, given pairs as they are.

    See Also
    --------
    skseqclr.PAPER_SETTINGS : The paper's configuration, as parameters.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipe = make_pipeline(SeqCLRTransformer(model_size="small", n_epochs=5, sfreq=128),
    ...                      LogisticRegression())  # doctest: +SKIP

    Grid search over an augmentation and the readout's pooling::

        GridSearchCV(pipe, {"seqclrtransformer__time_shift": [(-8, 8), (-32, 32)],
                            "seqclrtransformer__readout__pooling": ["mean", ("mean", "std")]})
    """

    def __init__(
        self,
        encoder="conv",
        model_size="paper",
        amplitude_scale=None,
        time_shift="auto",
        dc_shift=PAPER_RANGES["dc_shift"],
        zero_mask="auto",
        gaussian_noise=PAPER_RANGES["gaussian_noise"],
        bandstop=None,
        augmentations_per_view=2,
        recombination=True,
        crop_length=None,
        temperature=0.1,
        n_epochs=10,
        max_steps=None,
        batch_size=256,
        lr=1e-3,
        sfreq=None,
        ch_names=None,
        preprocessing=None,
        readout=None,
        checkpointing=None,
        device="auto",
        precision="auto",
        random_state=None,
        verbose=0,
    ):
        self.encoder = encoder
        self.model_size = model_size
        self.amplitude_scale = amplitude_scale
        self.time_shift = time_shift
        self.dc_shift = dc_shift
        self.zero_mask = zero_mask
        self.gaussian_noise = gaussian_noise
        self.bandstop = bandstop
        self.augmentations_per_view = augmentations_per_view
        self.recombination = recombination
        self.crop_length = crop_length
        self.temperature = temperature
        self.n_epochs = n_epochs
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.lr = lr
        self.sfreq = sfreq
        self.ch_names = ch_names
        self.preprocessing = preprocessing
        self.readout = readout
        self.checkpointing = checkpointing
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose

    # Pipelines that route groups to other steps (GroupStandardScaler, LinearProbe) keep working
    # without set_fit_request(groups=False) here: fit accepts groups and ignores them.
    __metadata_request__fit = {"groups": False}

    def set_params(self, **params):
        """Set parameters, nested ones included (``readout__pooling``, ``checkpointing__directory``).

        A nested name of ``preprocessing``, ``readout`` or ``checkpointing``
        left at ``None`` starts from that class's defaults, so that
        ``set_params(readout__pooling="mean")`` and a grid over
        ``seqclr__readout__pooling`` work on a default transformer.

        Returns
        -------
        self
        """
        for name, options_class in OPTION_CLASSES.items():
            if getattr(self, name) is None and name not in params \
                    and any(key.startswith(name + "__") for key in params):
                setattr(self, name, options_class())
        return super().set_params(**params)

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
    #: What each parameter may be, checked by name by :meth:`validate`; what depends on several parameters is
    #: checked after (:mod:`skseqclr._transformer_params`); the sub-estimators check their own.
    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

    def validate(self):
        """Check the parameters as :meth:`fit` does first, without data: by name, then those that depend on others.

        A value that fails here would fail at the start of :meth:`fit`, so a
        set of parameters can be checked before anything is pretrained, e.g.
        ``clone(seqclr).set_params(**params).validate()``. The augmentation
        ranges set to ``"auto"`` are resolved for the data in :meth:`fit`
        and are checked against it there.

        Returns
        -------
        self : SeqCLRTransformer

        Raises
        ------
        ValueError
            Naming the first invalid parameter and what it may be (a
            ``TypeError`` too, for a value of the wrong type).
        """
        check_transformer_params(self)
        return self

    def _options(self, name):
        """A copy of the sub-estimator ``name`` (``"preprocessing"``, ...), or its class's defaults for None."""
        options = getattr(self, name)
        return OPTION_CLASSES[name]() if options is None else clone(options)

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

    # ------------------------------------------------------------------- fit
    def fit(self, X, y=None, groups=None, *, snapshot_steps=None):
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
        groups : ignored
            Accepted so that Pipelines routing groups to other steps work.
        snapshot_steps : iterable of int or None, default=None
            Step counts after which to keep a copy of the network's weights
            (in memory, on the CPU), e.g. ``range(100, 1001, 100)``;
            :meth:`at_step` turns each into a transformer as it was then, so
            one pretraining run gives every candidate length, to choose by a
            probe on labelled windows rather than by the loss
            (:func:`skseqclr.evaluation.model_selection.select_pretraining_length`;
            :ref:`benchmark-length-cv`). Step 0 keeps the initial network,
            the untrained control of the same ``random_state``. Steps past
            the end of the run are an error; without pretraining
            (``n_epochs=0``) there are no snapshots. Snapshots are not written
            by :meth:`save`.

        Returns
        -------
        self : SeqCLRTransformer
        """
        self.validate()
        snapshot_steps = check_snapshot_steps(snapshot_steps)
        self.preprocessing_ = self._options("preprocessing")
        checkpointing = self._options("checkpointing")
        sources = as_window_sources(X, sfreq=self.sfreq, ch_names=self.ch_names)
        for source in sources:  # the readout's channels exist in every source, before any pretraining
            feature_channel_pairs(self._readout().feature_channels, list(source.ch_names))
        target_sfreq = self._target_sfreq(sources)
        resample = [self.resampling(s) for s in sources]
        D.init_from_env()  # under torchrun: join the process group (NCCL on GPU, Gloo on CPU)
        # all ranks need one seed (it fixes the shards, weights and input scale), even with random_state=None
        seed = D.broadcast_object(int(check_random_state(self.random_state).randint(0, 2**31 - 1)))
        device = self._device()
        precision = resolve_precision(self.precision, device)
        with set_seed_for_init(seed):
            network, encoder_config = make_network(self.encoder, self.model_size)
        if checkpointing.init_weights is not None:
            load_weights_into(network, checkpointing.init_weights, self.encoder, encoder_config)

        crop_samples = self._crop_samples(sources)
        # "auto" shift and mask lengths follow the views: the crops, or the shortest windows
        view_length = crop_samples or min(self.n_times_after_resampling(s) for s in sources)
        augmenter = self._augmenter(target_sfreq, view_length)
        for source in sources:
            self._check_window_length(source, network.encoder.min_length, augmenter, sfreq=target_sfreq,
                                      crop_samples=crop_samples)
        # the encoder's rate, each source's factor to µV, to_microvolts_ and the "global" scale
        target_sfreq, factors, to_microvolts, input_scale = self._fit_preprocessing(sources, seed)

        self.history_, self.interrupted_, self.snapshots_, self.n_steps_ = [], False, {}, 0
        if self.n_epochs > 0 and self.max_steps != 0:
            views = ContrastiveViews(self.batch_size, CHANNELS_PER_WINDOW, self.recombination, augmenter,
                                     self.preprocessing_.scaling, input_scale, crop_samples)
            trainer = Pretrainer(
                network=network, sources=sources, to_microvolts=factors, resample=resample, views=views,
                device=device, n_epochs=self.n_epochs, max_steps=self.max_steps, lr=self.lr,
                weight_decay=WEIGHT_DECAY, temperature=self.temperature, precision=precision,
                num_workers=self.preprocessing_.num_workers, seed=seed, checkpoint_dir=checkpointing.directory,
                checkpoint_every=checkpointing.every, resume=checkpointing.resume, verbose=self.verbose,
                snapshot_steps=frozenset(snapshot_steps),
                run_identity=self._run_identity(checkpointing),  # a checkpoint resumes only the run it came from
            )
            if snapshot_steps and snapshot_steps[-1] > trainer.total_steps:
                raise ValueError(
                    f"snapshot_steps asks for step {snapshot_steps[-1]}, but this fit trains "
                    f"{trainer.total_steps} steps (n_epochs={self.n_epochs} of {trainer.steps_per_epoch} steps, "
                    f"max_steps={self.max_steps}).")
            self.history_ = trainer.run()
            self.interrupted_, self.n_steps_, self.snapshots_ = trainer.interrupted, trainer.step, trainer.snapshots
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

    def _run_identity(self, checkpointing):
        """The parameters that identify a pretraining run, flat: not the readout (read at transform), nor
        where checkpoints go, nor the DataLoader's workers."""
        identity = {k: v for k, v in self.get_params(deep=False).items() if k not in OPTION_CLASSES}
        identity.update({f"preprocessing__{name}": getattr(self.preprocessing_, name)
                         for name in ("units", "scaling", "resample_to")})
        identity["checkpointing__init_weights"] = checkpointing.init_weights
        return identity

    def at_step(self, step):
        """This transformer as it was after ``step`` pretraining steps.

        Parameters
        ----------
        step : int
            One of the step counts kept by ``fit``'s ``snapshot_steps`` (the
            keys of ``snapshots_``).

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

            seqclr = SeqCLRTransformer(max_steps=1000, sfreq=128).fit(
                X_unlabelled, snapshot_steps=range(100, 1000, 100))
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
