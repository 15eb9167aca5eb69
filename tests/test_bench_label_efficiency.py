"""benchmarks/bench_label_efficiency.py's GPU round trip: windows exported to a file, features saved where
they were computed (a GPU node) and scored elsewhere give the same rows as encoding in place."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from conftest import REPO_ROOT, TINY


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_label_efficiency",
                                                  REPO_ROOT / "benchmarks" / "bench_label_efficiency.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _split(n_subjects, first_subject, rng):
    windows_per_subject = 12
    y = np.tile([0, 1], n_subjects * windows_per_subject // 2)
    X = rng.standard_normal((len(y), 3, 256)) * np.where(y == 1, 11.0, 10.0)[:, None, None]
    groups = np.repeat(np.arange(first_subject, first_subject + n_subjects), windows_per_subject)
    return X, y, groups


def _scores(path):
    rows = json.loads(path.read_text())["rows"]
    return {row["method"]: (row["balanced_accuracy"], row["n_steps"]) for row in rows}


def test_features_saved_then_loaded_score_as_encoding_in_place(bench, tmp_path):
    rng = np.random.default_rng(0)
    X_train, y_train, groups_train = _split(4, 0, rng)
    X_test, y_test, groups_test = _split(2, 4, rng)
    windows = tmp_path / "windows.npz"
    bench.export_windows(windows, X_train, y_train, X_test, y_test, groups_train, groups_test, 128.0)
    common = ["--windows", str(windows), "--seeds", "0", "--fractions", "1.0", "--methods", "probe",
              "--normalization", "none", "--probe-c", "1", "--threads", "1"]
    model = ["--steps", "2", "--snapshot-steps", "1", "--device", "cpu", "--param", "batch_size=16"] + [
        arg for key, value in TINY.items() for arg in ("--param", f"{key}={json.dumps(value)}")]

    bench.main(common + model + ["--output", str(tmp_path / "in_place.json")])
    bench.main(common + model + ["--save-features", str(tmp_path / "features")])
    bench.main(common + ["--load-features", str(tmp_path / "features"), "--output", str(tmp_path / "loaded.json")])

    in_place, loaded = _scores(tmp_path / "in_place.json"), _scores(tmp_path / "loaded.json")
    assert set(in_place) == {"SeqCLR pretrained", "SeqCLR pretrained @1", "SeqCLR untrained",
                             "SeqCLR pretrained, length by CV", "SeqCLR pretrained, length by CV on all labels"}
    # a fixed C (--probe-c 1) does not cross-validate: nothing to choose by, so the run as it ended
    assert in_place["SeqCLR pretrained, length by CV"] == in_place["SeqCLR pretrained"]
    assert in_place["SeqCLR pretrained, length by CV on all labels"] == in_place["SeqCLR pretrained"]
    assert in_place["SeqCLR pretrained"][0] != in_place["SeqCLR untrained"][0]  # a swap would show
    assert loaded == in_place
    assert [in_place[name][1] for name in ("SeqCLR pretrained", "SeqCLR pretrained @1", "SeqCLR untrained")] == [
        2, 1, 0]
    stored = np.load(tmp_path / "features" / "features_seed0.npz")
    assert stored["pretrained_train"].shape == (len(y_train), stored["pretrained_test"].shape[1])
    assert not np.allclose(stored["pretrained_train"], stored["untrained_train"])
    assert json.loads(str(stored["params"]))["max_steps"] == 2
    assert not np.allclose(stored["step1_train"], stored["pretrained_train"])


def _row(method, n_steps, cv, accuracy, normalization="none", fraction=0.1):
    return {"method": method, "n_steps": n_steps, "normalization": normalization, "fraction": fraction, "seed": 0,
            "n_labels": 10, "n_label_draws": len(cv), "probe_cv_score_draws": cv, "balanced_accuracy_draws": accuracy,
            "balanced_accuracy": float(np.mean(accuracy)), "fit_time_s": 5.0, "transform_time_s": 1.0,
            "probe_time_s": 0.5}


def test_length_by_cv_picks_each_subsets_best_cross_validated_length(bench):
    rows = [_row("SeqCLR pretrained", 300, [0.60, 0.70, None], [0.61, 0.71, 0.81]),
            _row("SeqCLR pretrained @100", 100, [0.65, 0.70, None], [0.62, 0.72, 0.82]),
            _row("SeqCLR pretrained @200", 200, [0.64, 0.69, None], [0.63, 0.73, 0.83]),
            _row("SeqCLR untrained", 0, [0.99, 0.99, 0.99], [0.99, 0.99, 0.99]),  # the control is no candidate
            _row("SeqCLR pretrained @0", 0, [0.99, 0.99, 0.99], [0.99, 0.99, 0.99]),  # nor its snapshot
            _row("SeqCLR pretrained", 300, [0.5], [0.55], normalization="group"),
            _row("SeqCLR pretrained @100", 100, [0.6], [0.66], normalization="group")]
    chosen = {row["normalization"]: row for row in bench.length_by_cv_rows(rows)}
    # draw 0: @100 cross-validates best; draw 1: a tie goes to fewer steps; draw 2: no scores, the final encoder
    assert chosen["none"]["chosen_steps"] == [100, 100, 300]
    assert chosen["none"]["balanced_accuracy_draws"] == [0.62, 0.72, 0.81]
    assert chosen["none"]["balanced_accuracy"] == pytest.approx(np.mean([0.62, 0.72, 0.81]))
    assert chosen["none"]["method"] == bench.LENGTH_BY_CV and chosen["none"]["n_steps"] == 300
    assert chosen["group"]["chosen_steps"] == [100] and chosen["group"]["balanced_accuracy"] == 0.66
    assert bench.length_by_cv_rows(rows[:1] + rows[3:4]) == []  # one length: nothing to choose
    assert all(row["method"] == bench.LENGTH_BY_CV for row in chosen.values())  # no fraction 1: no all-labels row


def test_length_by_cv_on_all_labels_scores_the_full_labels_choice_at_every_fraction(bench):
    rows = [_row("SeqCLR pretrained", 300, [0.60], [0.70], fraction=1.0),
            _row("SeqCLR pretrained @100", 100, [0.50], [0.75], fraction=1.0),
            _row("SeqCLR pretrained @200", 200, [0.65], [0.72], fraction=1.0),
            _row("SeqCLR pretrained", 300, [0.60, 0.70], [0.61, 0.71]),
            _row("SeqCLR pretrained @100", 100, [0.65, 0.75], [0.62, 0.72]),
            _row("SeqCLR pretrained @200", 200, [0.50, 0.50], [0.63, 0.73])]
    chosen = {(row["method"], row["fraction"]): row for row in bench.length_by_cv_rows(rows)}
    on_all = chosen[(bench.LENGTH_BY_CV_ALL_LABELS, 0.1)]
    assert on_all["chosen_steps"] == [200, 200] and on_all["balanced_accuracy_draws"] == [0.63, 0.73]
    assert chosen[(bench.LENGTH_BY_CV, 0.1)]["chosen_steps"] == [100, 100]  # each subset's own choice
    assert chosen[(bench.LENGTH_BY_CV_ALL_LABELS, 1.0)]["balanced_accuracy"] == 0.72
    assert chosen[(bench.LENGTH_BY_CV, 1.0)]["balanced_accuracy"] == 0.72


def test_exported_windows_are_float16_microvolts_and_checked_on_load(bench, tmp_path):
    rng = np.random.default_rng(1)
    X, y, groups = _split(2, 0, rng)
    path = tmp_path / "windows.npz"
    bench.export_windows(path, X, y, X, y, groups, groups, 128.0)
    assert np.load(path)["X_train"].dtype == np.float16
    X_loaded = bench.load_windows(path, 128.0)[0]
    assert X_loaded.dtype == np.float32
    np.testing.assert_allclose(X_loaded, X, rtol=1e-3, atol=1e-3)
    with pytest.raises(SystemExit, match="128 Hz, not --sfreq 250"):
        bench.load_windows(path, 250.0)


def test_load_features_refuses_what_it_cannot_do(bench, tmp_path):
    rng = np.random.default_rng(2)
    X, y, groups = _split(2, 0, rng)
    path = tmp_path / "windows.npz"
    bench.export_windows(path, X, y, X, y, groups, groups, 128.0)
    with pytest.raises(SystemExit, match="--load-features scores stored features only"):
        bench.main(["--windows", str(path), "--load-features", str(tmp_path), "--classifier"])
