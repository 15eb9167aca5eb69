"""The multi-task suite (skseqclr.evaluation.suite, ``skseqclr suite``) and the protocol features it relies on."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler

from skseqclr.evaluation.protocol import evaluate_label_efficiency

# ------------------------------------------------------------------ protocol: X_pretrain, nested random_state

#: (windows fitted on, random_state) of every Recorder.fit, in call order.
FITS = []


class Recorder(TransformerMixin, BaseEstimator):
    """Records what it is fitted on; features: each window's per-channel mean and variance."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y=None):
        FITS.append((len(X), self.random_state))
        self.n_windows_fit_ = len(X)
        return self

    def transform(self, X):
        X = np.asarray(X)
        return np.concatenate([X.mean(axis=2), X.var(axis=2)], axis=1)


class Deterministic(TransformerMixin, BaseEstimator):
    """No random_state anywhere: fitted once for all seeds."""

    def fit(self, X, y=None):
        FITS.append((len(X), "deterministic"))
        self.fitted_ = True
        return self

    def transform(self, X):
        return np.asarray(X).mean(axis=2)


def _windows(n, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 2, 16)) + y[:, None, None]
    return X.astype(np.float32), y


@pytest.fixture
def fits():
    FITS.clear()
    yield FITS
    FITS.clear()


def _evaluate(extractors, **kwargs):
    X_train, y_train = _windows(24)
    X_test, y_test = _windows(12, seed=1)
    return evaluate_label_efficiency(extractors, X_train, y_train, X_test, y_test, fractions=(1.0,),
                                     probe=LogisticRegression(), **kwargs)


def test_extractors_are_fitted_on_x_pretrain(fits):
    X_pretrain, _ = _windows(37, seed=2)
    rows = _evaluate({"recorder": Recorder(), "deterministic": Deterministic()}, seeds=(0, 1), X_pretrain=X_pretrain)
    assert fits == [(37, 0), (37, 1), (37, "deterministic")]
    assert len(rows) == 4 and all(0 <= r["balanced_accuracy"] <= 1 for r in rows)


def test_without_x_pretrain_extractors_are_fitted_on_x_train(fits):
    _evaluate({"recorder": Recorder()}, seeds=(0,))
    assert fits == [(24, 0)]


@pytest.mark.parametrize("make", [
    lambda: FeatureUnion([("a", Recorder()), ("b", Recorder(random_state=7))]),
    lambda: Pipeline([("union", FeatureUnion([("a", Recorder()), ("b", Recorder())])), ("scale", StandardScaler())]),
], ids=["FeatureUnion", "Pipeline"])
def test_nested_random_states_are_seeded_per_seed(fits, make):
    rows = _evaluate({"nested": make()}, seeds=(3, 4))
    # fitted once per seed, every nested random_state set to the seed (not once for all seeds with None/7)
    assert fits == [(24, 3), (24, 3), (24, 4), (24, 4)]
    assert sorted(r["seed"] for r in rows) == [3, 4]


@pytest.mark.parametrize("kwargs, word", [
    ({"groups_pretrain": np.zeros(24)}, "X_pretrain"),
    ({"X_pretrain": np.zeros((10, 2, 16)), "groups_pretrain": np.zeros(9)}, "groups_pretrain"),
])
def test_bad_pretraining_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        _evaluate({"recorder": Recorder()}, **kwargs)


# ------------------------------------------------------------------ the suite on tiny synthetic tasks

import json  # noqa: E402
import re  # noqa: E402

from skseqclr.datasets import make_synthetic_task  # noqa: E402
from skseqclr.evaluation.baselines import pyriemann_available  # noqa: E402
from skseqclr.evaluation.probe import LinearProbe  # noqa: E402
from skseqclr.evaluation.suite import (SUITE_TASKS, SuiteSplit, SuiteTask, load_task, run_suite,  # noqa: E402
                                       suite_summary, suite_table)

#: A recipe that pretrains in a fraction of a second (and a probe below that cross-validates one value of C).
TINY_RECIPE = {"model_size": "small", "max_steps": 1, "batch_size": 8}
CANDIDATES = ["default", "blind_to_gain"]
SEQCLR_METHODS = ["SeqCLR pretrained", "SeqCLR untrained", "SeqCLR [blind_to_gain]", "SeqCLR, augmentations by CV",
                  "SeqCLR + 5 bands", "SeqCLR untrained + 5 bands"]
CONTROLS = ["log-power, channel-referenced", "log-variance 5 bands", "log-variance 5 bands, channel-referenced"] + (
    ["Riemannian tangent space"] if pyriemann_available() else [])


def _probe():
    return LinearProbe(Cs=(1.0,), n_splits=2)


def tiny_task(kind, n_folds=1):
    """A suite task of 3 subjects x 8 windows, 2 channels, 1 s at 128 Hz; fold k tests subject 2 - k."""
    X, y, groups = make_synthetic_task(kind, n_subjects=3, windows_per_subject=8, n_channels=2, n_times=128,
                                       random_state=0)
    splits = []
    for fold in range(n_folds):
        test = groups == 2 - fold
        splits.append(SuiteSplit(f"test subject {2 - fold}", X[~test], groups[~test], X[~test], y[~test],
                                 groups[~test], X[test], y[test], groups[test]))
    return SuiteTask(f"tiny_{kind}", f"tiny {kind}", 128.0, None, splits)


@pytest.fixture(scope="module")
def suite_rows():
    tasks = [tiny_task("amplitude", n_folds=2), tiny_task("slow_potential")]
    return run_suite(tasks, seeds=(0, 1), fractions=(1.0, 0.5), label_draws=2, candidates=CANDIDATES,
                     seqclr_params=TINY_RECIPE, probe=_probe())


def test_rows_have_every_method_task_fold_and_seed(suite_rows):
    methods = SEQCLR_METHODS + CONTROLS
    cells = {(r["task"], r["fold"], r["method"], r["normalization"], r["fraction"], r["seed"]) for r in suite_rows}
    assert len(cells) == len(suite_rows)  # one row per cell
    expected = {(task, fold, method, normalization, fraction, seed)
                for task, folds in (("tiny_amplitude", 2), ("tiny_slow_potential", 1)) for fold in range(folds)
                for method in methods for normalization in ("none", "group") for fraction in (1.0, 0.5)
                for seed in (0, 1)}
    assert cells == expected
    assert [r["method"] for r in suite_rows[:1]] == ["SeqCLR pretrained"]  # table order: SeqCLR first
    steps = {r["method"]: r["n_steps"] for r in suite_rows if r["method"].startswith("SeqCLR")}
    assert steps["SeqCLR pretrained"] == steps["SeqCLR [blind_to_gain]"] == steps["SeqCLR + 5 bands"] == 1
    assert steps["SeqCLR untrained"] == steps["SeqCLR untrained + 5 bands"] == 0
    assert all(0 <= r["balanced_accuracy"] <= 1 for r in suite_rows)


def test_joined_features_are_seqclr_and_five_bands(suite_rows):
    def n_features(method):
        return next(r["n_features"] for r in suite_rows if r["method"] == method and r["task"] == "tiny_amplitude")

    assert n_features("SeqCLR + 5 bands") == n_features("SeqCLR pretrained") + n_features("log-variance 5 bands")
    assert n_features("SeqCLR untrained + 5 bands") == (n_features("SeqCLR untrained")
                                                         + n_features("log-variance 5 bands"))


def test_augmentations_by_cv_rows_pick_a_candidate_per_draw(suite_rows):
    by_cell = {(r["task"], r["fold"], r["method"], r["normalization"], r["fraction"], r["seed"]): r for r in suite_rows}
    chosen_rows = [r for r in suite_rows if r["method"] == "SeqCLR, augmentations by CV"]
    assert chosen_rows
    for row in chosen_rows:
        assert len(row["chosen"]) == row["n_label_draws"] == len(row["balanced_accuracy_draws"])
        for draw, method in enumerate(row["chosen"]):
            assert method in ("SeqCLR pretrained", "SeqCLR [blind_to_gain]")
            source = by_cell[(row["task"], row["fold"], method, row["normalization"], row["fraction"], row["seed"])]
            assert row["balanced_accuracy_draws"][draw] == source["balanced_accuracy_draws"][draw]


def test_seeds_change_the_pretraining(suite_rows):
    def scores(seed):
        return [r["balanced_accuracy_draws"] for r in suite_rows
                if r["method"] == "SeqCLR untrained" and r["seed"] == seed and r["fraction"] == 1.0]

    assert scores(0) != scores(1)  # each seed its own initial weights (and labelled subsets)


def test_table_renders_every_task_method_and_both_settings(suite_rows):
    table = suite_table(suite_rows)
    lines = table.splitlines()
    assert "inductive" in lines[0] and "standardised per subject" in lines[0]
    assert lines[1].split()[:2] == ["task", "method"] and lines[1].split()[2:] == ["100%", "50%"] * 2
    for task in ("tiny_amplitude", "tiny_slow_potential"):
        for method in SEQCLR_METHODS + CONTROLS:
            line = next(line for line in lines if line.startswith(task) and f" {method} " in line)
            assert len(re.findall(r"0\.\d{3} ± 0\.\d{3}|1\.000 ± 0\.\d{3}", line)) == 4  # 2 fractions x 2 settings


def test_summary_is_mean_over_folds_then_over_seeds():
    rows = [{"task": "t", "fold": fold, "method": "m", "normalization": "none", "fraction": 1.0, "seed": seed,
             "balanced_accuracy": score, "n_labels": 10}
            for (fold, seed), score in {(0, 0): 0.6, (1, 0): 0.8, (0, 1): 0.9, (1, 1): 0.9}.items()]
    [cell] = suite_summary(rows)
    assert cell["mean"] == pytest.approx(0.8) and cell["std"] == pytest.approx(0.1)  # seeds 0.7 and 0.9
    assert (cell["n_seeds"], cell["n_folds"]) == (2, 2)
    assert "0.800 ± 0.100" in suite_table(rows)


def test_cli_quick_writes_json(tmp_path, monkeypatch, capsys):
    from skseqclr.cli import main
    from skseqclr.evaluation import protocol, suite

    monkeypatch.setattr(suite, "load_task", lambda name, data_dir=None: tiny_task(name.removeprefix("synthetic_")))
    monkeypatch.setattr(suite, "SUITE_SEQCLR_PARAMS", {**suite.SUITE_SEQCLR_PARAMS, "batch_size": 8})
    monkeypatch.setattr(protocol, "make_linear_probe", _probe)  # the default probe, cheaper
    output = tmp_path / "suite.json"
    argv = ["suite", "--tasks", "synthetic_amplitude", "--candidates", "default", "blind_to_gain", "--seeds", "3", "4",
            "--fractions", "1", "0.5", "--quick", "-q", "--output", str(output)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "tiny_amplitude" in printed and "SeqCLR + 5 bands" in printed
    report = json.loads(output.read_text())
    assert {"command", "argv", "tasks", "seqclr_params", "candidates", "rows", "summary", "wall_time_s",
            "versions"} <= set(report)
    assert report["command"] == "skseqclr suite" and report["argv"] == argv and report["quick"] is True
    assert report["tasks"] == {"tiny_amplitude": "tiny amplitude"}
    assert report["seqclr_params"]["max_steps"] == 2 and report["seeds"] == [3] and report["label_draws"] == 1
    assert set(report["candidates"]) == {"SeqCLR pretrained", "SeqCLR [blind_to_gain]"}
    assert {r["seed"] for r in report["rows"]} == {3} and {r["n_label_draws"] for r in report["rows"]} == {1}
    assert {r["method"] for r in report["rows"]} == set(SEQCLR_METHODS + CONTROLS)



def _report(seed, task="t", **settings):
    """A report as ``skseqclr suite --output`` writes it, with two rows of one task and seed."""
    rows = [{"task": task, "fold": 0, "method": "m", "normalization": "none", "fraction": 1.0, "seed": seed,
             "balanced_accuracy": 0.5 + seed / 10, "n_labels": 10, "n_label_draws": 1},
            {"task": task, "fold": 1, "method": "m", "normalization": "none", "fraction": 1.0, "seed": seed,
             "balanced_accuracy": 0.7 + seed / 10, "n_labels": 10, "n_label_draws": 1}]
    return {"command": "skseqclr suite", "argv": ["suite", "--seeds", str(seed)], "tasks": {task: f"task {task}"},
            "skipped": {}, "seqclr_params": {"max_steps": 25}, "candidates": {"SeqCLR pretrained": {}},
            "fractions": [1.0], "label_draws": 5, "quick": False, "seeds": [seed], "rows": rows,
            "summary": suite_summary(rows), "wall_time_s": 10.0, "versions": {}, **settings}


def test_cli_combine_joins_reports_of_parts_run_apart(tmp_path, capsys):
    from skseqclr.cli import main

    parts = []
    for seed, task in ((0, "t"), (1, "t"), (0, "u")):
        parts.append(tmp_path / f"{task}{seed}.json")
        parts[-1].write_text(json.dumps(_report(seed, task)))
    output = tmp_path / "all.json"
    assert main(["suite", "--combine", *map(str, parts), "-q", "--output", str(output)]) == 0
    assert "0.650 ± 0.050" in capsys.readouterr().out  # task t: seeds 0.6 and 0.7 (each the mean of its folds)
    report = json.loads(output.read_text())
    assert len(report["rows"]) == 6 and report["seeds"] == [0, 1] and report["wall_time_s"] == 30.0
    assert report["tasks"] == {"t": "task t", "u": "task u"} and len(report["combined_from"]) == 3
    [cell] = [c for c in report["summary"] if c["task"] == "t"]
    assert cell["n_seeds"] == 2 and cell["mean"] == pytest.approx(0.65)


@pytest.mark.parametrize("second, word", [
    (_report(0), "in both"),  # the same task and seed twice
    (_report(1, label_draws=3), "label_draws"),
    (_report(1, seqclr_params={"max_steps": 2}), "seqclr_params"),
    ({"command": "skseqclr benchmark", "rows": []}, "not a report of skseqclr suite"),
    ("not json", "not a readable JSON"),
])
def test_cli_combine_refuses_reports_that_do_not_belong_together(tmp_path, capsys, second, word):
    from skseqclr.cli import EXIT_USAGE, main

    first, other = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(_report(0)))
    other.write_text(second if isinstance(second, str) else json.dumps(second))
    assert main(["suite", "--combine", str(first), str(other)]) == EXIT_USAGE
    assert word in capsys.readouterr().err

# ------------------------------------------------------------------ bad input, missing recordings

BAD_RUN_SUITE = [  # (keyword arguments of run_suite, exception, a word of the message)
    ({"tasks": []}, ValueError, "empty"),
    ({"tasks": ["eegmatt"]}, ValueError, "did you mean 'eegmat'"),
    ({"tasks": ["synthetic_amplitude", "synthetic_amplitude"]}, ValueError, "more than once"),
    ({"tasks": [42]}, TypeError, "int"),
    ({"candidates": ["blind_to_gain", "blind_to_gain"]}, ValueError, "more than once"),
    ({"candidates": {"default": {"amplitude_scale": [0.5, 2]}}}, ValueError, "another name"),
    ({"seeds": [-1]}, ValueError, "seeds"),
    ({"seeds": []}, ValueError, "seeds"),
    ({"fractions": [0.0]}, ValueError, "fraction"),
    ({"fractions": [1.5]}, ValueError, "fraction"),
    ({"label_draws": 0}, ValueError, "label_draws"),
    ({"n_jobs": 0}, ValueError, "n_jobs"),
    ({"normalizations": ["subject"]}, ValueError, "normalizations"),
    ({"candidates": ["blind_to_everything"]}, ValueError, "blind_to_everything"),
    ({"candidates": {"mine": "amplitude_scale=2"}}, TypeError, "mine"),
    ({"candidates": {"mine": {"amplitude_scale": -2}}}, ValueError, "SeqCLR [mine]"),
    ({"seqclr_params": {"max_steps": -1}}, ValueError, "max_steps"),
    ({"seqclr_params": {"model_size": "huge"}}, ValueError, "model_size"),
    ({"candidates": {"mine": {"amplitude_scal": [0.5, 2]}}}, ValueError, "amplitude_scal"),
    ({"seqclr_params": {"random_state": 1}}, ValueError, "random_state"),
    ({"seqclr_params": {"sfreq": 256}}, ValueError, "sfreq"),
    ({"seqclr_params": {"n_epoch": 1}}, ValueError, "did you mean 'n_epochs'"),
    ({"seqclr_params": "small"}, TypeError, "seqclr_params"),
]


@pytest.mark.parametrize("kwargs, error, word", BAD_RUN_SUITE, ids=[f"{i}-{c[2]}" for i, c in enumerate(BAD_RUN_SUITE)])
def test_bad_run_suite_arguments(kwargs, error, word):
    kwargs = {"tasks": ["synthetic_amplitude"], **kwargs}
    with pytest.raises(error, match=re.escape(word)):
        run_suite(**kwargs)  # fails before any data is generated or any model pretrained


@pytest.mark.parametrize("name, error, word", [("eegmatt", ValueError, "did you mean 'eegmat'"),
                                               ("mi", ValueError, "mi_left_right"),
                                               ("synthetic", ValueError, "synthetic_amplitude"),
                                               (None, TypeError, "NoneType")])
def test_bad_task_names(name, error, word):
    with pytest.raises(error, match=re.escape(word)):
        load_task(name)


@pytest.mark.parametrize("name, word", [("eegmat", "EEGMAT"), ("mi_left_right", "eegmmidb"),
                                        ("mi_fists_feet", "eegmmidb")])
def test_real_tasks_without_recordings_say_so(tmp_path, name, word):
    with pytest.raises(FileNotFoundError, match=word) as info:
        load_task(name, data_dir=tmp_path)
    assert str(tmp_path) in str(info.value)


def test_run_suite_skips_tasks_without_recordings(tmp_path, capsys):
    rows = run_suite(["eegmat", tiny_task("bandpower")], data_dir=tmp_path, seeds=(0,), fractions=(1.0,),
                     label_draws=1, normalizations=("none",), candidates=["default"], seqclr_params=TINY_RECIPE,
                     probe=_probe())
    assert "Skipping task 'eegmat'" in capsys.readouterr().out
    assert {r["task"] for r in rows} == {"tiny_bandpower"}
    # one candidate: nothing to choose among, so no "augmentations by CV" rows
    assert {r["method"] for r in rows} == set(SEQCLR_METHODS + CONTROLS) - {"SeqCLR [blind_to_gain]",
                                                                            "SeqCLR, augmentations by CV"}
    with pytest.raises(FileNotFoundError, match="No task of the suite could be loaded"):
        run_suite(["eegmat", "mi_fists_feet"], data_dir=tmp_path)


@pytest.mark.parametrize("argv, word", [
    (["--tasks", "eegmat", "--data-dir", "{tmp}"], "--tasks eegmat"),
    (["--tasks", "eegmat", "--data-dir", "{tmp}/absent"], "does not exist"),
    (["--tasks", "synthetic_amplitude", "--param", "n_epoch=1"], "n_epochs"),
    (["--tasks", "synthetic_amplitude", "--param", "random_state=1"], "random_state"),
    (["--tasks", "synthetic_amplitude", "--output", "{tmp}/suite.csv"], ".json"),
])
def test_cli_usage_errors(tmp_path, capsys, argv, word):
    from skseqclr.cli import EXIT_USAGE, main

    assert main(["suite"] + [a.replace("{tmp}", str(tmp_path)) for a in argv]) == EXIT_USAGE
    assert word in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--tasks", "eeg"], ["--candidates", "none"], ["--label-draws", "0"],
                                  ["--fractions", "2"], ["--seeds", "-1"]])
def test_cli_rejects_bad_options(capsys, argv):
    from skseqclr.cli import EXIT_USAGE, main

    assert main(["suite", *argv]) == EXIT_USAGE
    assert "error" in capsys.readouterr().err


def test_every_suite_task_is_known():
    assert SUITE_TASKS == ("eegmat", "mi_left_right", "mi_fists_feet", "synthetic_amplitude", "synthetic_bandpower",
                           "synthetic_slow_potential")


@pytest.mark.parametrize("name", ["synthetic_amplitude", "synthetic_bandpower", "synthetic_slow_potential"])
def test_synthetic_tasks_split_by_subject(name):
    task = load_task(name)
    assert task.name == name and task.sfreq == 128.0 and len(task.splits) == 1
    split = task.splits[0]
    assert set(split.groups_train) == set(range(8)) and set(split.groups_test) == set(range(8, 12))
    assert split.X_pretrain is split.X_train and split.X_train.dtype == np.float32
    assert set(split.y_train) == set(split.y_test) == {0, 1}


# ------------------------------------------------------------------ the recordings (../shared/data)

@pytest.mark.shared_data
def test_eegmat_task_splits_by_subject():
    from conftest import shared_path

    task = load_task("eegmat", data_dir=shared_path("eegmat"))
    assert task.sfreq == 128.0 and len(task.ch_names) == 19 and len(task.splits) == 1
    split = task.splits[0]
    assert set(split.groups_train) == set(range(24)) and set(split.groups_test) == set(range(24, 36))
    assert split.X_train.shape[1:] == (19, 512) and split.X_train.dtype == np.float32
    assert split.X_pretrain.shape == split.X_train.shape and set(split.groups_pretrain) == set(range(24))
    assert 1 < float(split.X_train.std()) < 200  # µV, not volts
    assert set(split.y_train) == set(split.y_test) == {0, 1}


@pytest.mark.shared_data
@pytest.mark.parametrize("name, runs", [("mi_left_right", (4, 8, 12)), ("mi_fists_feet", (6, 10, 14))])
def test_motor_imagery_tasks_leave_one_run_out(name, runs):
    from conftest import shared_path

    task = load_task(name, data_dir=shared_path("eegbci"))
    assert len(task.ch_names) == 64 and [s.name for s in task.splits] == [f"test run {r}" for r in runs]
    for split, test_run in zip(task.splits, runs):
        assert set(split.groups_test) == {test_run}
        assert set(split.groups_train) == set(runs) - {test_run}
        assert set(split.groups_pretrain) == set(range(3, 15)) - {test_run}  # never the test run
        assert split.X_train.shape[1:] == split.X_pretrain.shape[1:] == (64, 512)
        assert len(split.X_pretrain) > 10 * len(split.X_train)
        assert set(split.y_train) == set(split.y_test) == {0, 1}
        assert 1 < float(split.X_train.std()) < 500  # µV


# ------------------------------------------------------------------ the Results page (docs/render_results.py)

@pytest.fixture(scope="module")
def render():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("render_results",
                                                  Path(__file__).resolve().parents[1] / "docs" / "render_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _suite_result():
    """Two tasks (one with two folds), two methods, two seeds, both settings, 100% and 10% of the labels."""
    scores = {  # (task, method, normalization, fraction): {(fold, seed): score}
        ("mi", "SeqCLR pretrained", "none", 1.0): {(0, 0): 0.6, (1, 0): 0.8, (0, 1): 0.8, (1, 1): 0.8},
        ("mi", "log-variance 5 bands", "none", 1.0): {(0, 0): 0.5, (1, 0): 0.5, (0, 1): 0.5, (1, 1): 0.5},
        ("mi", "SeqCLR pretrained", "group", 0.1): {(0, 0): 0.55, (1, 0): 0.55, (0, 1): 0.55, (1, 1): 0.55},
        ("syn", "log-variance 5 bands", "none", 1.0): {(0, 0): 0.9, (0, 1): 0.7},
        ("syn", "log-variance 5 bands", "group", 0.1): {(0, 0): 0.95, (0, 1): 0.95},
    }
    rows = [{"task": task, "fold": fold, "method": method, "normalization": normalization, "fraction": fraction,
             "seed": seed, "balanced_accuracy": score, "n_labels": round(100 * fraction), "n_label_draws": 5}
            for (task, method, normalization, fraction), cells in scores.items()
            for (fold, seed), score in cells.items()]
    return {"command": "skseqclr suite", "argv": ["suite", "--tasks", "mi", "syn"], "rows": rows,
            "tasks": {"mi": "motor imagery", "syn": "synthetic"}, "skipped": {"eegmat": "not found"},
            "seqclr_params": {"model_size": "small", "max_steps": 25},
            "candidates": {"SeqCLR pretrained": {}, "SeqCLR [blind_to_gain]": {"amplitude_scale": [0.5, 2.0]}},
            "quick": True, "wall_time_s": 61.2, "versions": {"skseqclr": "0.1.0"}}


def test_render_suite_table_task_by_method(render):
    assert render.table_rows(_suite_result()) == render.suite_table_rows(_suite_result()) == [
        ["method", "100%, inductive", "10%, inductive", "100%, per subject", "10%, per subject"],
        ["**mi**", "", "", "", ""],
        ["SeqCLR pretrained", "**0.750 ± 0.050**", "-", "-", "**0.550 ± 0.000**"],  # seeds: 0.7 and 0.8
        ["log-variance 5 bands", "0.500 ± 0.000", "-", "-", "-"],
        ["**syn**", "", "", "", ""],
        ["log-variance 5 bands", "0.800 ± 0.100", "-", "-", "0.950 ± 0.000"],  # one method: nothing in bold
    ]


def test_render_suite_table_picks_tasks_methods_settings(render):
    rows = render.suite_table_rows(_suite_result(), tasks=["syn"], settings=["group"])
    assert rows == [["method", "100%, per subject", "10%, per subject"], ["**syn**", "", ""],
                    ["log-variance 5 bands", "-", "0.950 ± 0.000"]]
    lines = render.render_table(_suite_result(), tasks=["mi"], methods=["SeqCLR pretrained"])
    assert lines[0] == ".. list-table::" and "   * - **mi**" in lines and "   * - SeqCLR pretrained" in lines
    assert "**syn**" not in "\n".join(lines)
    for kwargs, word in (({"tasks": ["eegmat"]}, "eegmat"), ({"methods": ["SeqCLR untrained"]}, "SeqCLR untrained"),
                         ({"settings": ["window"]}, "window")):
        with pytest.raises(ValueError, match=word):
            render.suite_table_rows(_suite_result(), **kwargs)
    benchmark = {"rows": [{k: v for k, v in r.items() if k not in ("task", "fold")} for r in _suite_result()["rows"]]}
    with pytest.raises(ValueError, match="not a suite"):
        render.render_table(benchmark, tasks=["mi"])


def test_render_suite_setup(render):
    text = "\n".join(render.render_setup(_suite_result()))
    assert ":Command: ``skseqclr suite --tasks mi syn``" in text
    assert ":Task mi: motor imagery" in text and ":Task eegmat: not run: not found" in text
    assert "``max_steps=25``" in text and "SeqCLR [blind_to_gain]: ``amplitude_scale=[0.5, 2.0]``" in text
    assert "smoke test" in text and ":Wall time: 61 s" in text


def test_committed_suite_results_render(render):
    from pathlib import Path

    docs = Path(__file__).resolve().parents[1] / "docs"
    result = render.load_result(docs / "results" / "suite.json")
    rows = render.table_rows(result)
    tasks = [row[0] for row in rows if row[0].startswith("**")]
    assert tasks == [f"**{task}**" for task in result["tasks"]] and len(rows) > len(tasks) + 1
    page = (docs / "results.rst").read_text()
    assert ".. results-table:: results/suite.json" in page and ".. results-setup:: results/suite.json" in page


# ------------------------------------------------------------------ margins against the target (suite_margins)

def _margin_rows():
    """One task, two folds, two seeds, both settings, 100% and 10% of the labels.

    At 10% the best control is "log-variance 5 bands" inductive and "Riemannian tangent space" per subject; at 100%
    it is the other one, and "SeqCLR, augmentations by CV" (not a control) beats them all everywhere.
    """
    scores = {  # (method, normalization): (score at 100%, score at 10%); every fold and seed alike
        ("SeqCLR untrained", "none"): (0.50, 0.70), ("SeqCLR + 5 bands", "none"): (0.50, 0.73),
        ("SeqCLR untrained + 5 bands", "none"): (0.50, 0.72), ("SeqCLR, augmentations by CV", "none"): (1.0, 0.95),
        ("log-variance 5 bands", "none"): (0.50, 0.71), ("Riemannian tangent space", "none"): (0.99, 0.60),
        ("SeqCLR pretrained", "group"): (0.50, 0.80), ("SeqCLR untrained", "group"): (0.50, 0.82),
        ("SeqCLR + 5 bands", "group"): (0.50, 0.71), ("SeqCLR untrained + 5 bands", "group"): (0.50, 0.60),
        ("SeqCLR, augmentations by CV", "group"): (1.0, 0.95),
        ("log-variance 5 bands", "group"): (0.99, 0.65), ("Riemannian tangent space", "group"): (0.50, 0.70),
    }
    cells = {(method, normalization, fraction): {(fold, seed): score for fold in (0, 1) for seed in (0, 1)}
             for (method, normalization), pair in scores.items() for fraction, score in zip((1.0, 0.1), pair)}
    # SeqCLR pretrained, inductive, 10%: seed 0 0.72 (folds 0.70, 0.74), seed 1 0.76: mean 0.74, std 0.02
    cells[("SeqCLR pretrained", "none", 0.1)] = {(0, 0): 0.70, (1, 0): 0.74, (0, 1): 0.76, (1, 1): 0.76}
    cells[("SeqCLR pretrained", "none", 1.0)] = {key: 0.5 for key in cells[("SeqCLR pretrained", "none", 0.1)]}
    return [{"task": "t", "fold": fold, "method": method, "normalization": normalization, "fraction": fraction,
             "seed": seed, "balanced_accuracy": score, "n_labels": round(100 * fraction), "n_label_draws": 5}
            for (method, normalization, fraction), by_key in cells.items() for (fold, seed), score in by_key.items()]


def test_margins_against_the_best_control_at_the_fraction_and_the_untrained_twin():
    from skseqclr.evaluation.suite import suite_margins

    margins = suite_margins(_margin_rows())
    got = [(m["normalization"], m["method"], m["control"], m["untrained"], m["target_met"]) for m in margins]
    assert got == [
        ("none", "SeqCLR pretrained", "log-variance 5 bands", "SeqCLR untrained", True),
        ("none", "SeqCLR + 5 bands", "log-variance 5 bands", "SeqCLR untrained + 5 bands", True),  # exactly 0.02
        ("group", "SeqCLR pretrained", "Riemannian tangent space", "SeqCLR untrained", False),  # below untrained
        ("group", "SeqCLR + 5 bands", "Riemannian tangent space", "SeqCLR untrained + 5 bands", False),  # 0.01 only
    ]
    numbers = [m[key] for m in margins for key in ("mean", "control_mean", "margin", "untrained_mean",
                                                      "margin_untrained")]
    assert numbers == pytest.approx([0.74, 0.71, 0.03, 0.70, 0.04, 0.73, 0.71, 0.02, 0.72, 0.01,
                                     0.80, 0.70, 0.10, 0.82, -0.02, 0.71, 0.70, 0.01, 0.60, 0.11])
    assert margins[0]["std"] == pytest.approx(0.02) and margins[0]["n_seeds"] == 2
    assert {m["task"] for m in margins} == {"t"} and {m["fraction"] for m in margins} == {0.1}
    # the same from the summary; at 100% the other controls are the best ones
    assert suite_margins(suite_summary(_margin_rows())) == margins
    full = suite_margins(_margin_rows(), fraction=1.0)
    assert [m["control"] for m in full] == ["Riemannian tangent space"] * 2 + ["log-variance 5 bands"] * 2
    assert not any(m["target_met"] for m in full)
    # named controls and a stricter target
    only = suite_margins(_margin_rows(), controls=["Riemannian tangent space"], min_margin=0.1)
    assert [m["control"] for m in only] == ["Riemannian tangent space"] * 4
    assert [m["target_met"] for m in only] == [True, True, False, False]  # 0.14, 0.13; 0.10 below untrained, 0.01


def _without(rows, **match):
    return [r for r in rows if not all(r.get(k) == v for k, v in match.items())]


BAD_MARGINS = [  # (arguments, keyword arguments, error, a word the message must contain)
    (lambda: [], {}, ValueError, "empty"),
    (lambda: "rows", {}, TypeError, "rows_or_summary"),
    (lambda: {"rows": _margin_rows()}, {}, TypeError, "rows_or_summary"),
    (lambda: [1, 2], {}, TypeError, "dicts"),
    (lambda: [{"task": "t"}], {}, ValueError, "lacks"),
    (_margin_rows, {"fraction": 0.5}, ValueError, "not in the rows"),
    (_margin_rows, {"fraction": 0}, ValueError, "(0, 1]"),
    (_margin_rows, {"fraction": 1.5}, ValueError, "(0, 1]"),
    (_margin_rows, {"fraction": float("nan")}, ValueError, "(0, 1]"),
    (_margin_rows, {"fraction": "0.1"}, TypeError, "fraction"),
    (_margin_rows, {"fraction": True}, TypeError, "fraction"),
    (_margin_rows, {"pipelines": []}, TypeError, "pipelines"),
    (_margin_rows, {"pipelines": ("SeqCLR pretrained", "SeqCLR pretrained")}, ValueError, "more than once"),
    (_margin_rows, {"pipelines": ["SeqCLR, augmentations by CV"]}, ValueError, "untrained twin"),
    (_margin_rows, {"pipelines": ["SeqCLR [nope]"], "untrained": {"SeqCLR [nope]": "SeqCLR untrained"}},
     ValueError, "pipelines"),
    (_margin_rows, {"pipelines": ["SeqCLR pretrained"], "untrained": {"SeqCLR pretrained": "untrained [x]"}},
     ValueError, "untrained [x]"),
    (_margin_rows, {"untrained": ["SeqCLR untrained"]}, TypeError, "untrained"),
    (_margin_rows, {"controls": ["log-power"]}, ValueError, "controls"),
    (_margin_rows, {"controls": ["log-variance 5 bands", "SeqCLR untrained"]}, ValueError, "may not include"),
    (_margin_rows, {"min_margin": "0.02"}, TypeError, "min_margin"),
    (lambda: _without(_without(_margin_rows(), method="log-variance 5 bands"), method="Riemannian tangent space"),
     {}, ValueError, "classic controls"),
    (lambda: _without(_margin_rows(), method="SeqCLR untrained", normalization="group"), {}, ValueError, "'group'"),
    (lambda: _without(_margin_rows(), method="log-variance 5 bands", normalization="none", fraction=0.1),
     {"controls": ["log-variance 5 bands"]}, ValueError, "no classic control"),
]


@pytest.mark.parametrize("make, kwargs, error, word", BAD_MARGINS,
                         ids=[f"{i}-{case[3]}" for i, case in enumerate(BAD_MARGINS)])
def test_bad_margins_arguments(make, kwargs, error, word):
    from skseqclr.evaluation.suite import suite_margins

    with pytest.raises(error, match=re.escape(word)):
        suite_margins(make(), **kwargs)


def test_render_margins_table(render):
    result = {"command": "skseqclr suite", "rows": _margin_rows(), "tasks": {"t": "toy"}}
    rows = render.margins_rows(result)
    assert rows[0] == ["task", "setting", "pipeline", "score at 10%", "best classic control", "its score",
                       "margin over control", "margin over untrained", "target met"]
    assert rows[1:] == [
        ["**t**", "inductive", "SeqCLR pretrained", "0.740", "log-variance 5 bands", "0.710", "+0.030", "+0.040", "yes"],
        ["", "", "SeqCLR + 5 bands", "0.730", "log-variance 5 bands", "0.710", "+0.020", "+0.010", "yes"],
        ["", "per subject", "SeqCLR pretrained", "0.800", "Riemannian tangent space", "0.700", "+0.100", "-0.020",
         "no"],
        ["", "", "SeqCLR + 5 bands", "0.710", "Riemannian tangent space", "0.700", "+0.010", "+0.110", "no"],
    ]
    assert render.margins_rows(result, fraction=1.0)[0][3] == "score at 100%"
    assert (render._signed(-0.0004), render._signed(0.0004), render._signed(-0.0196)) == ("0.000", "0.000", "-0.020")
    lines = render.render_margins(result, caption="Target")
    assert lines[0] == ".. list-table:: Target" and "   * - **t**" in lines and "     - -0.020" in lines
    with pytest.raises(ValueError, match="not in the rows"):
        render.margins_rows(result, fraction=0.5)
    benchmark = {"rows": [{k: v for k, v in r.items() if k not in ("task", "fold")} for r in _margin_rows()]}
    with pytest.raises(ValueError, match="not a suite"):
        render.margins_rows(benchmark)


def test_committed_suite_margins_render(render):
    from pathlib import Path

    from docutils import nodes
    from docutils.core import publish_doctree

    docs = Path(__file__).resolve().parents[1] / "docs"
    result = render.load_result(docs / "results" / "suite.json")
    settings = {r.get("normalization", "none") for r in result["rows"]}
    rows = render.margins_rows(result)
    assert len(rows) == 1 + 2 * len(settings) * len(result["tasks"])  # two pipelines per task and setting
    assert [row[0] for row in rows[1:] if row[0]] == [f"**{task}**" for task in result["tasks"]]
    assert {row[-1] for row in rows[1:]} <= {"yes", "no"}
    doctree = publish_doctree("\n".join(render.render_margins(result)),
                              settings_overrides={"report_level": 2, "halt_level": 2})
    [table] = list(doctree.findall(nodes.table))
    assert len(list(table.findall(nodes.row))) == len(rows)
    assert ".. results-margins:: results/suite.json" in (docs / "results.rst").read_text()
