r"""Motor imagery on eegmmidb subject 1: does SeqCLR pretraining pay off on a second kind of task?

EEGMAT's label (rest vs mental arithmetic) is mostly band power shared by all channels, and its
benchmark is cross-subject. This one asks the same question where the label is *spatial* (which
hemisphere's mu/beta rhythm desynchronises) and within one subject, across runs:

* PhysioNet's EEG Motor Movement/Imagery dataset, subject 1 (the copy in ``../shared/data/eegbci``),
  runs 3-14, 64 channels, band-passed 0.5-45 Hz (MNE, on the continuous runs) and resampled to
  128 Hz, so that the augmentations' ranges in samples mean the same durations as on EEGMAT.
* Two tasks, executed and imagined trials together (one 4-s window from each T1/T2 cue):
  **left vs right fist** (runs 3, 4, 7, 8, 11, 12) and **both fists vs both feet** (runs 5, 6, 9, 10,
  13, 14); about 90 trials each, balanced.
* **Leave one repetition out**: the runs come in three repetitions (3-6, 7-10, 11-14); each fold
  tests on one repetition's trials and trains on the other two. SeqCLR is pretrained, without
  labels, on the *continuous* EEG of the training repetitions only (consecutive 4-s windows of all
  eight runs, rest periods included; about 240 windows), once per fold and seed: nothing of a test
  run is seen before predicting.
* Rows (every one on the same folds and labelled subsets): ``SeqCLR pretrained`` and the same encoder
  untrained (``n_epochs=0``, same seed) read by :class:`skseqclr.evaluation.probe.LinearProbe` (its C chosen
  by cross-validation grouped by run on the labelled training trials); per-channel log-power;
  log-variance in three and in five bands; the motor-imagery classics on the 8-30 Hz band, CSP
  (``mne.decoding.CSP``, 6 components, Ledoit-Wolf) + LDA and the Riemannian tangent space
  (pyriemann, if installed) + the same probe.
* Label fractions 100% and 25% of each fold's training trials (``--label-draws`` subsets per seed);
  balanced accuracy on the test repetition, averaged over the three folds; mean ± std over seeds.
* Variants: ``--readout POOLING`` also scores both encoders read out with another pooling (e.g.
  ``"bands"``; transform-time, the same encoders); ``--feature-channels SET`` reads them on other channels
  (e.g. ``original+neighbours``: the recorded channels and every difference of neighbouring electrodes);
  ``--reference-readout`` also scores every SeqCLR feature set referenced within each kind of channel
  (``feature_reference=True``); ``--spatial-readout`` reads them out across channels instead (each
  encoder output's 8-30 Hz covariance between channels, in the tangent space); ``--seqclr-band 8 30``
  band-passes what SeqCLR pretrains on and encodes to the band the classics get; ``--pretrain-on
  runs+eegmat`` adds EEGMAT's 2134 windows (36 other subjects, 19 channels) to the unlabelled pretraining
  windows, ``eegmat`` pretrains on them alone (transfer across datasets and montages).

Run from the repository root, one process per seed in parallel, then combine::

    for s in 0 1 2; do
      python benchmarks/experiments/motor_imagery.py --seeds $s --steps 100 --param model_size='"small"' \
          --label-draws 10 --threads 1 --output mi_seed$s.json &
    done; wait
    python benchmarks/experiments/motor_imagery.py --combine mi_seed0.json mi_seed1.json mi_seed2.json

Prints one table, task by method (each seed's mean over the folds, then mean ± std over seeds), and each
seed's gain of the pretrained over the untrained encoder; ``--output`` keeps every row, per fold.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skseqclr import MultiDataset, Readout
from skseqclr.datasets import load_eegbci
from skseqclr.evaluation.baselines import make_tangent_space, pyriemann_available
from skseqclr.evaluation.suite import suite_table
from skseqclr.inputs import as_window_source
from skseqclr.recombination import FEATURE_CHANNELS, feature_channel_pairs
from skseqclr.referencing import channel_kinds, reference_within_kinds

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runner as runner  # noqa: E402

SUBJECT = 1
TASKS = {"left vs right fist": (3, 4, 7, 8, 11, 12), "fists vs feet": (5, 6, 9, 10, 13, 14)}
ALL_RUNS = tuple(range(3, 15))
MU_BETA = (8.0, 30.0)
BROAD_BAND = (0.5, 45.0)  # EEGMAT's band, Hz
CHANNEL_NAMES = []  # the 64 standardised names of the cue trials' channels, once read


def repetition(run):
    """0, 1 or 2: runs 3-6 are the first repetition of the four run types, 7-10 the second, 11-14 the third."""
    return (np.asarray(run) - 3) // 4


def cue_trials(path, runs, sfreq, window_s, band):
    """One window from each T1/T2 cue of subject 1's ``runs`` (:func:`~skseqclr.datasets.load_eegbci`, each run
    band-passed whole before cutting), in µV, with targets and runs."""
    windows = load_eegbci(SUBJECT, runs, runner.eegbci_folder(path), tmin=0.0, tmax=window_s, sfreq=sfreq,
                          l_freq=band[0], h_freq=band[1])
    CHANNEL_NAMES[:] = as_window_source(windows).ch_names
    X = runner.windows_in_microvolts(windows)
    y = windows.get_metadata()["target"].to_numpy()
    run = np.concatenate([[ds.description["run"]] * len(ds) for ds in windows.datasets])
    return X, y, run


def eegmat_windows(path, sfreq, window_s):
    """All 36 EEGMAT subjects' consecutive windows in µV (19 channels, band-passed 0.5-45 Hz by its authors)."""
    from skseqclr.datasets import fetch_eegmat

    return runner.windows_in_microvolts(fetch_eegmat(path, sfreq=sfreq, window_size_s=window_s, download=False))


def band_pass(X, sfreq, band):
    import mne

    return mne.filter.filter_data(X.astype(np.float64), sfreq, *band, verbose="error").astype(np.float32)


def encoder_outputs(transformer, X, windows_per_batch=8):
    """The encoder's full-length outputs ``(n, C, 4, T)`` of windows in µV, scaled as ``transform`` scales them
    before pooling."""
    from skseqclr.features import encode_windows

    device = torch.device("cpu")
    settings = transformer.encoding_settings(device)
    encoder = transformer.encoder_.to(device).eval()
    with torch.no_grad():
        return np.concatenate([encode_windows(encoder, torch.as_tensor(X[i:i + windows_per_batch]), settings).numpy()
                               for i in range(0, len(X), windows_per_batch)])


def make_output_tangent_space(n_outputs):
    """Riemannian tangent space of each encoder output's covariance across channels, side by side: a spatial
    readout of the channel-wise encoder (its pooled features see one channel at a time). Input ``(n, C, 4, T)``."""
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace
    from sklearn.pipeline import make_union

    return make_union(*[make_pipeline(FunctionTransformer(lambda H, k=k: H[:, :, k].astype(np.float64)),
                                      Covariances(estimator="oas"), TangentSpace()) for k in range(n_outputs)])


def seqclr_feature_sets(encoders, X, channel_sets=(), poolings=(), reference=False):
    """Every SeqCLR readout the run scores, from the same fitted encoders: ``{label: (features, kinds)}``.

    Each encoder is read on its recorded channels with its own pooling, then (transform-time only) on each of
    ``channel_sets`` (placed by :data:`CHANNEL_NAMES`: the encoders saw unnamed arrays) and out with each of
    ``poolings``, on every channel set; with ``reference``, every one of those again referenced within each kind
    of channel, as ``Readout(feature_reference=True)`` returns them. ``features`` is the
    ``(trials, channels read, features)`` array of :meth:`~skseqclr.SeqCLRTransformer.encode` (encode, not
    transform: with ``--pretrain-on eegmat`` the encoders were fitted on 19 channels), ``kinds`` each channel's
    kind (:func:`skseqclr.referencing.channel_kinds`)."""
    recorded = np.zeros(X.shape[1], dtype=int)
    readouts = [(None, None, recorded)] + [
        (channel_set, list(zip(first, second)), channel_kinds(first, second))
        for channel_set in channel_sets for first, second, _ in [feature_channel_pairs(channel_set, CHANNEL_NAMES)]]
    encoded = {}
    for pooling in [None, *poolings]:
        for channel_set, pairs, kinds in readouts:
            for name, encoder in encoders.items():
                label, readout = f"SeqCLR {name}", {}
                if channel_set is not None:
                    readout["feature_channels"] = pairs
                    label += f", feature_channels={channel_set}"
                if pooling is not None:
                    readout["pooling"] = pooling
                    label += f", pooling={pooling if isinstance(pooling, str) else '+'.join(pooling)}"
                fitted = encoder.readout
                settings = {**(Readout() if fitted is None else fitted).get_params(), **readout}
                encoded[label] = (encoder.set_params(readout=Readout(**settings)).encode(X), kinds)
                encoder.set_params(readout=fitted)  # the next task's default readout is the fitted one again
    if reference:
        encoded.update({f"{label}, referenced": (reference_within_kinds(H, kinds), kinds)
                        for label, (H, kinds) in list(encoded.items())})
    return encoded


def on_trials(X, extractor=None):
    """An extractor fed with trial *indices* (a column of ints) that reads those trials of ``X`` (windows or
    precomputed features): every fold then slices one array, and a pipeline after it sees real windows."""
    select = FunctionTransformer(lambda index: X[np.asarray(index).ravel()])
    return select if extractor is None else make_pipeline(select, extractor)


def make_csp_lda(n_channels):
    """CSP (6 components, log-variance, Ledoit-Wolf covariances) + LDA on flattened 8-30 Hz trials."""
    from mne.decoding import CSP

    return make_pipeline(FunctionTransformer(lambda F: F.reshape(len(F), n_channels, -1)),
                         CSP(n_components=6, reg="ledoit_wolf", log=True), LinearDiscriminantAnalysis())


def fold_rows(task, fold, extractors, y, run, args, probe=None, seeds=None):
    """The rows of one fold: trained on the other repetitions' trials, tested on this one's (grouped by run)."""
    train, test = np.flatnonzero(repetition(run) != fold), np.flatnonzero(repetition(run) == fold)
    split = runner.Split(train[:, None], y[train], test[:, None], y[test], run[train], run[test])
    rows = runner.evaluate(args, extractors, split, seeds=seeds, probe=probe)
    for row in rows:
        row.update(task=task, fold=int(fold))
    return rows


def report(rows):
    """The table (each seed's mean over a task's folds, then mean ± std over seeds: the package's
    :func:`~skseqclr.evaluation.suite.suite_table`), then each seed's gain of every pretrained readout over the
    same readout of the untrained encoder."""
    print(suite_table(rows))
    folds = {}
    for row in rows:
        key = (row["task"], row["method"], row.get("normalization", "none"), row["fraction"], row["seed"])
        folds.setdefault(key, []).append(row["balanced_accuracy"])
    score = {key: float(np.mean(values)) for key, values in folds.items()}
    for task, method, normalization, fraction in dict.fromkeys(key[:4] for key in score):
        if not method.startswith("SeqCLR pretrained"):
            continue
        control = method.replace("pretrained", "untrained")
        seeds = sorted(s for (t, m, n, f, s) in score if (t, m, n, f) == (task, method, normalization, fraction))
        gains = [score[task, method, normalization, fraction, s] - score[task, control, normalization, fraction, s]
                 for s in seeds]
        print(f"  {task}, {method} - untrained at {100 * fraction:g}% of the labels ({normalization}): mean "
              f"{np.mean(gains):+.3f}; per seed {', '.join(f'{g:+.3f}' for g in gains)}")


def build_parser():
    parser = runner.make_parser(__doc__, fractions=(1.0, 0.25), normalization=("none",), data="eegbci",
                                pretrains=True, steps=100, quick={"folds": [0]})
    parser.add_argument("--sfreq", type=float, default=128.0)
    parser.add_argument("--window-s", type=float, default=4.0)
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2], choices=[0, 1, 2],
                        help="test repetitions to run (default all three)")
    parser.add_argument("--readout", type=json.loads, action="append", default=[], metavar="POOLING_JSON",
                        help="also score both encoders read out with this pooling (transform-time, no pretraining "
                             "again), e.g. --readout '\"bands\"' or --readout '[\"alpha\", \"beta\"]'")
    parser.add_argument("--feature-channels", action="append", default=[], choices=FEATURE_CHANNELS[1:],
                        help="also score both encoders read on these channels (Readout(feature_channels=...), "
                             "placed by the recording's channel names)")
    parser.add_argument("--reference-readout", action="store_true",
                        help="also score every SeqCLR feature set referenced within each kind of channel (what "
                             "feature_reference=True returns; transform-time, the same encoders)")
    parser.add_argument("--spatial-readout", action="store_true",
                        help="also score both encoders read out spatially: each of the encoder's 4 outputs "
                             "band-passed to 8-30 Hz, its covariance across channels mapped to the Riemannian "
                             "tangent space (needs pyriemann)")
    parser.add_argument("--methods", nargs="+", default=["probe", "baselines"], choices=["probe", "baselines"])
    parser.add_argument("--pretrain-on", default="runs", choices=["runs", "eegmat", "runs+eegmat"],
                        help="unlabelled pretraining windows: the training repetitions' continuous runs (default), "
                             "EEGMAT's 36 subjects (another dataset, 19 channels: transfer), or both")
    parser.add_argument("--seqclr-band", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                        help="band-pass (Hz) the runs to this band instead of 0.5-45 Hz for what SeqCLR "
                             "pretrains on and encodes, e.g. 8 30 (the band CSP and the tangent space get)")
    parser.add_argument("--eegmat-dir", type=Path, default=runner.SHARED_DATA / "eegmat")
    return parser


def main(argv=None):
    return runner.run(build_parser(), argv, score, load=load, report=report)


def load(args):
    """The cue trials of both tasks (0.5-45 Hz), those SeqCLR reads (``--seqclr-band``), and its unlabelled
    windows: every run's continuous windows and each one's run, and EEGMAT's windows, as ``--pretrain-on`` needs."""
    import mne

    mne.set_log_level("ERROR")  # CSP reports every covariance it estimates
    trials = {task: cue_trials(args.data_dir, runs, args.sfreq, args.window_s, BROAD_BAND)
              for task, runs in TASKS.items()}
    band = BROAD_BAND if args.seqclr_band is None else tuple(args.seqclr_band)
    seqclr_trials = trials if args.seqclr_band is None else {
        task: cue_trials(args.data_dir, runs, args.sfreq, args.window_s, band) for task, runs in TASKS.items()}
    for task, (X, y, run) in trials.items():
        print(f"{task}: {len(y)} trials ({np.bincount(y)} per class), {X.shape[1]} channels x {X.shape[2]} samples "
              f"at {args.sfreq:g} Hz, runs {sorted(set(run.tolist()))}", flush=True)
    pretrains = "probe" in args.methods
    eegmat = (eegmat_windows(args.eegmat_dir, args.sfreq, args.window_s)
              if pretrains and "eegmat" in args.pretrain_on else None)
    continuous = (runner.eegbci_continuous_windows(args.data_dir, ALL_RUNS, args.sfreq, args.window_s, band)
                  if pretrains and "runs" in args.pretrain_on else (None, None))
    return trials, seqclr_trials, continuous, eegmat


def score(args, data):
    trials, seqclr_trials, (continuous, continuous_run), eegmat = data
    params = runner.seqclr_params(args, sfreq=args.sfreq, n_epochs=10_000, max_steps=args.steps, device=args.device,
                                  preprocessing__units="uV")
    rows = []
    for fold in args.folds if "probe" in args.methods else []:
        if args.pretrain_on == "eegmat":
            unlabelled = eegmat
        else:
            unlabelled = continuous[repetition(continuous_run) != fold]
            if args.pretrain_on == "runs+eegmat":
                unlabelled = MultiDataset([unlabelled, eegmat])
        for seed in args.seeds:
            rows += seed_rows(args, fold, seed, params, unlabelled, seqclr_trials)
    if "baselines" in args.methods:
        for task, (X, y, run) in trials.items():
            X_mu_beta = band_pass(X, args.sfreq, MU_BETA)
            baselines = {name: on_trials(X, extractor)
                         for name, extractor in runner.band_power_controls(args.sfreq).items()}
            if pyriemann_available():
                baselines["tangent space, 8-30 Hz"] = on_trials(X_mu_beta, make_tangent_space(units="uV"))
            for fold in args.folds:
                rows += fold_rows(task, fold, baselines, y, run, args)
                rows += fold_rows(task, fold, {"CSP + LDA, 8-30 Hz": on_trials(X_mu_beta.reshape(len(X), -1))},
                                  y, run, args, probe=make_csp_lda(X.shape[1]))
    return rows, {k: v for k, v in runner.flat_params(runner.make_seqclr(**params)).items() if k != "random_state"}


def seed_rows(args, fold, seed, params, unlabelled, seqclr_trials):
    """One fold and seed: SeqCLR pretrained on ``unlabelled`` and its untrained twin, every readout, both tasks."""
    n_unlabelled = sum(map(len, unlabelled.datasets)) if isinstance(unlabelled, MultiDataset) else len(unlabelled)
    cpu = time.process_time()
    pretrained = runner.make_seqclr(**params, random_state=seed).fit(unlabelled)
    pretrain_cpu = time.process_time() - cpu
    untrained = runner.untrained_twin(pretrained, seed, unlabelled)
    print(f"fold {fold} (test runs {[r for r in ALL_RUNS if repetition(r) == fold]}), seed {seed}: pretrained "
          f"on {n_unlabelled} unlabelled windows ({args.pretrain_on}), {pretrained.n_steps_} steps, final loss "
          f"{pretrained.history_[-1]['loss']:.3f}, CPU time {pretrain_cpu:.0f} s", flush=True)
    rows = []
    for task, (X, y, run) in seqclr_trials.items():
        start = time.perf_counter()
        encoded = seqclr_feature_sets({"pretrained": pretrained, "untrained": untrained}, X,
                                      args.feature_channels, args.readout, args.reference_readout)
        features = {label: on_trials(H.reshape(len(X), -1)) for label, (H, _) in encoded.items()}
        if args.spatial_readout:
            for name, encoder in (("pretrained", pretrained), ("untrained", untrained)):
                H = encoder_outputs(encoder, X)
                H = band_pass(H.reshape(len(X), -1, H.shape[-1]), args.sfreq, MU_BETA).reshape(H.shape)
                features[f"SeqCLR {name}, output tangent space 8-30 Hz"] = on_trials(
                    H, make_output_tangent_space(H.shape[2]))
        encode_s = time.perf_counter() - start
        task_rows = fold_rows(task, fold, features, y, run, args, seeds=(seed,))
        for row in task_rows:
            row["transform_time_s"] = encode_s / len(features)
            if row["method"].startswith("SeqCLR pretrained"):
                row.update(fit_time_s=pretrain_cpu, n_steps=int(pretrained.n_steps_),
                           final_loss=float(pretrained.history_[-1]["loss"]))
        rows += task_rows
        print(f"  {task}: encoded {len(y)} trials {len(features)} ways in {encode_s:.0f} s; "
              + ", ".join(f"{r['method']} {100 * r['fraction']:g}%: {r['balanced_accuracy']:.3f}"
                          for r in task_rows), flush=True)
    return rows


if __name__ == "__main__":
    main()
