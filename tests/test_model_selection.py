"""select_pretraining_length: the pretraining length chosen by the probe's grouped CV on labelled training windows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from conftest import TINY
from skseqclr import SeqCLRTransformer
from skseqclr.evaluation.probe import LinearProbe, probe_cv_score
from skseqclr.evaluation.protocol import evaluate_label_efficiency
from skseqclr.evaluation.model_selection import choose_step, length_by_cv_rows, select_pretraining_length
from skseqclr.evaluation.normalization import standardize_per_group


@pytest.fixture(scope="module")
def labelled():
    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 12)
    subjects = np.repeat(np.arange(6), 4)
    # class 1 has more power, and each subject its own gain: something for the probe to find
    gain = np.where(y == 1, 1.6, 1.0) * (1.0 + 0.3 * subjects)
    X = (20.0 * gain[:, None, None] * rng.standard_normal((24, 3, 256))).astype(np.float32)
    return X, y, subjects


@pytest.fixture(scope="module")
def seqclr(labelled):
    return SeqCLRTransformer(**TINY, sfreq=128, batch_size=8, max_steps=4, random_state=0).fit(
        labelled[0], snapshot_steps=[1, 2])


def _score(features, y, subjects):
    return probe_cv_score(LinearProbe().fit(features, y, groups=subjects))


def test_choose_step_prefers_the_best_then_the_fewest_steps():
    assert choose_step({100: 0.6, 200: 0.7, 300: 0.65}) == 200
    assert choose_step({100: 0.6, 200: 0.7, 300: 0.7}) == 200
    assert choose_step({100: None, 200: 0.5, 300: None}) == 200
    assert choose_step({100: None, 300: None}) == 300  # nothing to go by: the run as it ended
    with pytest.raises(ValueError, match="No candidate"):
        choose_step({})


def test_probe_cv_score_is_the_best_candidates_grouped_cv_score(labelled):
    X, y, subjects = labelled
    features = np.log(np.mean(X ** 2, axis=-1))
    probe = LinearProbe().fit(features, y, groups=subjects)
    assert probe_cv_score(probe) == max(probe.cv_scores_.values())
    assert probe_cv_score(LinearProbe(C=1.0).fit(features, y)) is None
    with pytest.raises(NotFittedError):
        probe_cv_score(LinearProbe())


@pytest.mark.slow
def test_every_snapshot_and_the_final_network_are_scored_by_the_grouped_probe(seqclr, labelled):
    X, y, subjects = labelled
    choice = select_pretraining_length(seqclr, X, y, groups=subjects)
    assert sorted(choice.scores) == [1, 2, 4]
    expected = {step: _score((seqclr if step == 4 else seqclr.at_step(step)).transform(X), y, subjects)
                for step in (1, 2, 4)}
    assert choice.scores == pytest.approx(expected)
    assert choice.step == choose_step(expected)
    assert seqclr.n_steps_ == 4 and sorted(seqclr.snapshots_) == [1, 2]  # left as it was


@pytest.mark.parametrize("scores, best", [((0.5, 0.8, 0.6), 2), ((0.5, 0.6, 0.8), 4), ((0.9, 0.6, 0.9), 1)])
@pytest.mark.slow
def test_the_best_scored_length_is_returned_fitted(seqclr, labelled, monkeypatch, scores, best):
    import skseqclr.evaluation.model_selection as model_selection

    X, y, subjects = labelled
    given = iter(scores)  # candidates are scored in order of steps: 1, 2, then the final 4
    monkeypatch.setattr(model_selection, "probe_cv_score", lambda probe: next(given))
    choice = select_pretraining_length(seqclr, X, y, groups=subjects)
    assert choice.scores == dict(zip([1, 2, 4], scores)) and choice.step == best
    assert choice.transformer.n_steps_ == best
    reference = seqclr if best == 4 else seqclr.at_step(best)
    np.testing.assert_array_equal(choice.transformer.transform(X), reference.transform(X))
    if best != 4:
        assert not np.allclose(choice.transformer.transform(X), seqclr.transform(X))


@pytest.mark.slow
def test_step_0_puts_the_untrained_encoder_among_the_candidates(labelled):
    X, y, subjects = labelled
    params = dict(**TINY, sfreq=128, batch_size=8, random_state=0)
    seqclr = SeqCLRTransformer(**params, max_steps=2).fit(X, snapshot_steps=[0])
    choice = select_pretraining_length(seqclr, X, y, groups=subjects)
    untrained = SeqCLRTransformer(**params, n_epochs=0).fit(X)
    assert sorted(choice.scores) == [0, 2]
    assert choice.scores[0] == pytest.approx(_score(untrained.transform(X), y, subjects))


@pytest.mark.slow
def test_group_normalization_scores_features_standardised_per_subject(seqclr, labelled):
    X, y, subjects = labelled
    choice = select_pretraining_length(seqclr, X, y, groups=subjects, normalization="group")
    assert choice.scores[2] == pytest.approx(
        _score(standardize_per_group(seqclr.at_step(2).transform(X), subjects), y, subjects))
    assert choice.scores != select_pretraining_length(seqclr, X, y, groups=subjects).scores


def test_select_pretraining_length_errors(tiny, seqclr, labelled):
    X, y, subjects = labelled
    with pytest.raises(NotFittedError):
        select_pretraining_length(SeqCLRTransformer(**tiny), X, y)
    plain = SeqCLRTransformer(**tiny, sfreq=128, batch_size=8, max_steps=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="no snapshots to choose from: fit it with snapshot_steps"):
        select_pretraining_length(plain, X, y, groups=subjects)
    with pytest.raises(ValueError, match='normalization="group" needs the group'):
        select_pretraining_length(seqclr, X, y, normalization="group")
    with pytest.raises(ValueError, match="normalization must be"):
        select_pretraining_length(seqclr, X, y, normalization="subject")
    with pytest.raises(ValueError, match="probe must choose its C by cross-validation"):
        select_pretraining_length(seqclr, X, y, probe=LinearProbe(C=1.0))
    with pytest.raises(ValueError, match="X has 24 windows but y has 23 labels"):
        select_pretraining_length(seqclr, X, y[:-1])
    with pytest.raises(ValueError, match=r"groups must have one entry per label \(24\), got shape \(23,\)"):
        select_pretraining_length(seqclr, X, y, groups=subjects[:-1])
    with pytest.raises(ValueError, match=r"got shape \(24, 1\)"):  # one column is not one entry per label
        select_pretraining_length(seqclr, X, y, groups=subjects[:, None])
    one_of_class_1 = np.zeros_like(y)
    one_of_class_1[0] = 1
    with pytest.raises(ValueError, match="could not cross-validate"):
        select_pretraining_length(seqclr, X, one_of_class_1, groups=subjects)


@pytest.mark.slow
def test_label_efficiency_rows_carry_each_draws_cv_score(labelled):
    X, y, subjects = labelled
    from skseqclr.evaluation.baselines import LogPower

    rows = evaluate_label_efficiency({"log-power": LogPower()}, X[:18], y[:18], X[18:], y[18:], fractions=[1.0, 0.5],
                                     groups_train=subjects[:18], label_draws=3)
    for row in rows:
        assert len(row["probe_cv_score_draws"]) == row["n_label_draws"]
    full = next(row for row in rows if row["fraction"] == 1.0)
    features = LogPower().fit(X[:18]).transform(X[:18])
    assert full["probe_cv_score_draws"][0] == pytest.approx(_score(features, y[:18], subjects[:18]))


BY_CV = "SeqCLR pretrained, length by CV"
ON_ALL_LABELS = "SeqCLR pretrained, length by CV on all labels"


def _row(method, n_steps, cv, accuracy, normalization="none", fraction=0.1, seed=0):
    return {"method": method, "n_steps": n_steps, "normalization": normalization, "fraction": fraction, "seed": seed,
            "n_labels": 10, "n_label_draws": len(cv), "probe_cv_score_draws": cv, "balanced_accuracy_draws": accuracy,
            "balanced_accuracy": float(np.mean(accuracy)), "fit_time_s": 5.0, "transform_time_s": 1.0,
            "probe_time_s": 0.5}


def test_length_by_cv_picks_each_subsets_best_cross_validated_length():
    rows = [_row("SeqCLR pretrained", 300, [0.60, 0.70, None], [0.61, 0.71, 0.81]),
            _row("SeqCLR pretrained @100", 100, [0.65, 0.70, None], [0.62, 0.72, 0.82]),
            _row("SeqCLR pretrained @200", 200, [0.64, 0.69, None], [0.63, 0.73, 0.83]),
            _row("SeqCLR untrained", 0, [0.99, 0.99, 0.99], [0.99, 0.99, 0.99]),  # the control is no candidate
            _row("SeqCLR pretrained @0", 0, [0.99, 0.99, 0.99], [0.99, 0.99, 0.99]),  # nor its snapshot
            _row("SeqCLR pretrained", 300, [0.5], [0.55], normalization="group"),
            _row("SeqCLR pretrained @100", 100, [0.6], [0.66], normalization="group")]
    chosen = {row["normalization"]: row for row in length_by_cv_rows(rows)}
    # draw 0: @100 cross-validates best; draw 1: a tie goes to fewer steps; draw 2: no scores, the final encoder
    assert chosen["none"]["chosen_steps"] == [100, 100, 300]
    assert chosen["none"]["balanced_accuracy_draws"] == [0.62, 0.72, 0.81]
    assert chosen["none"]["balanced_accuracy"] == pytest.approx(np.mean([0.62, 0.72, 0.81]))
    assert chosen["none"]["method"] == BY_CV and chosen["none"]["n_steps"] == 300
    assert chosen["group"]["chosen_steps"] == [100] and chosen["group"]["balanced_accuracy"] == 0.66
    assert length_by_cv_rows(rows[:1] + rows[3:4]) == []  # one length: nothing to choose
    assert all(row["method"] == BY_CV for row in chosen.values())  # no fraction 1: no all-labels row


def test_length_by_cv_on_all_labels_scores_the_full_labels_choice_at_every_fraction():
    rows = [_row("SeqCLR pretrained", 300, [0.60], [0.70], fraction=1.0),
            _row("SeqCLR pretrained @100", 100, [0.50], [0.75], fraction=1.0),
            _row("SeqCLR pretrained @200", 200, [0.65], [0.72], fraction=1.0),
            _row("SeqCLR pretrained", 300, [0.60, 0.70], [0.61, 0.71]),
            _row("SeqCLR pretrained @100", 100, [0.65, 0.75], [0.62, 0.72]),
            _row("SeqCLR pretrained @200", 200, [0.50, 0.50], [0.63, 0.73])]
    chosen = {(row["method"], row["fraction"]): row for row in length_by_cv_rows(rows)}
    on_all = chosen[(ON_ALL_LABELS, 0.1)]
    assert on_all["chosen_steps"] == [200, 200] and on_all["balanced_accuracy_draws"] == [0.63, 0.73]
    assert chosen[(BY_CV, 0.1)]["chosen_steps"] == [100, 100]  # each subset's own choice
    assert chosen[(ON_ALL_LABELS, 1.0)]["balanced_accuracy"] == 0.72
    assert chosen[(BY_CV, 1.0)]["balanced_accuracy"] == 0.72


def test_length_by_cv_chooses_within_each_seed():
    rows = [_row("SeqCLR pretrained", 300, [0.60], [0.61]), _row("SeqCLR pretrained @100", 100, [0.65], [0.62]),
            _row("SeqCLR pretrained", 300, [0.70], [0.71], seed=1),
            _row("SeqCLR pretrained @100", 100, [0.55], [0.52], seed=1)]
    chosen = {row["seed"]: row for row in length_by_cv_rows(rows)}
    assert chosen[0]["chosen_steps"] == [100] and chosen[1]["chosen_steps"] == [300]
    assert chosen[1]["balanced_accuracy"] == 0.71
    renamed = [{**row, "method": row["method"].replace("SeqCLR pretrained", "mine")} for row in rows]
    assert {row["method"] for row in length_by_cv_rows(renamed, method="mine")} == {"mine, length by CV"}
    assert length_by_cv_rows(renamed) == []  # other methods' rows are not candidates


@pytest.mark.slow
def test_evaluate_label_efficiency_scores_each_snapshot_on_the_same_subsets(labelled, seqclr):
    X, y, subjects = labelled
    probe = LinearProbe(n_splits=3)
    rows = evaluate_label_efficiency({"SeqCLR": seqclr}, X, y, X, y, fractions=[1.0, 0.5], seeds=[0], probe=probe,
                                     groups_train=subjects, groups_test=subjects, label_draws=2, snapshots=True)
    by_name = {(row["method"], row["fraction"]): row for row in rows}
    assert sorted({row["method"] for row in rows}) == ["SeqCLR", "SeqCLR @1", "SeqCLR @2"]
    assert [by_name[(f"SeqCLR @{step}", 1.0)]["n_steps"] for step in (1, 2)] == [1, 2]
    alone = evaluate_label_efficiency({"SeqCLR @1": seqclr.at_step(1)}, X, y, X, y, fractions=[1.0, 0.5], seeds=[0],
                                      probe=probe, groups_train=subjects, groups_test=subjects, label_draws=2)
    for row in alone:  # the snapshot's rows are the snapshot's own features, probed on the same subsets
        assert by_name[(row["method"], row["fraction"])]["balanced_accuracy_draws"] == row["balanced_accuracy_draws"]
        assert by_name[(row["method"], row["fraction"])]["probe_cv_score_draws"] == row["probe_cv_score_draws"]
    assert {row["method"] for row in evaluate_label_efficiency(
        {"SeqCLR": seqclr}, X, y, X, y, fractions=[1.0], probe=probe, groups_train=subjects)} == {"SeqCLR"}
    chosen = length_by_cv_rows(rows, method="SeqCLR")
    assert {row["method"] for row in chosen} == {"SeqCLR, length by CV", "SeqCLR, length by CV on all labels"}
