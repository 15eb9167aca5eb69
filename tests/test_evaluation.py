"""Tests of the label-efficiency harness: skseqclr.evaluation.probe, .protocol and .reporting."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin

from skseqclr.evaluation.baselines import LogPower, LogVarianceBandPower
from skseqclr.datasets import make_synthetic_eeg
from skseqclr.evaluation.probe import DEFAULT_CS, LinearProbe, make_linear_probe, probe_cv_score, subsample_labels
from skseqclr.evaluation.protocol import evaluate_label_efficiency, split_by_group
from skseqclr.evaluation.reporting import (format_table, mean_probe_cv_score, plot_label_efficiency,
                                           strongest_by_probe_cv, summarize)


def test_subsample_labels_stratified_seeded_and_keeps_every_class():
    y = np.array([0] * 90 + [1] * 10)
    subset = subsample_labels(y, 0.1, random_state=0)
    assert np.bincount(y[subset]).tolist() == [9, 1]
    np.testing.assert_array_equal(subset, subsample_labels(y, 0.1, random_state=0))
    assert not np.array_equal(subset, subsample_labels(y, 0.1, random_state=1))
    tiny = subsample_labels(y, 0.001, random_state=0)
    assert np.bincount(y[tiny]).tolist() == [1, 1]  # at least one window per class
    assert len(subsample_labels(y, 1.0)) == 100
    strings = np.array(["rest", "task", "rest", "rest"])
    assert set(strings[subsample_labels(strings, 0.01)]) == {"rest", "task"}


@pytest.mark.parametrize("fraction", [0, 1.5, -0.1, "all"])
def test_subsample_labels_bad_fraction(fraction):
    with pytest.raises(ValueError, match="fraction"):
        subsample_labels([0, 1], fraction)


def test_split_by_group_keeps_subjects_apart():
    groups = np.repeat(np.arange(6), 3)
    train, test = split_by_group(groups)
    assert set(groups[test]) == {4, 5} and set(groups[train]) == {0, 1, 2, 3}
    train, test = split_by_group(groups, test_groups=[0])
    assert set(groups[test]) == {0}
    train, test = split_by_group([7, 7, 8], test_size=0.9)  # at least one group stays for training
    assert train.tolist() == [True, True, False]
    with pytest.raises(ValueError, match="at least 2 groups"):
        split_by_group([1, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        split_by_group(groups, test_groups=[99])


class CountingExtractor(TransformerMixin, BaseEstimator):
    """Log power whose fits are counted, with or without a random_state parameter."""

    fits: list = []

    def fit(self, X, y=None):
        assert y is None  # extractors never see labels
        CountingExtractor.fits.append(getattr(self, "random_state", "no seed"))
        self.fitted_ = True
        return self

    def transform(self, X):
        return np.log(np.asarray(X).var(axis=-1))


class SeededCountingExtractor(CountingExtractor):
    def __init__(self, random_state=None):
        self.random_state = random_state


@pytest.fixture
def split():
    X, y = make_synthetic_eeg(n_windows=120, n_channels=4, random_state=0)
    return X[:80], y[:80], X[80:], y[80:]


@pytest.mark.slow
def test_evaluate_rows_and_fitting_protocol(split):
    X_train, y_train, X_test, y_test = split
    CountingExtractor.fits = []
    prefitted = LogPower().fit(X_train)
    rows = evaluate_label_efficiency(
        {"bands": LogVarianceBandPower(sfreq=128), "power": prefitted,
         "seeded": SeededCountingExtractor(), "shared": CountingExtractor()},
        X_train, y_train, X_test, y_test, fractions=(1.0, 0.1), seeds=(0, 1),
    )
    assert len(rows) == 4 * 2 * 2
    # seeded extractors are fitted once per seed with that seed; others once in all
    assert sorted(CountingExtractor.fits, key=str) == [0, 1, "no seed"]
    keys = {"method", "fraction", "seed", "n_labels", "balanced_accuracy", "fit_time_s", "transform_time_s",
            "probe_time_s", "n_features"}
    assert all(keys <= set(r) for r in rows)
    power_rows = [r for r in rows if r["method"] == "power"]
    assert all(r["fit_time_s"] == 0.0 for r in power_rows)  # used as it came
    assert {r["n_labels"] for r in rows if r["fraction"] == 1.0} == {80}
    assert {r["n_labels"] for r in rows if r["fraction"] == 0.1} == {8}
    # frequency-resolved features separate the synthetic classes, broadband power does not
    bands = np.mean([r["balanced_accuracy"] for r in rows if r["method"] == "bands" and r["fraction"] == 1.0])
    power = np.mean([r["balanced_accuracy"] for r in power_rows if r["fraction"] == 1.0])
    assert bands > 0.9 and bands > power + 0.2


def test_every_method_gets_the_same_labelled_subset(split):
    X_train, y_train, X_test, y_test = split
    seen = []

    class RecordingProbe(BaseEstimator):
        def fit(self, X, y):
            seen.append(tuple(y))
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            return np.zeros(len(X), dtype=int)

    evaluate_label_efficiency({"a": LogPower(), "b": LogVarianceBandPower(sfreq=128)}, X_train, y_train, X_test,
                              y_test, fractions=[0.25], seeds=[3], probe=RecordingProbe())
    assert len(seen) == 2 and seen[0] == seen[1]


def test_summarize_and_table(split):
    rows = [
        {"method": "A", "fraction": 1.0, "seed": s, "n_labels": 80, "balanced_accuracy": acc, "fit_time_s": 2.0,
         "transform_time_s": 1.0, "probe_time_s": 0.5, "n_features": 3}
        for s, acc in enumerate([0.7, 0.8])
    ] + [
        {"method": "A", "fraction": 0.1, "seed": s, "n_labels": 8, "balanced_accuracy": 0.6, "fit_time_s": 2.0,
         "transform_time_s": 1.0, "probe_time_s": 0.5, "n_features": 3}
        for s in range(2)
    ]
    summary = summarize(rows)
    first = summary[0]
    assert first["method"] == "A" and first["n_seeds"] == 2
    assert first["mean"] == pytest.approx(0.75) and first["std"] == pytest.approx(0.05)
    assert first["time_s"] == pytest.approx(4.0)  # fit + transform + two probes, per seed
    table = format_table(rows)
    lines = table.splitlines()
    assert "100% (n=80)" in lines[0] and "10% (n=8)" in lines[0] and "time (s)" in lines[0]
    assert "0.750 ± 0.050" in lines[2] and "0.600 ± 0.000" in lines[2] and lines[2].rstrip().endswith("4.0")
    assert format_table(summary) == table


def test_linear_probe_is_scaled_balanced_logistic_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)) * [1, 10, 100, 1000]
    y = (X[:, 3] > 0).astype(int)
    probe = make_linear_probe(C=1.0).fit(X, y)
    assert isinstance(probe, LinearProbe) and probe.C_ == 1.0 and probe.cv_scores_ is None
    assert probe.classifier_.class_weight == "balanced"
    np.testing.assert_allclose(probe.scaler_.transform(X).std(axis=0), 1.0)
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    reference = LogisticRegression(C=1.0, class_weight="balanced").fit(StandardScaler().fit_transform(X), y)
    np.testing.assert_allclose(probe.decision_function(X),
                               reference.decision_function(StandardScaler().fit(X).transform(X)), rtol=1e-6)


def test_linear_probe_auto_c_chooses_by_grouped_cross_validation():
    """Features that only identify the subject look perfect to ungrouped folds, useless to grouped ones."""
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(10), 20)
    y = groups % 2  # one class per subject: the label is learnable only by recognising the subject
    X = rng.normal(size=(10, 30))[groups] + 0.1 * rng.normal(size=(200, 30))
    grouped = LinearProbe().fit(X, y, groups=groups)
    plain = LinearProbe().fit(X, y)
    assert set(grouped.cv_scores_) == set(DEFAULT_CS) and grouped.C_ in DEFAULT_CS
    assert max(plain.cv_scores_.values()) > 0.95  # the same subjects in training and validation folds
    assert max(grouped.cv_scores_.values()) < 0.8  # held-out subjects: no better than guessing
    best = max(grouped.cv_scores_.values())
    assert grouped.C_ == min(C for C, score in grouped.cv_scores_.items() if score == best)


@pytest.mark.slow
def test_linear_probe_one_standard_error_rule_takes_the_smallest_c_within_one_error_of_the_best():
    """One informative feature among 40, 96 labels from 12 subjects: noisy folds, where the rule matters."""
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(12), 8)
    y = rng.integers(0, 2, 96)
    X = rng.normal(size=(96, 40))
    X[:, 0] += y
    best = LinearProbe().fit(X, y, groups=groups)
    one_se = LinearProbe(selection="one_se").fit(X, y, groups=groups)
    assert one_se.cv_scores_ == best.cv_scores_ and one_se.cv_standard_errors_ == best.cv_standard_errors_
    top = max(best.cv_scores_, key=lambda C: (best.cv_scores_[C], -C))
    assert best.C_ == top
    threshold = best.cv_scores_[top] - best.cv_standard_errors_[top]
    assert one_se.C_ == min(C for C, score in one_se.cv_scores_.items() if score >= threshold)
    assert one_se.C_ < best.C_  # here the rule does change the choice, to stronger regularisation
    assert all(0 < error < 0.5 for error in one_se.cv_standard_errors_.values())
    assert probe_cv_score(one_se) == one_se.cv_scores_[one_se.C_] < probe_cv_score(best)
    with pytest.raises(ValueError, match="selection='median'"):
        LinearProbe(selection="median").fit(X, y, groups=groups)


def test_linear_probe_few_labels_and_bad_parameters():
    y = np.array([0, 0, 0, 1])
    X = np.arange(8.0).reshape(4, 2)
    probe = LinearProbe().fit(X, y)  # one window of class 1: no folds possible
    assert probe.C_ == 1.0 and probe.cv_scores_ is None
    assert probe.predict(X).shape == (4,)
    for bad in ({"C": 0}, {"C": "best"}, {"Cs": []}, {"n_splits": 1}):
        with pytest.raises(ValueError):
            LinearProbe(**bad).fit(X, y)
    with pytest.raises(ValueError, match="1 class"):
        LinearProbe().fit(X, np.zeros(4))
    with pytest.raises(ValueError, match="groups"):
        LinearProbe().fit(X, y, groups=[0, 1])


@pytest.mark.slow
def test_linear_probe_sklearn_contract():
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(LinearProbe(n_splits=3, Cs=(0.1, 1.0)))


def test_evaluate_group_normalization_and_grouped_probe(split):
    X_train, y_train, X_test, y_test = split
    groups_train, groups_test = np.arange(len(y_train)) % 4, np.arange(len(y_test)) % 2
    seen = {}

    class RecordingProbe(LinearProbe):
        def fit(self, X, y, groups=None):
            seen.setdefault("groups", []).append(groups)
            seen.setdefault("X", []).append(X)
            return super().fit(X, y, groups=groups)

    rows = evaluate_label_efficiency({"p": LogPower()}, X_train, y_train, X_test, y_test, fractions=[1.0],
                                     probe=RecordingProbe(C=1.0), groups_train=groups_train,
                                     groups_test=groups_test, normalizations=("none", "group"))
    assert [r["normalization"] for r in rows] == ["none", "group"]
    assert all(r["probe_C"] == 1.0 for r in rows)
    np.testing.assert_array_equal(seen["groups"][0], groups_train)
    raw, normalized = seen["X"]
    np.testing.assert_allclose(raw, LogPower().fit(X_train).transform(X_train).reshape(len(y_train), -1), rtol=1e-5)
    for g in range(4):  # each training group has zero mean and unit variance after normalisation
        np.testing.assert_allclose(normalized[groups_train == g].mean(axis=0), 0, atol=1e-9)
        np.testing.assert_allclose(normalized[groups_train == g].std(axis=0), 1, rtol=1e-6)
    labels = [s["method"] for s in summarize(rows)]
    assert labels == ["p", "p (per-group z-score)"]
    with pytest.raises(ValueError, match="groups_train and groups_test"):
        evaluate_label_efficiency({"p": LogPower()}, X_train, y_train, X_test, y_test, normalizations=["group"])
    with pytest.raises(ValueError, match="normalizations"):
        evaluate_label_efficiency({"p": LogPower()}, X_train, y_train, X_test, y_test, normalizations=["subject"])
    with pytest.raises(ValueError, match="groups_test"):
        evaluate_label_efficiency({"p": LogPower()}, X_train, y_train, X_test, y_test, groups_train=groups_train,
                                  groups_test=groups_test[:3], normalizations=["group"])


#: The groups each _GroupAwareLogPower.fit was given (the evaluation fits clones, so record outside them).
FIT_GROUPS = []


class _GroupAwareLogPower(LogPower):
    """LogPower whose fit takes groups, and uses them."""

    def fit(self, X, y=None, groups=None):
        FIT_GROUPS.append(groups)
        return super().fit(X, y)


def test_extractors_whose_fit_takes_groups_get_the_training_groups(split):
    X_train, y_train, X_test, y_test = split
    groups_train, groups_test = np.arange(len(y_train)) % 4, np.arange(len(y_test)) % 2
    FIT_GROUPS.clear()
    evaluate_label_efficiency({"aware": _GroupAwareLogPower(), "plain": LogPower()}, X_train, y_train, X_test,
                              y_test, fractions=[1.0], probe=LinearProbe(C=1.0), groups_train=groups_train,
                              groups_test=groups_test)
    assert len(FIT_GROUPS) == 1  # LogPower.fit, which takes no groups, was fitted without them
    np.testing.assert_array_equal(FIT_GROUPS[0], groups_train)
    FIT_GROUPS.clear()
    evaluate_label_efficiency({"aware": _GroupAwareLogPower()}, X_train, y_train, X_test, y_test, fractions=[1.0],
                              probe=LinearProbe(C=1.0))
    assert FIT_GROUPS == [None]


def test_evaluate_bad_input(split):
    X_train, y_train, X_test, y_test = split
    with pytest.raises(ValueError, match="mapping"):
        evaluate_label_efficiency([LogPower()], X_train, y_train, X_test, y_test)
    with pytest.raises(ValueError, match="fraction"):
        evaluate_label_efficiency({"p": LogPower()}, X_train, y_train, X_test, y_test, fractions=[2.0])
    for not_a_fraction in (None, "0.1", True):
        with pytest.raises(ValueError, match="label fraction must be in"):
            evaluate_label_efficiency({"p": LogPower()}, X_train, y_train, X_test, y_test, fractions=not_a_fraction)
    with pytest.raises(ValueError, match="seeds"):
        evaluate_label_efficiency({"p": LogPower()}, X_train, y_train, X_test, y_test, seeds=[-1])
    for not_a_seed in (True, [0, False], 1.0, None, "0"):  # bool is an Integral: seeds=True silently meant seed 1
        with pytest.raises(ValueError, match="seeds must be non-negative integers"):
            evaluate_label_efficiency({"p": LogPower()}, X_train, y_train, X_test, y_test, seeds=not_a_seed)
    with pytest.raises(ValueError, match="single class"):
        evaluate_label_efficiency({"p": LogPower()}, X_train, np.zeros(80), X_test, y_test)


@pytest.mark.slow
def test_label_draws_average_several_labelled_subsets_per_seed(split):
    X_train, y_train, X_test, y_test = split
    seen = []

    class RecordingProbe(BaseEstimator):
        def fit(self, X, y):
            seen.append(tuple(np.flatnonzero(np.isin(X_train_features, X).all(axis=1))))
            self.classes_ = np.unique(y)
            self.first_ = int(y[0])
            return self

        def predict(self, X):
            return np.full(len(X), self.first_)

    X_train_features = LogPower().fit_transform(X_train)
    common = dict(fractions=(1.0, 0.25), seeds=(3,), probe=RecordingProbe())
    evaluate_label_efficiency({"power": LogPower()}, X_train, y_train, X_test, y_test, **common)
    seen_one, seen[:] = list(seen), []
    rows = evaluate_label_efficiency({"power": LogPower()}, X_train, y_train, X_test, y_test, label_draws=4,
                                     **common)
    full, quarter = rows
    # all the labels: one draw; a quarter of them: four different subsets, the first one the single draw's
    assert full["n_label_draws"] == 1 and quarter["n_label_draws"] == 4
    assert len(seen) == 5 and len(set(seen[1:])) == 4 and seen[1] == seen_one[1]
    assert "25% (n=20, 4 draws)" in format_table(rows) and "100% (n=80)" in format_table(rows)
    assert summarize(rows)[1]["n_label_draws"] == 4
    # with a real probe the row's score is the mean of the draws' scores, the first of them the single draw's
    one, = evaluate_label_efficiency({"power": LogPower()}, X_train, y_train, X_test, y_test, fractions=0.25, seeds=3)
    row, = evaluate_label_efficiency({"power": LogPower()}, X_train, y_train, X_test, y_test, fractions=0.25, seeds=3,
                                     label_draws=4)
    assert row["balanced_accuracy"] == pytest.approx(np.mean(row["balanced_accuracy_draws"]))
    assert row["balanced_accuracy_draws"][0] == one["balanced_accuracy"]
    assert len(set(row["balanced_accuracy_draws"])) > 1  # the draws differ, so their mean is not one draw
    with pytest.raises(ValueError, match="label_draws must be a positive integer, got 0"):
        evaluate_label_efficiency({"power": LogPower()}, X_train, y_train, X_test, y_test, label_draws=0)


def _cv_row(method, normalization, fraction, seed, accuracy, cv_scores):
    return {"method": method, "normalization": normalization, "fraction": fraction, "seed": seed,
            "balanced_accuracy": accuracy, "probe_cv_score_draws": cv_scores}


def test_strongest_by_probe_cv_ranks_on_training_scores_not_test_scores():
    rows = [
        # "test star" has the best test scores but the worse cross-validated scores on the training windows
        _cv_row("test star", "none", 1.0, 0, 0.95, [0.60]), _cv_row("test star", "group", 1.0, 0, 0.95, [0.62]),
        _cv_row("steady", "none", 1.0, 0, 0.70, [0.80]), _cv_row("steady", "group", 0.1, 0, 0.70, [0.70, None]),
        _cv_row("fixed C", "none", 1.0, 0, 0.99, [None]),
    ]
    assert mean_probe_cv_score(rows, "steady") == pytest.approx(0.75)  # None (no folds) left out
    assert mean_probe_cv_score(rows, "fixed C") is None and mean_probe_cv_score(rows, "absent") is None
    assert strongest_by_probe_cv(rows, ["test star", "steady", "fixed C"]) == "steady"
    assert strongest_by_probe_cv(rows, ["fixed C"]) is None
    tie = [_cv_row("a", "none", 1.0, 0, 0.5, [0.7]), _cv_row("b", "none", 1.0, 0, 0.9, [0.7])]
    assert strongest_by_probe_cv(tie, ["b", "a"]) == "b"  # ties: the first listed


@pytest.mark.slow
def test_strongest_by_probe_cv_on_real_rows(split):
    X_train, y_train, X_test, y_test = split
    rows = evaluate_label_efficiency({"power": LogPower(), "bands": LogVarianceBandPower(sfreq=128)},
                                     X_train, y_train, X_test, y_test, fractions=(1.0,), seeds=(0,))
    # the synthetic classes differ by rhythm (10 vs 20 Hz): band power separates them, broadband power does not
    assert mean_probe_cv_score(rows, "bands") > mean_probe_cv_score(rows, "power")
    assert strongest_by_probe_cv(rows, ["power", "bands"]) == "bands"


def test_plot_label_efficiency_one_line_per_method_one_panel_per_normalization(tmp_path):
    import matplotlib.image

    rows = [_cv_row(method, normalization, fraction, seed, 0.6 + 0.1 * i + 0.01 * seed, [0.7])
            for i, method in enumerate(["A", "B", "C"]) for normalization in ("none", "group")
            for fraction in (1.0, 0.1, 0.01) for seed in (0, 1)]
    figure = plot_label_efficiency(rows, methods=["C", "A"])
    assert len(figure.axes) == 2
    for ax, title in zip(figure.axes, ("inductive", "per-group z-score")):
        assert title in ax.get_title()
        assert [line.get_label() for line in ax.lines] == ["C", "A"]
        assert len(ax.collections) == 2  # two seeds: a band of one standard deviation per line
        np.testing.assert_allclose(ax.lines[1].get_xdata(), [1.0, 10.0, 100.0])  # in % of the labels, sorted
        np.testing.assert_allclose(ax.lines[1].get_ydata(), [0.605] * 3)  # mean over the seeds
    path = tmp_path / "efficiency.png"
    figure.savefig(path)
    assert matplotlib.image.imread(path).ndim == 3
    one_panel = plot_label_efficiency([r for r in rows if r["normalization"] == "none"])
    assert len(one_panel.axes) == 1 and len(one_panel.axes[0].lines) == 3
    with pytest.raises(ValueError, match="no rows"):
        plot_label_efficiency(rows, methods=["D"])
    with pytest.raises(ValueError, match="No rows"):
        plot_label_efficiency([])


def _without_times(rows):
    return [{k: v for k, v in row.items() if not k.endswith("_time_s")} for row in rows]


def test_parallel_jobs_give_the_same_rows_in_the_same_order(split):
    X_train, y_train, X_test, y_test = split
    CountingExtractor.fits = []
    extractors = {"power": LogPower(), "seeded": SeededCountingExtractor(), "bands": LogVarianceBandPower(sfreq=128)}
    common = dict(fractions=(1.0, 0.25), seeds=(0, 1), groups_train=np.arange(80) % 4, groups_test=np.arange(40) % 2,
                  normalizations=("none", "group"))
    one = evaluate_label_efficiency(extractors, X_train, y_train, X_test, y_test, **common)
    three = evaluate_label_efficiency(extractors, X_train, y_train, X_test, y_test, n_jobs=3, **common)
    assert _without_times(three) == _without_times(one)
    assert [r["method"] for r in one[:4]] == ["power"] * 4 and len(one) == 3 * 2 * 2 * 2
    assert CountingExtractor.fits == [0, 1, 0, 1]  # seeded fits one after another, in order, in both runs


class FailingOnTestWindows(CountingExtractor):
    def transform(self, X):
        if len(X) == 40:
            raise RuntimeError("cannot read the test windows")
        return super().transform(X)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_failing_transform_is_raised_whatever_the_jobs(split, n_jobs):
    X_train, y_train, X_test, y_test = split
    with pytest.raises(RuntimeError, match="cannot read the test windows"):
        evaluate_label_efficiency({"power": LogPower(), "failing": FailingOnTestWindows()}, X_train, y_train,
                                  X_test, y_test, fractions=1.0, n_jobs=n_jobs)


@pytest.mark.parametrize("n_jobs, error, word", [
    (0, ValueError, "n_jobs"), (-1, ValueError, "n_jobs"), (1.5, ValueError, "n_jobs"), ("2", ValueError, "n_jobs"),
    (True, ValueError, "n_jobs"), (None, ValueError, "n_jobs"),
])
def test_evaluate_bad_n_jobs(split, n_jobs, error, word):
    X_train, y_train, X_test, y_test = split
    with pytest.raises(error, match=word):
        evaluate_label_efficiency({"power": LogPower()}, X_train, y_train, X_test, y_test, fractions=1.0,
                                  n_jobs=n_jobs)


class InterruptedOnTestWindows(CountingExtractor):
    def transform(self, X):
        if len(X) == 40:
            raise KeyboardInterrupt
        return super().transform(X)


def test_ctrl_c_in_a_transform_stops_the_evaluation(split):
    X_train, y_train, X_test, y_test = split
    CountingExtractor.fits = []
    with pytest.raises(KeyboardInterrupt):
        evaluate_label_efficiency({"interrupted": InterruptedOnTestWindows(), "next": CountingExtractor()}, X_train,
                                  y_train, X_test, y_test, fractions=1.0)
    assert CountingExtractor.fits == ["no seed"]  # stopped there: the next extractor was never fitted
