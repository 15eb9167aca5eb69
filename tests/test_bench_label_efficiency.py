"""benchmarks/experiments/label_efficiency.py's GPU round trip: windows exported to a file, features saved where
they were computed (a GPU node) and scored elsewhere give the same rows as encoding in place."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import TINY, load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("experiments/label_efficiency")


def _split(n_subjects, first_subject, rng):
    windows_per_subject = 12
    y = np.tile([0, 1], n_subjects * windows_per_subject // 2)
    X = rng.standard_normal((len(y), 3, 256)) * np.where(y == 1, 11.0, 10.0)[:, None, None]
    groups = np.repeat(np.arange(first_subject, first_subject + n_subjects), windows_per_subject)
    return X, y, groups


def _scores(path):
    rows = json.loads(path.read_text())["rows"]
    return {row["method"]: (row["balanced_accuracy"], row["n_steps"]) for row in rows}


TINY_PARAMS = ["--device", "cpu", "--param", "batch_size=16"] + [
    arg for key, value in TINY.items() for arg in ("--param", f"{key}={json.dumps(value)}")]


def _exported_windows(bench, tmp_path, seed):
    """Four training and two test subjects of random windows, exported as --windows reads them."""
    rng = np.random.default_rng(seed)
    X_train, y_train, groups_train = _split(4, 0, rng)
    X_test, y_test, groups_test = _split(2, 4, rng)
    windows = tmp_path / "windows.npz"
    bench.runner.export_windows(windows, X_train, y_train, X_test, y_test, groups_train, groups_test, 128.0)
    return windows, (X_train, y_train, X_test)


def test_features_saved_then_loaded_score_as_encoding_in_place(bench, tmp_path):
    windows, (X_train, y_train, X_test) = _exported_windows(bench, tmp_path, seed=0)
    common = ["--windows", str(windows), "--seeds", "0", "--fractions", "1.0", "--methods", "probe",
              "--normalization", "none", "--probe-c", "1", "--threads", "1"]
    model = ["--steps", "2", "--snapshot-steps", "1", *TINY_PARAMS]

    bench.main(common + model + ["--output", str(tmp_path / "in_place.json")])
    bench.main(common + model + ["--save-features", str(tmp_path / "features")])
    bench.main(common + ["--load-features", str(tmp_path / "features"), "--output", str(tmp_path / "loaded.json")])

    in_place, loaded = _scores(tmp_path / "in_place.json"), _scores(tmp_path / "loaded.json")
    assert set(in_place) == {"SeqCLR pretrained", "SeqCLR pretrained @1", "SeqCLR untrained",
                             "SeqCLR pretrained, length by CV", "SeqCLR pretrained, length by CV on all labels"}
    # a fixed C (--probe-c 1) does not cross-validate: nothing to choose by, so the run as it ended
    assert in_place["SeqCLR pretrained, length by CV"] == in_place["SeqCLR pretrained"]
    assert in_place["SeqCLR pretrained, length by CV on all labels"] == in_place["SeqCLR pretrained"]
    assert loaded == in_place
    assert [in_place[name][1] for name in ("SeqCLR pretrained", "SeqCLR pretrained @1", "SeqCLR untrained")] == [
        2, 1, 0]
    stored = np.load(tmp_path / "features" / "features_seed0.npz")
    assert stored["pretrained_train"].shape == (len(y_train), stored["pretrained_test"].shape[1])
    assert not np.allclose(stored["pretrained_train"], stored["untrained_train"])
    assert json.loads(str(stored["params"]))["max_steps"] == 2
    assert not np.allclose(stored["step1_train"], stored["pretrained_train"])
    # each row reads its own encoder's features (a swap would show here even where two encoders score alike on
    # these few windows; the step counts above come from the same encoders as the features)
    extractors, n_steps, _ = bench.runner.load_features(tmp_path / "features" / "features_seed0.npz", X_train, X_test)
    for name, prefix in (("SeqCLR pretrained", "pretrained"), ("SeqCLR untrained", "untrained"),
                         ("SeqCLR pretrained @1", "step1")):
        np.testing.assert_array_equal(extractors[name].transform(X_train), stored[f"{prefix}_train"])
        np.testing.assert_array_equal(extractors[name].transform(X_test), stored[f"{prefix}_test"])
    assert n_steps == {"SeqCLR pretrained": 2, "SeqCLR pretrained @1": 1, "SeqCLR untrained": 0}


def test_exported_windows_are_float16_microvolts_and_checked_on_load(bench, tmp_path):
    rng = np.random.default_rng(1)
    X, y, groups = _split(2, 0, rng)
    path = tmp_path / "windows.npz"
    bench.runner.export_windows(path, X, y, X, y, groups, groups, 128.0)
    assert np.load(path)["X_train"].dtype == np.float16
    X_loaded = bench.runner.load_windows(path, 128.0)[0]
    assert X_loaded.dtype == np.float32
    np.testing.assert_allclose(X_loaded, X, rtol=1e-3, atol=1e-3)
    with pytest.raises(SystemExit, match="128 Hz, not --sfreq 250"):
        bench.runner.load_windows(path, 250.0)


def test_load_features_refuses_what_it_cannot_do(bench, tmp_path):
    rng = np.random.default_rng(2)
    X, y, groups = _split(2, 0, rng)
    path = tmp_path / "windows.npz"
    bench.runner.export_windows(path, X, y, X, y, groups, groups, 128.0)
    with pytest.raises(SystemExit, match="--load-features scores stored features only"):
        bench.main(["--windows", str(path), "--load-features", str(tmp_path), "--classifier"])


def test_quick_run_scores_one_seed_on_all_labels_and_reports_its_command(bench, tmp_path, capsys):
    windows, _ = _exported_windows(bench, tmp_path, seed=2)
    output = tmp_path / "quick.json"
    argv = ["--windows", str(windows), "--quick", "--methods", "probe", "--probe-c", "1", "--threads", "1",
            *TINY_PARAMS, "--output", str(output)]
    bench.main(argv)
    report = json.loads(output.read_text())
    rows = report["rows"]
    assert {row["method"] for row in rows} == {"SeqCLR pretrained", "SeqCLR untrained"}
    assert {(row["seed"], row["fraction"], row["normalization"], row["n_label_draws"]) for row in rows} == {
        (0, 1.0, "none", 1)}
    assert {row["method"]: row["n_steps"] for row in rows} == {"SeqCLR pretrained": 2, "SeqCLR untrained": 0}
    assert report["command"].startswith("python benchmarks/experiments/label_efficiency.py --windows ")
    assert report["argv"] == argv and report["seqclr_params"]["max_steps"] == 2
    capsys.readouterr()
    bench.main(["--combine", str(output)])
    assert "SeqCLR pretrained" in capsys.readouterr().out


def test_feature_reference_subtracts_each_windows_channel_mean(bench):
    from skseqclr.evaluation.baselines import LogPower

    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 3, 256)) * np.array([1.0, 2.0, 4.0])[None, :, None]
    referenced = bench.channel_referenced(LogPower(), n_channels=3).fit(X).transform(X)
    log_power = LogPower().fit(X).transform(X)
    np.testing.assert_allclose(referenced, log_power - log_power.mean(axis=1, keepdims=True))
    # several features per channel, laid out channel by channel: each is referenced to its own channel mean
    stacked = np.stack([log_power, 2 * log_power], axis=-1).reshape(5, -1)  # (ch0 f0, ch0 f1, ch1 f0, ...)
    out = bench.channel_referenced(bench.FunctionTransformer(lambda F: F), 3).fit(stacked).transform(stacked)
    expected = stacked.reshape(5, 3, 2) - stacked.reshape(5, 3, 2).mean(axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected.reshape(5, -1))
    assert np.abs(referenced).max() > 0.1  # the channels' different amplitudes survive as differences


def test_feature_reference_adds_referenced_baselines(bench, tmp_path):
    windows, _ = _exported_windows(bench, tmp_path, seed=1)
    bench.main(["--windows", str(windows), "--seeds", "0", "--fractions", "1.0", "--methods", "baselines",
                "--normalization", "none", "--probe-c", "1", "--threads", "1", "--steps", "1", *TINY_PARAMS,
                "--feature-reference", "--output", str(tmp_path / "rows.json")])
    rows = {row["method"]: row for row in json.loads((tmp_path / "rows.json").read_text())["rows"]}
    assert rows["log-power, channel-referenced"]["n_features"] == rows["log-power"]["n_features"] == 3
    assert rows["log-variance 5 bands, channel-referenced"]["n_features"] == 15


def test_log_power_read_like_seqclr_reads_its_channels_and_references_them_like_it(bench):
    from skseqclr.evaluation.baselines import LogPower
    from skseqclr.datasets import EEGMAT_CHANNELS
    from skseqclr.recombination import feature_channel_pairs

    rng = np.random.default_rng(0)
    X = (rng.standard_normal((4, 19, 128)) * rng.uniform(1, 5, (1, 19, 1))).astype(np.float32)
    names = list(EEGMAT_CHANNELS)
    first, second, read = feature_channel_pairs("auto", names)
    assert len(read) == 63
    recombined = X[:, first] - X[:, second]
    raw = LogPower(units="uV").fit(recombined).transform(recombined)
    referenced = bench.log_power_read_like_seqclr({"readout__feature_channels": "auto",
                                                   "readout__feature_reference": True}, names)
    out = referenced.transform(X)
    originals, neighbours = raw[:, :19], raw[:, 19:]
    expected = np.concatenate([originals - originals.mean(1, keepdims=True),
                               neighbours - neighbours.mean(1, keepdims=True),
                               originals.mean(1, keepdims=True), neighbours.mean(1, keepdims=True)], axis=1)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    plain = bench.log_power_read_like_seqclr({"readout__feature_channels": "original",
                                              "readout__feature_reference": False}, names)
    np.testing.assert_allclose(plain.transform(X), raw[:, :19], rtol=1e-5, atol=1e-5)
