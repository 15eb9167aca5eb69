"""benchmarks/experiments/motor_imagery.py: its folds keep each test repetition's runs out of training, its rows
average over folds before seeds, and it cuts the trials and continuous windows it claims from the recordings."""

from __future__ import annotations


import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.preprocessing import FunctionTransformer

from conftest import load_benchmark, shared_path


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("experiments/motor_imagery")


def test_repetitions_group_the_four_run_types(bench):
    assert bench.repetition([3, 4, 5, 6, 7, 10, 11, 14]).tolist() == [0, 0, 0, 0, 1, 1, 2, 2]


def test_fold_trains_on_other_repetitions_and_tests_on_its_own(bench):
    run = np.repeat([3, 4, 7, 8, 11, 12], 10)
    y = np.tile([0, 1], 30)
    seen = {}

    def record(index):
        seen.setdefault("calls", []).append(run[np.asarray(index).ravel()])
        return np.zeros((len(index), 1))

    args = bench.build_parser().parse_args(["--seeds", "0", "--fractions", "1.0"])
    rows = bench.fold_rows("task", 1, {"recorder": FunctionTransformer(record)}, y, run, args,
                           probe=DummyClassifier(strategy="prior"))
    train_runs, test_runs = (set(calls.tolist()) for calls in seen["calls"][:2])
    assert train_runs == {3, 4, 11, 12} and test_runs == {7, 8}
    assert rows[0]["n_labels"] == 40 and rows[0]["task"] == "task" and rows[0]["fold"] == 1


def test_on_trials_reads_the_indexed_windows(bench):
    X = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    np.testing.assert_array_equal(bench.on_trials(X).fit_transform(np.array([[4], [1]])), X[[4, 1]])


def test_report_averages_folds_before_seeds_and_prints_each_seeds_gain(bench, capsys):
    scores = {("SeqCLR pretrained", 0): [0.5, 0.7, 0.9], ("SeqCLR pretrained", 1): [0.6],
              ("SeqCLR untrained", 0): [0.5, 0.5, 0.5], ("SeqCLR untrained", 1): [0.7]}
    rows = [{"task": "t", "method": method, "normalization": "none", "fraction": 1.0, "seed": seed, "fold": fold,
             "n_labels": 60, "balanced_accuracy": score}
            for (method, seed), fold_scores in scores.items() for fold, score in enumerate(fold_scores)]
    bench.report(rows)
    out = capsys.readouterr().out
    assert "0.650 ± 0.050" in out  # seed 0: mean of its three folds, 0.7; seed 1: 0.6
    assert "t, SeqCLR pretrained - untrained at 100% of the labels (none): mean +0.050; per seed +0.200, -0.100" in out


@pytest.mark.shared_data
def test_trials_and_continuous_windows_of_subject_1(bench):
    X, y, run = bench.cue_trials(shared_path("eegbci"), (4, 8), sfreq=128.0, window_s=4.0, band=bench.BROAD_BAND)
    assert X.shape[1:] == (64, 512) and len(y) == len(run)
    assert 25 <= len(y) <= 32 and set(run.tolist()) == {4, 8} and abs(np.sum(y == 0) - np.sum(y == 1)) <= 2
    assert np.isfinite(X).all() and 1 < np.median(X.std(axis=-1)) < 200  # µV, not volts
    unlabelled, unlabelled_run = bench.runner.eegbci_continuous_windows(shared_path("eegbci"), (4, 8), sfreq=128.0,
                                                                 window_s=4.0, band=bench.BROAD_BAND)
    assert unlabelled.shape[1:] == (64, 512) and 55 <= len(unlabelled) <= 63  # two runs of about 125 s
    assert unlabelled_run.tolist() == sorted(unlabelled_run.tolist()) and set(unlabelled_run.tolist()) == {4, 8}


def test_encoder_outputs_are_what_transform_pools(bench, tiny, rng):
    from skseqclr import Preprocessing, Readout, SeqCLRTransformer

    X = (rng.standard_normal((6, 3, 256)) * 20).astype(np.float32)
    transformer = SeqCLRTransformer(**tiny, n_epochs=0, readout=Readout(pooling="mean"),
                                    preprocessing=Preprocessing(units="uV"), sfreq=128.0, random_state=0).fit(X)
    outputs = bench.encoder_outputs(transformer, X, windows_per_batch=4)
    assert outputs.shape[:3] == (6, 3, 4)
    np.testing.assert_allclose(outputs.mean(axis=-1).reshape(6, -1), transformer.transform(X), rtol=1e-4, atol=1e-5)


def test_output_tangent_space_reads_each_output_across_channels(bench, rng):
    pytest.importorskip("pyriemann")
    outputs = rng.standard_normal((10, 5, 4, 200))
    features = bench.make_output_tangent_space(4).fit_transform(outputs)
    assert features.shape == (10, 4 * 5 * 6 // 2) and np.isfinite(features).all()


def test_feature_sets_are_what_the_transformer_returns_and_leave_it_as_fitted(bench, tiny, rng, monkeypatch):
    from skseqclr import Preprocessing, SeqCLRTransformer
    from skseqclr.recombination import feature_channel_pairs

    names = ["C3", "Cz", "C4"]
    monkeypatch.setattr(bench, "CHANNEL_NAMES", names)
    X = (rng.standard_normal((5, 3, 256)) * 20).astype(np.float32)
    transformer = SeqCLRTransformer(**tiny, n_epochs=0, preprocessing=Preprocessing(units="uV"), sfreq=128.0,
                                    random_state=0).fit(X)
    encoded = bench.seqclr_feature_sets({"encoder": transformer}, X, ["all"], [["std", "logms"]], reference=True)
    assert list(encoded) == [f"SeqCLR encoder{variant}{referenced}" for referenced in ("", ", referenced")
                             for variant in ("", ", feature_channels=all", ", pooling=std+logms",
                                             ", feature_channels=all, pooling=std+logms")]
    assert transformer.readout is None  # as fitted

    first, second, _ = feature_channel_pairs("all", names)
    features, kinds = encoded["SeqCLR encoder, feature_channels=all, pooling=std+logms, referenced"]
    assert kinds.tolist() == [0] * 3 + [1] * 3  # C3, Cz, C4 and their three differences
    package = transformer.set_params(readout__feature_channels=list(zip(first, second)),
                                     readout__pooling=("std", "logms"), readout__feature_reference=True).transform(X)
    np.testing.assert_allclose(features.reshape(len(X), -1), package, rtol=1e-5, atol=1e-6)
    unreferenced, _ = encoded["SeqCLR encoder, feature_channels=all, pooling=std+logms"]
    assert unreferenced.shape[1] == 6 and features.shape[1] == 8  # the two kinds' mean rows added
