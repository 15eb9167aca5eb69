r"""Label efficiency on EEGMAT: does SeqCLR pretraining pay off?

The protocol of the docs' Results page, every row on the same split, labelled subsets and probe: EEGMAT, rest
vs mental arithmetic, 4-s windows at 128 Hz, subjects 00-23 train (and pretrain, without labels), 24-35 test;
the linear probe (C by cross-validation grouped by subject on the labelled windows) on 100% / 10% / 1% of the
training labels; features as they are and standardised per subject. Rows:

* ``SeqCLR pretrained`` and ``SeqCLR untrained`` (the same encoder, ``n_epochs=0``, same seed);
* ``--methods baselines``: log-power, log-variance in three and five bands, the Riemannian tangent space (with
  pyriemann), and ``log-power, read like SeqCLR`` whenever SeqCLR reads other channels than the recorded ones
  or references its features; ``--methods joined``: SeqCLR beside the five-band log-variance (``make_union``);
* ``--classifier`` / ``--finetune``: :class:`skseqclr.SeqCLRClassifier`, frozen / fine-tuned;
* ``--snapshot-steps N ...``: the encoder after N steps of the same run, and ``length by CV``: for each
  labelled subset, the length whose probe cross-validates best on that subset alone
  (:func:`skseqclr.evaluation.model_selection.length_by_cv_rows`).

Variants: ``--input-normalization group`` rescales each subject's channels first (GroupChannelScaler);
``--feature-reference`` subtracts, in each window, every per-channel feature's mean over the channels;
``--pretrain-on all`` pretrains on the test subjects' EEG too (transductive, no labels); ``--pretrain-extra
eegbci`` adds another dataset's unlabelled windows. ``--save-dir`` / ``--load-dir`` keep the encoders;
``--export-windows``, ``--windows``, ``--save-features`` and ``--load-features`` split the work between a GPU
machine and this one (``gpu_label_efficiency.sh``). From the repository root::

    python benchmarks/experiments/label_efficiency.py --seeds 0 1 2 --steps 100 --param model_size='"small"' \
        --output results.json
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import FunctionTransformer

from skseqclr import MultiDataset
from skseqclr.evaluation.baselines import (FIVE_BANDS, LogPower, LogVarianceBandPower, make_tangent_space,
                                           pyriemann_available, reference_to_channel_mean)
from skseqclr.evaluation.model_selection import length_by_cv_rows
from skseqclr.evaluation.normalization import GroupChannelScaler
from skseqclr.evaluation.probe import subsample_labels
from skseqclr.evaluation.protocol import snapshot_versions
from skseqclr.evaluation.reporting import method_label
from skseqclr.recombination import feature_channel_pairs
from skseqclr.referencing import channel_kinds, reference_within_kinds

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runner as runner  # noqa: E402

#: Parameters that change the features of a pretrained encoder without pretraining it again.
TRANSFORM_TIME_PARAMS = ("readout__pooling", "readout__log_power", "readout__feature_channels",
                         "readout__feature_reference", "batch_size", "precision", "preprocessing__num_workers")


def build_parser():
    parser = runner.make_parser(__doc__, pretrains=True, steps=300)
    parser.add_argument("--methods", nargs="+", default=["probe", "baselines"],
                        choices=["probe", "baselines", "joined"],
                        help="rows to compute: the probe on SeqCLR (pretrained and untrained), the baselines, and "
                             "'joined': SeqCLR side by side with the five-band log-variance")
    parser.add_argument("--classifier", action="store_true", help="add SeqCLRClassifier rows (frozen)")
    parser.add_argument("--finetune", action="store_true", help="add fine-tuned SeqCLRClassifier rows")
    parser.add_argument("--finetune-max-fraction", type=float, default=0.1,
                        help="fine-tune only up to this label fraction (it is slow on a CPU)")
    parser.add_argument("--classifier-epochs", type=int, default=20)
    parser.add_argument("--save-dir", type=Path, default=None,
                        help="save each seed's encoder there (seed<k>.safetensors)")
    parser.add_argument("--load-dir", type=Path, default=None,
                        help="instead of pretraining, load seed<k>.safetensors written by --save-dir (--param may "
                             f"then set only how features are computed: {', '.join(TRANSFORM_TIME_PARAMS)})")
    parser.add_argument("--save-features", type=Path, default=None, metavar="DIR",
                        help="write each seed's features of the training and test windows to "
                             "DIR/features_seed<k>.npz (with the parameters, steps and loss) and score nothing")
    parser.add_argument("--load-features", type=Path, default=None, metavar="DIR",
                        help="instead of pretraining, score the features written by --save-features")
    parser.add_argument("--snapshot-steps", type=int, nargs="+", default=None, metavar="N",
                        help="also score the encoder as it was after these steps of the same run "
                             "(SeqCLRTransformer.fit(X, snapshot_steps=...)): rows 'SeqCLR pretrained @N'")
    parser.add_argument("--feature-reference", action="store_true",
                        help="subtract from every per-channel feature, in each window, its mean over the channels "
                             "(SeqCLR's rows; the baselines' rows are added referenced beside the usual ones)")
    parser.add_argument("--input-normalization", default="none", choices=["none", "group"],
                        help="'group': rescale each subject's channels to a common amplitude with that subject's "
                             "own windows (GroupChannelScaler) before pretraining and every extractor")
    parser.add_argument("--pretrain-on", choices=["train", "all"], default="train",
                        help="unlabelled pretraining windows: the training subjects', or all (test included)")
    parser.add_argument("--pretrain-extra", choices=["eegbci"], default=None,
                        help="add eegmmidb subject 1's runs 3-14 (64 channels, 0.5-45 Hz) to pretraining")
    parser.add_argument("--eegbci-dir", type=Path, default=runner.SHARED_DATA / "eegbci")
    return parser


def check(args):
    if args.load_features and (args.load_dir or args.input_normalization != "none" or args.classifier
                               or args.finetune):
        raise SystemExit("--load-features scores stored features only: it cannot be combined with --load-dir, "
                         "--input-normalization group, --classifier or --finetune.")
    if args.snapshot_steps and (args.load_dir or args.load_features):
        raise SystemExit("--snapshot-steps needs pretraining here: not with --load-dir or --load-features "
                         "(stored features include the snapshots they were saved with).")
    other = sorted(set(dict(args.param)) - set(TRANSFORM_TIME_PARAMS)) if args.load_dir else []
    if other:
        raise SystemExit(f"--param {', '.join(other)}: with --load-dir only {', '.join(TRANSFORM_TIME_PARAMS)} "
                         "can be set (the others would need pretraining again).")


def main(argv=None):
    return runner.run(build_parser(), argv, score, check=check)


def channel_referenced(extractor, n_channels):
    """``extractor`` followed by, in each window, each feature minus its mean over the channels."""
    return make_pipeline(extractor, FunctionTransformer(reference_to_channel_mean, kw_args={"n_channels": n_channels}))


def log_power_read_like_seqclr(params, ch_names):
    """Per-channel log-power of the channels SeqCLR reads (``feature_channels``), referenced like its features
    (``feature_reference``): the classic control with SeqCLR's readout, fitted (stateless)."""
    first, second, _ = feature_channel_pairs(params.get("readout__feature_channels", "auto"), list(ch_names))
    kinds = channel_kinds(first, second)

    def transform(X):
        log_power = LogPower(units="uV").fit_transform(X[:, first] - X[:, second])
        if params.get("readout__feature_reference", False):
            log_power = reference_within_kinds(log_power[:, :, None], kinds)[:, :, 0]
        return log_power

    return FunctionTransformer(transform).fit(np.zeros((1, 1)))


def encoded_once(extractor):
    """``extractor`` whose ``transform`` encodes each window array once, however many rows use its features."""
    cache = {}

    def transform(X):
        if id(X) not in cache or cache[id(X)][0] is not X:
            cache[id(X)] = X, extractor.transform(X)
        return cache[id(X)][1]

    return FunctionTransformer(transform)


def classifier_rows(encoder, name, split, seed, args, finetune):
    from skseqclr import SeqCLRClassifier

    rows = []
    for fraction in args.fractions:
        if finetune and fraction > args.finetune_max_fraction:
            continue
        subset = subsample_labels(split.y_train, fraction, random_state=seed)
        clf = SeqCLRClassifier(pretrained=encoder, finetune=finetune, n_epochs=args.classifier_epochs,
                               class_weight="balanced", random_state=seed, device=args.device)
        start = time.process_time()
        clf.fit(split.X_train[subset], split.y_train[subset])
        score = balanced_accuracy_score(split.y_test, clf.predict(split.X_test))
        rows.append({"method": name, "fraction": fraction, "seed": seed, "n_labels": int(len(subset)),
                     "balanced_accuracy": float(score), "fit_time_s": 0.0,
                     "probe_time_s": time.process_time() - start, "transform_time_s": 0.0})
    return rows


def pretrained_encoder(args, seed, split, params, extra):
    """This seed's pretrained encoder (fitted here, or loaded), its parameters and its CPU and wall seconds."""
    cpu, wall = time.process_time(), time.perf_counter()
    if args.load_dir:
        pretrained = runner.load_pretrained(args.load_dir, seed, device=args.device)
        pretrained.set_params(**dict(args.param))
        ch_names = runner.eegmat_names(split.X_train)
        if pretrained.ch_names is None and ch_names:  # saved before ch_names existed: fitted unnamed
            pretrained.set_params(ch_names=ch_names)
            pretrained.ch_names_ = ch_names
        params = runner.flat_params(pretrained)
    else:
        unlabelled = split.X_train if args.pretrain_on == "train" else np.concatenate([split.X_train, split.X_test])
        if extra is not None:  # another dataset, another montage: fit pools a MultiDataset
            unlabelled = MultiDataset([unlabelled, extra])
        pretrained = runner.make_seqclr(**{**params, "random_state": seed}).fit(
            unlabelled, snapshot_steps=args.snapshot_steps)
    return pretrained, params, time.process_time() - cpu, time.perf_counter() - wall


def score(args, split):
    if args.input_normalization == "group":
        scaler = GroupChannelScaler().fit(split.X_train, groups=split.groups_train)
        split = split._replace(X_train=scaler.transform(split.X_train, groups=split.groups_train),
                               X_test=scaler.transform(split.X_test, groups=split.groups_test))
        print(f"input: each subject's channels rescaled to {scaler.reference_scale_:.2f} µV (GroupChannelScaler)")
    X_train, n_channels = split.X_train, split.X_train.shape[1]
    # named channels: feature_channels="auto" reads what it reads for EEGMAT's users (tests pass fewer channels)
    ch_names = runner.eegmat_names(X_train)
    params = runner.seqclr_params(args, sfreq=args.sfreq, ch_names=ch_names, n_epochs=10_000, max_steps=args.steps,
                                  device=args.device, preprocessing__units="uV")
    extra = None
    if args.pretrain_extra and not (args.load_dir or args.load_features):
        # eegmmidb subject 1's runs 3-14, band-passed 0.5-45 Hz on the whole runs like EEGMAT's recordings
        extra, _ = runner.eegbci_continuous_windows(args.eegbci_dir, range(3, 15), args.sfreq, args.window_s,
                                                    (0.5, 45.0))
        print(f"pretraining also on eegbci: {len(extra)} unlabelled windows, {extra.shape[1]} channels", flush=True)

    rows = []
    for seed in args.seeds:
        if args.load_features:
            path = args.load_features / f"features_seed{seed}.npz"
            features, n_steps, stored = runner.load_features(path, X_train, split.X_test)
            params = runner.flat_params(stored["params"])
            print(f"seed {seed}: {n_steps['SeqCLR pretrained']} steps, final loss {stored['final_loss']:.3f}, "
                  f"pretraining wall time {stored['pretrain_wall_s']:.0f} s (stored features, {path})", flush=True)
            pretrain_cpu = stored["pretrain_wall_s"]  # the rows' fit time: wall time where it pretrained
        else:
            pretrained, params, pretrain_cpu, pretrain_wall = pretrained_encoder(args, seed, split, params, extra)
            if args.save_dir:
                pretrained.save(args.save_dir / f"seed{seed}.safetensors")
            untrained = runner.untrained_twin(pretrained, seed, X_train)
            print(f"seed {seed}: {pretrained.n_steps_} steps, final loss {pretrained.history_[-1]['loss']:.3f}, "
                  f"CPU time {pretrain_cpu:.0f} s, wall time {pretrain_wall:.1f} s", flush=True)
            encoders = {"SeqCLR pretrained": pretrained, "SeqCLR untrained": untrained,
                        **snapshot_versions("SeqCLR pretrained", pretrained)}
            n_steps = {name: int(encoder.n_steps_) for name, encoder in encoders.items()}
            if args.save_features:
                args.save_features.mkdir(parents=True, exist_ok=True)
                start = time.perf_counter()
                runner.save_features(args.save_features / f"features_seed{seed}.npz", encoders, X_train,
                                     split.X_test, runner.flat_params(pretrained), pretrain_wall)
                print(f"seed {seed}: features saved ({time.perf_counter() - start:.1f} s to encode "
                      f"{len(encoders)} encoders)", flush=True)
                continue
            features = {name: encoded_once(encoder) for name, encoder in encoders.items()}
        if args.feature_reference:
            if runner.flat_params(runner.make_seqclr(**params))["readout__feature_reference"] \
                    and {"probe", "joined"} & set(args.methods):
                raise SystemExit("--feature-reference references the recorded channels' features as they were before "
                                 "feature_reference existed; these are already referenced (feature_reference=True): "
                                 "add --param readout__feature_reference=false")
            features = {name: channel_referenced(extractor, n_channels) for name, extractor in features.items()}
        seed_rows = runner.evaluate(args, features, split, seeds=(seed,)) if "probe" in args.methods else []
        if "joined" in args.methods:
            bands5 = LogVarianceBandPower(bands=FIVE_BANDS, sfreq=args.sfreq).fit(X_train)
            seed_rows += runner.evaluate(args, {f"{name} + 5 bands": make_union(features[name], bands5)
                                                for name in ("SeqCLR pretrained", "SeqCLR untrained")},
                                         split, seeds=(seed,))
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
            rows += classifier_rows(pretrained, "classifier frozen", split, seed, args, finetune=False)
            rows += classifier_rows(untrained, "classifier frozen, untrained", split, seed, args, finetune=False)
        if args.finetune:
            rows += classifier_rows(pretrained, "classifier fine-tuned", split, seed, args, finetune=True)
    if args.save_features:
        print(f"features of {len(args.seeds)} seed(s) in {args.save_features}")
        return None
    seqclr_params = runner.flat_params(runner.make_seqclr(**params))  # the defaults too
    if "baselines" in args.methods:
        rows += runner.evaluate(args, baselines(args, seqclr_params, ch_names, X_train), split)
    # the configuration of the encoders evaluated (those loaded, with --load-dir)
    return rows, {key: value for key, value in seqclr_params.items() if key != "random_state"}


def baselines(args, seqclr_params, ch_names, X_train):
    extractors = runner.band_power_controls(args.sfreq)
    if pyriemann_available():
        extractors["Riemannian tangent space"] = make_tangent_space()
    if ch_names and (seqclr_params["readout__feature_reference"] or feature_channel_pairs(
            seqclr_params["readout__feature_channels"], ch_names)[2] != ch_names):
        extractors["log-power, read like SeqCLR"] = log_power_read_like_seqclr(seqclr_params, ch_names)
    if args.feature_reference:
        # fitted here: a pipeline ending in a stateless FunctionTransformer looks fitted to sklearn, so
        # evaluate_label_efficiency would not fit it
        extractors.update({f"{name}, channel-referenced": channel_referenced(clone(extractors[name]).fit(X_train),
                                                                             X_train.shape[1])
                           for name in ("log-power", "log-variance 5 bands")})
    return extractors


if __name__ == "__main__":
    main()
