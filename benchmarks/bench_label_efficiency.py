r"""Label efficiency on EEGMAT: does SeqCLR pretraining pay off? (issues #4 and #8)

Protocol (every row on the same split, the same labelled subsets and the same probe):

* EEGMAT, rest (0) vs mental arithmetic (1), 4-s windows at 128 Hz, 19 channels;
  subjects 00-23 train, 24-35 test.
* SeqCLR is pretrained on all training windows **without labels**, once per seed.
* Rows:
  - ``SeqCLR pretrained`` / ``SeqCLR untrained``: linear probe
    (:class:`skseqclr.evaluation.probe.LinearProbe`: StandardScaler + LogisticRegression,
    balanced class weights, C chosen by 5-fold cross-validation grouped by subject
    on the labelled training windows only) on ``transform`` features of the
    pretrained encoder and of the *same* encoder with ``n_epochs=0`` (same seed,
    so the same initial weights);
  - ``classifier frozen`` / ``classifier fine-tuned`` (optional, slow on CPU):
    :class:`skseqclr.SeqCLRClassifier` on the pretrained encoder, and the frozen
    classifier on the untrained encoder;
  - ``SeqCLR pretrained + 5 bands`` / ``SeqCLR untrained + 5 bands``
    (``--methods joined``): the SeqCLR features and the five-band
    log-variance side by side (``sklearn.pipeline.make_union``; each encoder
    encodes the windows once for both kinds of row, so the joined rows'
    transform time leaves out the encoding when the probe rows came first);
  - baselines: per-channel log-power, log-variance in 4-8/8-13/13-30 Hz bands and
    in five bands (1-4 and 30-45 Hz added),
    Riemannian tangent space (if pyriemann is installed).
* ``--snapshot-steps N ...``: rows ``SeqCLR pretrained @N`` for the encoder
  after N steps of the same run, and ``SeqCLR pretrained, length by CV``: for
  each labelled subset, the length (a snapshot or the final encoder) whose
  probe cross-validates best on that subset's windows alone, grouped by
  subject (:func:`skseqclr.evaluation.model_selection.length_by_cv_rows`, which uses
  :func:`skseqclr.evaluation.probe.probe_cv_score`), scored on the test subjects; the
  lengths chosen are printed. The choice sees no test window and no label the
  probe does not see. With the fraction 1 scored, ``SeqCLR pretrained, length
  by CV on all labels`` scores at every fraction the one length chosen with
  all the training labels.
* Every row twice: features as they are, and standardised per subject
  (``(per-group z-score)`` rows: each subject's features with that subject's own
  windows, test subjects included, without labels; ``--normalization``).
* ``--input-normalization group``: every subject's channels are first rescaled
  to a common amplitude with that subject's own windows
  (:class:`skseqclr.evaluation.normalization.GroupChannelScaler`), before pretraining and
  before every extractor, baselines included.
* ``--feature-reference``: every per-channel feature set (SeqCLR's, log-power, the five-band
  log-variance) minus, in each window, its mean over the channels (an average reference of the
  features: inductive, each window alone); the baselines' rows are added referenced beside the
  usual ones.
* ``--pretrain-extra eegbci``: another dataset's unlabelled windows join the pretraining pool
  (eegmmidb subject 1's runs 3-14, 64 channels, band-passed 0.5-45 Hz like EEGMAT; ``fit`` gets a
  list); the untrained control and every probe are unchanged.
* ``log-power, read like SeqCLR``: with ``--methods baselines``, whenever SeqCLR reads other channels than
  the recorded ones (``feature_channels``) or references its features (``feature_reference``), the
  log-power of the channels it reads, referenced the same way: the classic control with SeqCLR's readout.
* Label fractions 100%, 10%, 1% (stratified, seeded, the same subset for every
  method; ``--label-draws K``: K subsets per seed, their scores averaged);
  balanced accuracy on all test windows; mean ± std over seeds.

Run from the repository root, e.g.::

    python benchmarks/bench_label_efficiency.py --seeds 0 1 2 --steps 100 --param model_size='"small"' \
        --output results.json

or one process per seed (in parallel, one thread each), then
``--combine seed0.json seed1.json seed2.json`` prints the table of all of them.

On a GPU machine without MNE or the recordings: ``--export-windows eegmat.npz`` here (the
windows in µV as float16, about 42 MB), then there ``--windows eegmat.npz --save-features DIR``
(pretrains, encodes, writes each seed's features), and back here ``--windows eegmat.npz
--load-features DIR`` scores them beside the baselines with the same probe and label subsets.

The docs' benchmark page uses the small encoder; without ``--param
model_size='"small"'`` the paper-size encoder is pretrained, about 15 times
slower on a CPU: 127-135 s per step of 256 single channels against 8.4 s, one
thread of the development CPU.

Prints a table and writes every row (with CPU times) to ``--output``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import FunctionTransformer

from skseqclr import MultiDataset, SeqCLRTransformer
from skseqclr.evaluation.baselines import (FIVE_BANDS, LogPower, LogVarianceBandPower, make_tangent_space, pyriemann_available,
                                reference_to_channel_mean)
from skseqclr.cli import parse_param as key_value
from skseqclr.cli import parse_probe_c
from skseqclr.datasets import EEGMAT_CHANNELS, fetch_eegmat
from skseqclr.evaluation.probe import PROBE_SELECTIONS, make_linear_probe, subsample_labels
from skseqclr.evaluation.protocol import NORMALIZATIONS, evaluate_label_efficiency, snapshot_versions
from skseqclr.evaluation.reporting import format_table, method_label, summarize
from skseqclr.evaluation.model_selection import length_by_cv_rows
from skseqclr.evaluation.normalization import GroupChannelScaler
from skseqclr.recombination import feature_channel_pairs
from skseqclr.referencing import channel_kinds, reference_within_kinds

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import eegbci_continuous_windows, windows_in_microvolts, write_rows  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eegmat"
EEGBCI_GROUP = 1000  # the subject label given to eegbci's windows in the pretraining pool


#: Parameters that change the features of a pretrained encoder without pretraining it again.
TRANSFORM_TIME_PARAMS = ("pooling", "log_power", "feature_channels", "feature_reference", "batch_size", "precision", "num_workers")


def _transform_time_params(key_values):
    params = dict(key_values)
    other = sorted(set(params) - set(TRANSFORM_TIME_PARAMS))
    if other:
        raise SystemExit(f"--param {', '.join(other)}: with --load-dir only {', '.join(TRANSFORM_TIME_PARAMS)} "
                         "can be set (the others would need pretraining again).")
    return params


def load_eegmat(path, sfreq, window_s):
    dataset = fetch_eegmat(path, sfreq=sfreq, window_size_s=window_s, download=False)
    X = windows_in_microvolts(dataset)
    metadata = dataset.get_metadata()
    y, subject = metadata["target"].to_numpy(), metadata["subject"].to_numpy()
    train, test = subject <= 23, subject >= 24
    return X[train], y[train], X[test], y[test], subject[train], subject[test]


def export_windows(path, X_train, y_train, X_test, y_test, groups_train, groups_test, sfreq):
    """The split's windows for a machine without MNE or the recordings (a GPU node). float16 in µV: a relative
    precision of 5e-4 (0.05 µV at 100 µV), far below EEG's noise, and half the size, so that the file
    travels where 64 MB is the limit."""
    np.savez(path, X_train=X_train.astype(np.float16), y_train=y_train, X_test=X_test.astype(np.float16),
             y_test=y_test, groups_train=groups_train, groups_test=groups_test, sfreq=sfreq)


def load_windows(path, sfreq):
    data = np.load(path)
    if float(data["sfreq"]) != sfreq:
        raise SystemExit(f"--windows {path} holds windows at {float(data['sfreq']):g} Hz, not --sfreq {sfreq:g}.")
    return tuple(data[key].astype(np.float32) if key.startswith("X") else data[key]
                 for key in ("X_train", "y_train", "X_test", "y_test", "groups_train", "groups_test"))


def stored_features(features_train, features_test, X_train, X_test):
    """An extractor whose ``transform`` returns features computed elsewhere (``--load-features``) for the
    very window arrays they were computed from."""
    def transform(X):
        if X is X_train:
            return features_train
        if X is X_test:
            return features_test
        raise ValueError("stored features exist only for the training and test windows of this split")

    return FunctionTransformer(transform)


def _prefix(name):
    """The .npz key prefix of a row's encoder: pretrained, untrained, or step<N> for a snapshot."""
    return name.split()[-1].replace("@", "step")


def channel_referenced(extractor, n_channels):
    """``extractor`` followed by, in each window, each feature minus its mean over the channels
    (:func:`skseqclr.referencing.reference_to_channel_mean`)."""
    return make_pipeline(extractor, FunctionTransformer(reference_to_channel_mean,
                                                        kw_args={"n_channels": n_channels}))


def save_features(path, encoders, X_train, X_test, params, pretrain_wall_s):
    """Every encoder's features of the training and test windows (rows' names as in ``encoders``)."""
    features = {}
    for name, encoder in encoders.items():
        prefix = _prefix(name)
        features[f"{prefix}_train"] = encoder.transform(X_train).astype(np.float32)
        features[f"{prefix}_test"] = encoder.transform(X_test).astype(np.float32)
        features[f"{prefix}_n_steps"] = encoder.n_steps_
    pretrained = encoders["SeqCLR pretrained"]
    np.savez(path, **features, names=np.array(list(encoders)), params=json.dumps(params, default=str),
             pretrain_wall_s=pretrain_wall_s, final_loss=pretrained.history_[-1]["loss"],
             loss_history=np.array([entry["loss"] for entry in pretrained.history_]))


def load_features(path, X_train, X_test):
    """(extractors, their step counts, the file's metadata) of a file written by :func:`save_features`."""
    data = np.load(path)
    names = [str(name) for name in data["names"]]
    extractors = {name: stored_features(data[f"{_prefix(name)}_train"], data[f"{_prefix(name)}_test"], X_train,
                                        X_test) for name in names}
    n_steps = {name: int(data[f"{_prefix(name)}_n_steps"]) for name in names}
    metadata = {"params": json.loads(str(data["params"])), "pretrain_wall_s": float(data["pretrain_wall_s"]),
                "final_loss": float(data["final_loss"])}
    return extractors, n_steps, metadata


def log_power_read_like_seqclr(params, ch_names):
    """Per-channel log-power of the channels SeqCLR reads (``feature_channels``), referenced like its features
    (``feature_reference``): the classic control with SeqCLR's readout, fitted (stateless)."""
    first, second, _ = feature_channel_pairs(params.get("feature_channels", "auto"), list(ch_names))
    kinds = channel_kinds(first, second)

    def transform(X):
        log_power = LogPower(units="uV").fit_transform(X[:, first] - X[:, second])
        if params.get("feature_reference", False):
            log_power = reference_within_kinds(log_power[:, :, None], kinds)[:, :, 0]
        return log_power

    return FunctionTransformer(transform).fit(np.zeros((1, 1)))


def encoded_once(extractor):
    """``extractor`` whose ``transform`` encodes each window array once, however many rows use its features
    (``--methods probe joined`` scores the SeqCLR features alone and beside the five bands)."""
    cache = {}

    def transform(X):
        if id(X) not in cache or cache[id(X)][0] is not X:
            cache[id(X)] = X, extractor.transform(X)
        return cache[id(X)][1]

    return FunctionTransformer(transform)


def classifier_rows(pretrained, name, X_train, y_train, X_test, y_test, fractions, seed, args, finetune):
    from skseqclr import SeqCLRClassifier

    rows = []
    for fraction in fractions:
        if finetune and fraction > args.finetune_max_fraction:
            continue
        subset = subsample_labels(y_train, fraction, random_state=seed)
        clf = SeqCLRClassifier(pretrained=pretrained, finetune=finetune, n_epochs=args.classifier_epochs,
                               class_weight="balanced", random_state=seed, device=args.device)
        start = time.process_time()
        clf.fit(X_train[subset], y_train[subset])
        score = balanced_accuracy_score(y_test, clf.predict(X_test))
        rows.append({"method": name, "fraction": fraction, "seed": seed, "n_labels": int(len(subset)),
                     "balanced_accuracy": float(score), "fit_time_s": 0.0,
                     "probe_time_s": time.process_time() - start, "transform_time_s": 0.0})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sfreq", type=float, default=128.0)
    parser.add_argument("--window-s", type=float, default=4.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--fractions", type=float, nargs="+", default=[1.0, 0.1, 0.01])
    parser.add_argument("--steps", type=int, default=300, help="pretraining steps")
    parser.add_argument("--param", type=key_value, action="append", default=[], metavar="KEY=JSON",
                        help="SeqCLRTransformer parameter, e.g. --param temperature=0.5 (as in `skseqclr`)")
    parser.add_argument("--classifier", action="store_true", help="add SeqCLRClassifier rows (frozen)")
    parser.add_argument("--finetune", action="store_true", help="add fine-tuned SeqCLRClassifier rows")
    parser.add_argument("--finetune-max-fraction", type=float, default=0.1,
                        help="fine-tune only up to this label fraction (it is slow on a CPU)")
    parser.add_argument("--classifier-epochs", type=int, default=20)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--save-dir", type=Path, default=None,
                        help="save each seed's pretrained transformer there (seed<k>.safetensors)")
    parser.add_argument("--load-dir", type=Path, default=None,
                        help="instead of pretraining, load seed<k>.safetensors written by --save-dir "
                             "(their parameters replace --steps; --param may then set only how features are "
                             f"computed: {', '.join(TRANSFORM_TIME_PARAMS)})")
    parser.add_argument("--windows", type=Path, default=None,
                        help="read the split's windows from this .npz (written by --export-windows) instead of "
                             "the EEGMAT recordings: for a machine without MNE or the data (a GPU node)")
    parser.add_argument("--export-windows", type=Path, default=None, metavar="NPZ",
                        help="write the split's windows (float16, µV), labels and subjects there and stop")
    parser.add_argument("--save-features", type=Path, default=None, metavar="DIR",
                        help="write each seed's pretrained and untrained features of the training and test "
                             "windows to DIR/features_seed<k>.npz (with the parameters, steps and loss)")
    parser.add_argument("--load-features", type=Path, default=None, metavar="DIR",
                        help="instead of pretraining, score the features in DIR/features_seed<k>.npz written by "
                             "--save-features (e.g. on a GPU node); use the same --windows")
    parser.add_argument("--snapshot-steps", type=int, nargs="+", default=None, metavar="N",
                        help="also score the pretrained encoder as it was after these step counts of the same run "
                             "(SeqCLRTransformer(snapshot_steps=...)): rows 'SeqCLR pretrained @N'; one run gives "
                             "the whole curve (with --param lr_schedule='\"constant\"' each is exactly a run of N "
                             "steps)")
    parser.add_argument("--feature-reference", action="store_true",
                        help="subtract from every per-channel feature, in each window, its mean over the channels "
                             "(SeqCLR's rows; the baselines' rows are added referenced beside the usual ones)")
    parser.add_argument("--methods", nargs="+", default=["probe", "baselines"],
                        choices=["probe", "baselines", "joined"],
                        help="linear-probe rows (pretrained and untrained), baseline rows, and 'joined': the "
                             "SeqCLR features (pretrained and untrained) side by side with the five-band "
                             "log-variance (sklearn's FeatureUnion) to compute")
    parser.add_argument("--probe-c", type=parse_probe_c, default="auto",
                        help="C of the linear probe: a number, or 'auto' (default: chosen by cross-validation "
                             "grouped by subject on the labelled training windows)")
    parser.add_argument("--probe-selection", default="best", choices=PROBE_SELECTIONS,
                        help="how C='auto' is chosen: the best cross-validated score, or 'one_se': the smallest "
                             "C within one standard error of it (LinearProbe's selection)")
    parser.add_argument("--input-normalization", default="none", choices=["none", "group"],
                        help="'group': rescale each subject's channels to a common amplitude with that subject's "
                             "own windows (GroupChannelScaler) before pretraining and before every feature "
                             "extractor; transductive for test subjects, labels unused")
    parser.add_argument("--normalization", nargs="+", default=list(NORMALIZATIONS), choices=NORMALIZATIONS,
                        help="feature normalisations to score: 'none', and 'group' (each subject's features "
                             "standardised with that subject's own windows; transductive for test subjects)")
    parser.add_argument("--pretrain-on", choices=["train", "all"], default="train",
                        help="windows for (unlabelled) pretraining: the training subjects only (default), or "
                             "all subjects, test included (transductive: the test subjects' EEG without labels)")
    parser.add_argument("--pretrain-extra", choices=["eegbci"], default=None,
                        help="add another dataset's unlabelled windows to pretraining: 'eegbci', eegmmidb "
                             "subject 1's runs 3-14 (64 channels, 0.5-45 Hz, from --eegbci-dir)")
    parser.add_argument("--eegbci-dir", type=Path, default=DEFAULT_DATA.parent / "eegbci")
    parser.add_argument("--label-draws", type=int, default=1,
                        help="labelled subsets drawn per seed for fractions below 1, their scores averaged "
                             "(default 1; with few labels the subset decides much of the score)")
    parser.add_argument("--combine", type=Path, nargs="+", default=None, metavar="JSON",
                        help="only print the table of the rows in these --output files "
                             "(e.g. one run per seed, run in parallel)")
    args = parser.parse_args(argv)
    if args.combine:
        rows = [row for path in args.combine for row in json.loads(path.read_text())["rows"]]
        print(format_table(summarize(rows)))
        return
    if args.threads:
        torch.set_num_threads(args.threads)

    started = time.time()
    if args.windows:
        X_train, y_train, X_test, y_test, groups_train, groups_test = load_windows(args.windows, args.sfreq)
    else:
        X_train, y_train, X_test, y_test, groups_train, groups_test = load_eegmat(args.data_dir, args.sfreq,
                                                                                  args.window_s)
    if args.export_windows:
        export_windows(args.export_windows, X_train, y_train, X_test, y_test, groups_train, groups_test, args.sfreq)
        print(f"wrote {args.export_windows}: {len(y_train)} training and {len(y_test)} test windows")
        return
    if args.load_features and (args.load_dir or args.input_normalization != "none" or args.classifier
                               or args.finetune):
        raise SystemExit("--load-features scores stored features only: it cannot be combined with --load-dir, "
                         "--input-normalization group, --classifier or --finetune.")
    if args.input_normalization == "group":
        channel_scaler = GroupChannelScaler().fit(X_train, groups=groups_train)
        X_train = channel_scaler.transform(X_train, groups=groups_train)
        X_test = channel_scaler.transform(X_test, groups=groups_test)
        print(f"input: each subject's channels rescaled to {channel_scaler.reference_scale_:.2f} µV "
              "(GroupChannelScaler)", flush=True)
    probe = make_linear_probe(C=args.probe_c, selection=args.probe_selection)
    probe_options = dict(probe=probe, groups_train=groups_train,
                         groups_test=groups_test, normalizations=args.normalization,
                         label_draws=args.label_draws)
    print(f"EEGMAT: train {len(y_train)} windows (subjects 00-23), test {len(y_test)} (24-35), "
          f"{X_train.shape[1]} channels x {X_train.shape[2]} samples at {args.sfreq:g} Hz", flush=True)

    # the windows are numpy arrays: name their channels, as MNE and braindecode input would be, so that the
    # default feature_channels="auto" reads what it reads for EEGMAT's users (tests pass smaller windows)
    ch_names = list(EEGMAT_CHANNELS) if X_train.shape[1] == len(EEGMAT_CHANNELS) else None
    params = dict(sfreq=args.sfreq, ch_names=ch_names, n_epochs=10_000, max_steps=args.steps, device=args.device,
                  units="uV")
    params.update(args.param)
    if args.snapshot_steps:
        if args.load_dir or args.load_features:
            raise SystemExit("--snapshot-steps needs pretraining here: not with --load-dir or --load-features "
                             "(stored features include the snapshots they were saved with).")
        params["snapshot_steps"] = tuple(args.snapshot_steps)

    extra = None
    if args.pretrain_extra and not (args.load_dir or args.load_features):
        # eegmmidb subject 1's runs 3-14, band-passed 0.5-45 Hz on the whole runs like EEGMAT's recordings
        extra, _ = eegbci_continuous_windows(args.eegbci_dir, range(3, 15), args.sfreq, args.window_s, (0.5, 45.0))
        print(f"pretraining also on eegbci: {len(extra)} unlabelled windows, {extra.shape[1]} channels", flush=True)

    rows = []
    for seed in args.seeds:
        cpu = time.process_time()
        wall = time.perf_counter()
        if args.load_features:
            path = args.load_features / f"features_seed{seed}.npz"
            features, n_steps, stored = load_features(path, X_train, X_test)
            params = stored["params"]
            print(f"seed {seed}: {n_steps['SeqCLR pretrained']} steps, final loss {stored['final_loss']:.3f}, "
                  f"pretraining wall time {stored['pretrain_wall_s']:.0f} s (stored features, {path})", flush=True)
            pretrain_cpu = stored["pretrain_wall_s"]  # the rows' fit time: wall time where it pretrained
        else:
            if args.load_dir:
                pretrained = SeqCLRTransformer.load(args.load_dir / f"seed{seed}.safetensors", device=args.device)
                pretrained.set_params(**_transform_time_params(args.param))
                if pretrained.ch_names is None and ch_names:  # saved before ch_names existed: fitted unnamed
                    pretrained.set_params(ch_names=ch_names)
                    pretrained.ch_names_ = ch_names
                params = pretrained.get_params()
            else:
                unlabelled, unlabelled_groups = (X_train, groups_train) if args.pretrain_on == "train" else (
                    np.concatenate([X_train, X_test]), np.concatenate([groups_train, groups_test]))
                if extra is not None:  # another dataset, another montage: fit pools a MultiDataset
                    unlabelled = MultiDataset([unlabelled, extra])
                    unlabelled_groups = np.concatenate([unlabelled_groups, np.full(len(extra), EEGBCI_GROUP)])
                pretrained = SeqCLRTransformer(**params, random_state=seed).fit(unlabelled, groups=unlabelled_groups)
            pretrain_cpu = time.process_time() - cpu
            pretrain_wall = time.perf_counter() - wall
            if args.save_dir:
                pretrained.save(args.save_dir / f"seed{seed}.safetensors")
            untrained = SeqCLRTransformer(**{**params, "n_epochs": 0, "random_state": seed}).fit(X_train)
            print(f"seed {seed}: {pretrained.n_steps_} steps, final loss {pretrained.history_[-1]['loss']:.3f}, "
                  f"CPU time {pretrain_cpu:.0f} s, wall time {pretrain_wall:.1f} s", flush=True)
            encoders = {"SeqCLR pretrained": pretrained, "SeqCLR untrained": untrained}
            encoders.update(snapshot_versions("SeqCLR pretrained", pretrained))
            n_steps = {name: int(encoder.n_steps_) for name, encoder in encoders.items()}
            if args.save_features:
                args.save_features.mkdir(parents=True, exist_ok=True)
                start = time.perf_counter()
                save_features(args.save_features / f"features_seed{seed}.npz", encoders, X_train, X_test,
                              pretrained.get_params(), pretrain_wall)
                print(f"seed {seed}: features saved ({time.perf_counter() - start:.1f} s to encode "
                      f"{len(encoders)} encoders)", flush=True)
                continue
            features = {name: encoded_once(encoder) for name, encoder in encoders.items()}
        if args.feature_reference:
            if SeqCLRTransformer(**params).feature_reference and {"probe", "joined"} & set(args.methods):
                raise SystemExit("--feature-reference references the recorded channels' features as they were before "
                                 "feature_reference existed; these are already referenced (feature_reference=True): "
                                 "add --param feature_reference=false")
            features = {name: channel_referenced(extractor, X_train.shape[1]) for name, extractor in features.items()}
        pretrained_features, untrained_features = features["SeqCLR pretrained"], features["SeqCLR untrained"]
        seed_rows = []
        if "probe" in args.methods:
            seed_rows = evaluate_label_efficiency(
                features, X_train, y_train, X_test, y_test, fractions=args.fractions, seeds=(seed,), **probe_options)
        if "joined" in args.methods:
            bands5 = LogVarianceBandPower(bands=FIVE_BANDS, sfreq=args.sfreq).fit(X_train)
            seed_rows += evaluate_label_efficiency(
                {"SeqCLR pretrained + 5 bands": make_union(pretrained_features, bands5),
                 "SeqCLR untrained + 5 bands": make_union(untrained_features, bands5)},
                X_train, y_train, X_test, y_test, fractions=args.fractions, seeds=(seed,), **probe_options)
        for row in seed_rows:
            row["n_steps"] = n_steps[row["method"].split(" + ")[0]]
            if row["method"].startswith("SeqCLR pretrained"):
                row["fit_time_s"] = pretrain_cpu
        for row in length_by_cv_rows(seed_rows):
            print(f"seed {seed}, {method_label(row)}, {100 * row['fraction']:g}% of labels: lengths chosen by "
                  f"grouped CV {row['chosen_steps']}", flush=True)
            seed_rows.append(row)
        rows += seed_rows
        if args.classifier:
            rows += classifier_rows(pretrained, "classifier frozen", X_train, y_train, X_test, y_test,
                                    args.fractions, seed, args, finetune=False)
            rows += classifier_rows(untrained, "classifier frozen, untrained", X_train, y_train, X_test, y_test,
                                    args.fractions, seed, args, finetune=False)
        if args.finetune:
            rows += classifier_rows(pretrained, "classifier fine-tuned", X_train, y_train, X_test, y_test,
                                    args.fractions, seed, args, finetune=True)

    if args.save_features:
        print(f"features of {len(args.seeds)} seed(s) in {args.save_features}; wall time {time.time() - started:.0f} s")
        return
    if "baselines" in args.methods:
        baselines = {"log-power": LogPower(), "log-variance bands": LogVarianceBandPower(sfreq=args.sfreq),
                     "log-variance 5 bands": LogVarianceBandPower(bands=FIVE_BANDS, sfreq=args.sfreq)}
        if pyriemann_available():
            baselines["Riemannian tangent space"] = make_tangent_space()
        seqclr_params = SeqCLRTransformer(**params).get_params()  # the defaults too
        if ch_names and (seqclr_params["feature_reference"]
                         or feature_channel_pairs(seqclr_params["feature_channels"], ch_names)[2] != ch_names):
            baselines["log-power, read like SeqCLR"] = log_power_read_like_seqclr(seqclr_params, ch_names)
        if args.feature_reference:
            # fitted here: a pipeline ending in a stateless FunctionTransformer looks fitted to sklearn, so
            # evaluate_label_efficiency would not fit it
            baselines.update({f"{name}, channel-referenced": channel_referenced(clone(baselines[name]).fit(X_train),
                                                                                X_train.shape[1])
                              for name in ("log-power", "log-variance 5 bands")})
        rows += evaluate_label_efficiency(baselines, X_train, y_train, X_test, y_test, fractions=args.fractions,
                                          seeds=args.seeds, **probe_options)

    print()
    print(format_table(summarize(rows)))
    print(f"\nwall time {time.time() - started:.0f} s; torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} thread(s)")
    if args.output:
        # the configuration of the encoders evaluated (those loaded, with --load-dir)
        config = {k: v for k, v in SeqCLRTransformer(**params).get_params().items() if k != "random_state"}
        write_rows(args.output, args, rows, config=config)


if __name__ == "__main__":
    main()
