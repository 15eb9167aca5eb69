"""Choosing the augmentations by the probe's grouped CV, the user's GridSearchCV path, and SeqCLR joined with band
powers through FeatureUnion."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import FeatureUnion, Pipeline

from conftest import TINY
from skseqclr import SeqCLRTransformer
from skseqclr.datasets import make_synthetic_eeg
from skseqclr.evaluation import (AUGMENTATION_CANDIDATES, AugmentationChoice, augmentations_by_cv_rows,
                                 select_augmentations)
from skseqclr.evaluation.baselines import FIVE_BANDS, LogVarianceBandPower
from skseqclr.evaluation.normalization import GroupStandardScaler, standardize_per_group
from skseqclr.evaluation.probe import LinearProbe, probe_cv_score

SFREQ = 128.0
#: A probe with a short search of C, to keep the tests fast.
PROBE = LinearProbe(Cs=(0.01, 1.0), n_splits=3)


@pytest.fixture(scope="module")
def labelled():
    X, y = make_synthetic_eeg(n_windows=24, n_channels=3, n_times=128, sfreq=SFREQ, random_state=0)
    return X, y, np.repeat(np.arange(6), 4)


def _seqclr(**params):
    return SeqCLRTransformer(**TINY, sfreq=SFREQ, batch_size=8, max_steps=2, random_state=0, **params)


def _score(features, y, groups):
    return probe_cv_score(clone(PROBE).fit(features, y, groups=groups))


class BandPowerPlusNoise(TransformerMixin, BaseEstimator):
    """Log alpha and beta power of each channel (what tells the synthetic classes apart) plus Gaussian noise of
    standard deviation ``noise``: the larger, the worse the features."""

    def __init__(self, noise=0.0, random_state=0):
        self.noise = noise
        self.random_state = random_state

    def fit(self, X, y=None, groups=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        spectrum = np.abs(np.fft.rfft(np.asarray(X, dtype=float), axis=-1)) ** 2
        frequencies = np.fft.rfftfreq(np.shape(X)[-1], 1 / SFREQ)
        power = np.log(np.concatenate([spectrum[..., (frequencies >= low) & (frequencies <= high)].sum(-1)
                                       for low, high in ((8, 12), (18, 22))], axis=-1))
        return power + self.noise * np.random.default_rng(self.random_state).standard_normal(power.shape)


# ----------------------------------------------------------------------------------------------- candidates
def test_candidates_are_a_few_valid_sets_of_transformer_parameters():
    assert 3 <= len(AUGMENTATION_CANDIDATES) <= 5
    assert next(iter(AUGMENTATION_CANDIDATES)) == "default" and AUGMENTATION_CANDIDATES["default"] == {}
    default = SeqCLRTransformer()
    known = default.get_params()
    ranges = []
    for name, params in AUGMENTATION_CANDIDATES.items():
        assert set(params) <= known.keys(), name
        candidate = clone(default).set_params(**params)
        candidate.validate()  # every value is one the transformer accepts
        ranges.append(candidate._augmentation_ranges())
    # each candidate pretrains with a different set of augmentations
    assert len({repr(sorted(r.items())) for r in ranges}) == len(ranges)
    timing = AUGMENTATION_CANDIDATES["blind_to_timing"]  # offsets and noise level stay visible
    assert timing["dc_shift"] is None and timing["gaussian_noise"] is None and timing["time_shift"] is not None


# ---------------------------------------------------------------------------------------------- selection
@pytest.mark.slow
def test_every_candidate_is_pretrained_and_scored_by_the_grouped_probe(labelled):
    X, y, groups = labelled
    seqclr = _seqclr()
    choice = select_augmentations(seqclr, X, y, groups=groups, probe=PROBE)
    assert isinstance(choice, AugmentationChoice)
    assert list(choice.scores) == list(AUGMENTATION_CANDIDATES)  # in the order given
    features = {name: clone(seqclr).set_params(**params).fit(X).transform(X)
                for name, params in AUGMENTATION_CANDIDATES.items()}
    expected = {name: _score(features[name], y, groups) for name in features}
    assert choice.scores == pytest.approx(expected)
    best = max(expected.values())
    assert choice.name == next(name for name, score in expected.items() if score >= best - 1e-12)
    assert choice.params == AUGMENTATION_CANDIDATES[choice.name]
    chosen = choice.transformer
    assert {key: chosen.get_params()[key] for key in choice.params} == choice.params
    np.testing.assert_array_equal(chosen.transform(X), features[choice.name])
    assert not hasattr(seqclr, "encoder_")  # the recipe given is cloned, never fitted


@pytest.mark.slow
def test_group_normalization_scores_features_standardised_per_subject(labelled):
    X, y, groups = labelled
    seqclr = _seqclr()
    candidates = {"default": {}, "offsets_visible": {"dc_shift": None}}
    choice = select_augmentations(seqclr, X, y, groups=groups, candidates=candidates, normalization="group",
                                  probe=PROBE)
    features = clone(seqclr).set_params(dc_shift=None).fit(X).transform(X)
    assert choice.scores["offsets_visible"] == pytest.approx(
        _score(standardize_per_group(features, groups), y, groups))
    assert choice.scores != select_augmentations(seqclr, X, y, groups=groups, candidates=candidates,
                                                    probe=PROBE).scores


@pytest.mark.parametrize("candidates, best", [
    ({"noisy": {"noise": 30.0}, "clean": {"noise": 0.0}}, "clean"),  # the crafted worse one loses, listed first
    ({"clean": {"noise": 0.0}, "noisy": {"noise": 30.0}}, "clean"),
    ({"first": {}, "same": {"random_state": 0}}, "first"),  # identical features: the tie goes to the earlier
    ({"same": {"random_state": 0}, "first": {}}, "same"),
])
def test_selection_follows_the_scores(labelled, candidates, best):
    X, y, groups = labelled
    choice = select_augmentations(BandPowerPlusNoise(), X, y, groups=groups, candidates=candidates, probe=PROBE)
    assert choice.name == best and choice.params == candidates[best]
    assert choice.transformer.get_params()["noise"] == candidates[best].get("noise", 0.0)
    if "noisy" in candidates:
        assert choice.scores["clean"] > choice.scores["noisy"] + 0.1


@pytest.mark.parametrize("scores, best", [((0.5, 0.8, 0.6), "b"), ((0.5, 0.6, 0.8), "c"), ((0.7, 0.6, 0.7), "a"),
                                          ((None, 0.6, 0.6), "b")])
def test_the_best_scored_candidate_is_returned_fitted(labelled, monkeypatch, scores, best):
    import skseqclr.evaluation.augmentation_selection as selection

    X, y, groups = labelled
    given, real = iter(scores), selection.probe_cv_score
    # the 1-column placeholder is the check before pretraining; candidates' features have 6 columns
    monkeypatch.setattr(selection, "probe_cv_score", lambda probe: real(probe) if probe.n_features_in_ == 1
                        else next(given))
    candidates = {"a": {"noise": 1.0}, "b": {"noise": 2.0}, "c": {"noise": 3.0}}
    choice = select_augmentations(BandPowerPlusNoise(), X, y, groups=groups, candidates=candidates, probe=PROBE)
    assert choice.scores == dict(zip("abc", scores)) and choice.name == best
    assert choice.transformer.noise == candidates[best]["noise"] and choice.transformer.fitted_


def test_a_list_of_names_picks_among_the_package_candidates(labelled, monkeypatch):
    X, y, groups = labelled
    fitted = []
    monkeypatch.setattr(SeqCLRTransformer, "fit", lambda self, X, y=None, groups=None: fitted.append(self) or self)
    monkeypatch.setattr(SeqCLRTransformer, "transform", lambda self, X: np.log(np.mean(X ** 2, axis=-1)))
    choice = select_augmentations(_seqclr(), X, y, groups=groups, candidates=["blind_to_timing", "default"],
                                  probe=PROBE)
    assert list(choice.scores) == ["blind_to_timing", "default"]
    assert choice.name == "blind_to_timing"  # identical features: a tie, the earlier wins
    assert fitted[0].dc_shift is None and fitted[1].dc_shift == SeqCLRTransformer().dc_shift


def _one_of_class_1(y):
    y = np.zeros_like(y)
    y[0] = 1
    return y


# (changes to the call, the exception, a word of the message); none may pretrain
HOSTILE = [
    (dict(candidates={}), ValueError, "empty"),
    (dict(candidates={"typo": {"amplitude_scales": (0.5, 2.0)}}), ValueError, "unknown parameter"),
    (dict(candidates={"bad": {"amplitude_scale": (2.0, 1.0)}}), ValueError, "Candidate 'bad'"),
    (dict(candidates={"bad": {"time_shift": "sometimes"}}), ValueError, "time_shift"),
    (dict(candidates={"pairs": [("dc_shift", None)]}), TypeError, "dict"),
    (dict(candidates={1: {}}), TypeError, "names"),
    (dict(candidates="default"), TypeError, "string"),
    (dict(candidates=5), TypeError, "candidates"),
    (dict(candidates=["defualt"]), ValueError, "Unknown candidate"),
    (dict(candidates=["default", "default"]), ValueError, "more than once"),
    (dict(seqclr="conv"), TypeError, "SeqCLRTransformer"),
    (dict(y=np.zeros(24, dtype=int)), ValueError, "1 class"),
    (dict(X=np.zeros((0, 3, 128), dtype=np.float32), y=np.zeros(0, dtype=int)), ValueError, "0 class"),
    (dict(y=np.tile([0, 1], 12)[:-1]), ValueError, "23 labels"),
    (dict(y=np.tile([0, 1], 12)[:, None]), ValueError, "1-D"),
    (dict(y=np.linspace(0, 1, 24)), ValueError, "continuous"),
    (dict(y=_one_of_class_1(np.zeros(24, dtype=int))), ValueError, "could not cross-validate"),
    (dict(groups=np.arange(23)), ValueError, "one entry per label"),
    (dict(groups=np.arange(24)[:, None]), ValueError, "one entry per label"),
    (dict(normalization="subject"), ValueError, "normalization"),
    (dict(normalization="group", groups=None), ValueError, "needs the group"),
    (dict(normalization="group", groups=np.arange(24)), ValueError, "min_group_size"),
    (dict(probe=LinearProbe(C=1.0)), ValueError, "cross-validation"),
]


@pytest.mark.parametrize("change, error, word", HOSTILE)
def test_bad_input_is_refused_before_any_pretraining(labelled, monkeypatch, change, error, word):
    X, y, groups = labelled

    def no_pretraining(self, *args, **kwargs):
        raise AssertionError("pretrained before the input was checked")

    monkeypatch.setattr(SeqCLRTransformer, "fit", no_pretraining)
    call = {"seqclr": _seqclr(), "X": X, "y": y, "groups": groups, "candidates": ["default", "blind_to_gain"],
            "probe": PROBE, **change}
    seqclr, X, y = call.pop("seqclr"), call.pop("X"), call.pop("y")
    with pytest.raises(error, match=word):
        select_augmentations(seqclr, X, y, **call)


# -------------------------------------------------------------------------------------------- derived rows
METHOD = "SeqCLR, augmentations by CV"
CANDIDATES = ["SeqCLR pretrained", "SeqCLR [blind_to_gain]", "SeqCLR [blind_to_timing]"]


def _row(method, cv, accuracy, normalization="none", fraction=0.1, seed=0, **extra):
    return {"method": method, "normalization": normalization, "fraction": fraction, "seed": seed, "n_labels": 10,
            "n_label_draws": len(cv), "probe_cv_score_draws": cv, "balanced_accuracy_draws": accuracy,
            "balanced_accuracy": float(np.mean(accuracy)), "fit_time_s": 5.0, "transform_time_s": 1.0,
            "probe_time_s": 0.5, "probe_C": 1.0, "n_steps": 100, **extra}


def test_augmentations_by_cv_pick_each_draws_best_cross_validated_candidate():
    rows = [_row(CANDIDATES[0], [0.60, 0.70, None, 0.5], [0.61, 0.71, 0.81, 0.91]),
            _row(CANDIDATES[1], [0.65, 0.70, None, None], [0.62, 0.72, 0.82, 0.92]),
            _row(CANDIDATES[2], [0.64, 0.69, None, 0.55], [0.63, 0.73, 0.83, 0.93]),
            _row("SeqCLR untrained", [0.99] * 4, [0.99] * 4),  # not a candidate
            _row("log-variance 5 bands", [0.99] * 4, [0.99] * 4),
            _row(CANDIDATES[0], [0.5], [0.55], normalization="group"),
            _row(CANDIDATES[1], [0.6], [0.66], normalization="group"),
            _row(CANDIDATES[2], [0.4], [0.44], normalization="group")]
    chosen = {row["normalization"]: row for row in augmentations_by_cv_rows(rows, CANDIDATES)}
    # draw 0: the second cross-validates best; draw 1: a tie goes to the earlier; draw 2: no scores, the first;
    # draw 3: the best of those scored
    assert chosen["none"]["chosen"] == [CANDIDATES[1], CANDIDATES[0], CANDIDATES[0], CANDIDATES[2]]
    assert chosen["none"]["balanced_accuracy_draws"] == [0.62, 0.71, 0.81, 0.93]
    assert chosen["none"]["probe_cv_score_draws"] == [0.65, 0.70, None, 0.55]
    assert chosen["none"]["balanced_accuracy"] == pytest.approx(np.mean([0.62, 0.71, 0.81, 0.93]))
    assert chosen["none"]["method"] == METHOD and "probe_C" not in chosen["none"]
    assert chosen["none"]["fit_time_s"] == 15.0 and chosen["none"]["probe_time_s"] == 1.5  # every candidate ran
    assert chosen["group"]["chosen"] == [CANDIDATES[1]] and chosen["group"]["balanced_accuracy"] == 0.66
    assert {row["method"] for row in augmentations_by_cv_rows(rows, CANDIDATES, method="mine")} == {"mine"}
    assert augmentations_by_cv_rows(rows[3:5], CANDIDATES) == []  # no candidate rows: nothing to choose


def test_augmentations_by_cv_choose_within_each_task_fold_and_seed():
    rows = []
    for task, fold, seed, winner in [("eegmat", None, 0, 0), ("eegmat", None, 1, 1), ("mi", 0, 0, 2),
                                     ("mi", 1, 0, 1)]:
        for index, name in enumerate(CANDIDATES):
            extra = {"task": task} if fold is None else {"task": task, "fold": fold}
            rows.append(_row(name, [0.9 if index == winner else 0.5], [0.1 * (index + 1)], seed=seed, **extra))
    chosen = {(row["task"], row.get("fold"), row["seed"]): row for row in augmentations_by_cv_rows(rows, CANDIDATES)}
    assert {key: row["chosen"] for key, row in chosen.items()} == {
        ("eegmat", None, 0): [CANDIDATES[0]], ("eegmat", None, 1): [CANDIDATES[1]],
        ("mi", 0, 0): [CANDIDATES[2]], ("mi", 1, 0): [CANDIDATES[1]]}
    assert chosen[("mi", 0, 0)]["balanced_accuracy"] == pytest.approx(0.3)
    assert chosen[("mi", 1, 0)]["fold"] == 1


ROWS_HOSTILE = [
    ([_row(CANDIDATES[0], [0.5], [0.5]), _row(CANDIDATES[1], [0.5], [0.5])], CANDIDATES, ValueError,
     "No rows of"),
    ([_row(CANDIDATES[0], [0.5], [0.5]), _row(CANDIDATES[0], [0.6], [0.6])], CANDIDATES[:1], ValueError,
     "Two rows"),
    ([_row(CANDIDATES[0], [0.5], [0.5]), _row(CANDIDATES[1], [0.5, 0.6], [0.5, 0.6])], CANDIDATES[:2],
     ValueError, "numbers of label draws"),
    ([{key: value for key, value in _row(CANDIDATES[0], [0.5], [0.5]).items() if key != "probe_cv_score_draws"}],
     CANDIDATES[:1], ValueError, "probe_cv_score_draws"),
    ([], "SeqCLR pretrained", TypeError, "string"),
    ([], [], ValueError, "non-empty"),
    ([], [CANDIDATES[0], CANDIDATES[0]], ValueError, "more than once"),
    ([], [CANDIDATES[0], 3], ValueError, "method names"),
]


@pytest.mark.parametrize("rows, candidates, error, word", ROWS_HOSTILE)
def test_augmentations_by_cv_rows_refuse_inconsistent_rows(rows, candidates, error, word):
    with pytest.raises(error, match=word):
        augmentations_by_cv_rows(rows, candidates)


# ------------------------------------------------------------------------------- the user's own pipelines
@pytest.mark.slow
@pytest.mark.parametrize("routing", [False, True])
def test_grid_search_over_augmentations_with_grouped_folds(labelled, routing):
    X, y, groups = labelled
    with sklearn.config_context(enable_metadata_routing=routing):
        # with routing on, the probe also gets the subjects, for its own grouped choice of C
        probe = (LinearProbe(Cs=(0.01, 1.0), n_splits=2).set_fit_request(groups=True) if routing
                 else LogisticRegression())
        pipe = Pipeline([("seqclr", _seqclr()), ("probe", probe)])
        grid = {"seqclr__time_shift": [(-2, 2), "auto"], "seqclr__dc_shift": [None]}
        search = GridSearchCV(pipe, grid, cv=GroupKFold(2), scoring="balanced_accuracy")
        search.fit(X, y, groups=groups)  # GroupKFold refuses to split without the groups
    assert len(search.cv_results_["params"]) == 2 and search.n_splits_ == 2
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_params_ in search.cv_results_["params"]
    best = search.best_estimator_.named_steps["seqclr"]
    assert best.time_shift == search.best_params_["seqclr__time_shift"] and best.n_steps_ == 2
    assert search.predict(X).shape == y.shape


@pytest.mark.slow
def test_seqclr_joined_with_band_powers_by_feature_union(labelled):
    X, y, groups = labelled
    union = FeatureUnion([("seqclr", _seqclr()), ("bands", LogVarianceBandPower(bands=FIVE_BANDS, sfreq=SFREQ))])
    joined = union.fit_transform(X)
    seqclr = _seqclr().fit(X).transform(X)
    bands = LogVarianceBandPower(bands=FIVE_BANDS, sfreq=SFREQ).fit_transform(X)
    assert joined.shape == (len(X), seqclr.shape[1] + 3 * len(FIVE_BANDS))
    np.testing.assert_allclose(joined, np.hstack([seqclr, bands]), rtol=1e-6)
    np.testing.assert_allclose(union.transform(X), joined, rtol=1e-6)
    names = union.get_feature_names_out()
    assert len(names) == joined.shape[1] and names[0].startswith("seqclr__") and names[-1].startswith("bands__")

    pipe = Pipeline([("features", clone(union)), ("probe", LogisticRegression(max_iter=1000))]).fit(X, y)
    assert pipe.predict(X).shape == y.shape

    # per-subject standardisation of the joined features, with the subjects routed to the scaler and the probe
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([
            ("features", clone(union)),
            ("scale", GroupStandardScaler().set_fit_request(groups=True).set_transform_request(groups=True)),
            ("probe", LinearProbe(Cs=(0.01, 1.0), n_splits=2).set_fit_request(groups=True)),
        ]).fit(X, y, groups=groups)
        predicted = pipe.predict(X, groups=groups)
    assert predicted.shape == y.shape
    scaled = pipe.named_steps["scale"].transform(pipe.named_steps["features"].transform(X), groups=groups)
    np.testing.assert_allclose(scaled, standardize_per_group(joined, groups), rtol=1e-5, atol=1e-8)


@pytest.mark.slow
def test_select_augmentations_of_seqclr_joined_with_band_powers(labelled):
    X, y, groups = labelled
    union = FeatureUnion([("seqclr", _seqclr()), ("bands", LogVarianceBandPower(bands=FIVE_BANDS, sfreq=SFREQ))])
    candidates = {"default": {}, "blind_to_gain": {"seqclr__amplitude_scale": (0.5, 2.0)}}
    choice = select_augmentations(union, X, y, groups=groups, candidates=candidates, probe=PROBE)
    expected = {name: _score(clone(union).set_params(**params).fit(X).transform(X), y, groups)
                for name, params in candidates.items()}
    assert choice.scores == pytest.approx(expected)
    assert choice.transformer.transform(X).shape[1] == _seqclr().fit(X).transform(X).shape[1] + 3 * len(FIVE_BANDS)
    with pytest.raises(ValueError, match="did you mean 'seqclr__amplitude_scale'"):
        select_augmentations(union, X, y, groups=groups, candidates={"typo": {"seqclr__amplitude_scales": None}})
