"""Tests of the ``skseqclr`` command (in process through ``main``, and once as a console script)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from skseqclr import cli
from skseqclr.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, _common, _data, benchmark, main, pretrain

from conftest import TINY, shared_path

TINY_ARGS = [
    "--param", "model_size=" + json.dumps(TINY["model_size"]),
    "--batch-size", "16", "--epochs", "1", "--max-steps", "1", "--device", "cpu",
]
SYNTHETIC = ["--dataset", "synthetic", "--n-windows", "36", "--window-s", "2"]


@pytest.fixture(autouse=True)
def _no_local_data(tmp_path, monkeypatch):
    """Point the default data folder at an empty one, so nothing is found unless a test says so."""
    empty = tmp_path / "no_data_here"
    empty.mkdir()
    monkeypatch.setenv("SKSEQCLR_DATA", str(empty))


# ----------------------------------------------------------------- usage

def test_version_and_help(capsys):
    assert main(["--version"]) == EXIT_OK
    assert "skseqclr" in capsys.readouterr().out
    assert main(["benchmark", "--help"]) == EXIT_OK
    assert "--fractions" in capsys.readouterr().out
    assert main([]) == EXIT_USAGE


@pytest.mark.parametrize("argv, message", [
    (["benchmark", "--dataset", "mnist"], "invalid choice: 'mnist'"),
    (["benchmark", "--fractions", "2"], "label fraction"),
    (["benchmark", "--seeds", "-1"], "non-negative"),
    (["benchmark", "--data-dir", "/nonexistent/eeg"], "--data-dir /nonexistent/eeg does not exist"),
    (["benchmark", *SYNTHETIC, "--param", "colour=blue"], "no parameter 'colour'"),
    (["benchmark", *SYNTHETIC, "--param", "pooling=mean"], "readout__pooling"),
    (["benchmark", *SYNTHETIC, "--param", "readout=mean"], "by nested name"),
    (["benchmark", *SYNTHETIC, "--output", "results.csv"], "ending in .json"),
    (["pretrain", "--dataset", "synthetic"], "required: --output"),
    (["features", "--weights", "/nonexistent.safetensors", "--dataset", "synthetic", "--output", "f.npy"],
     "no weights file"),
    (["features", "--weights", "w", "--dataset", "synthetic", "--output", "f.txt"], "ending in .npy or .parquet"),
])
def test_usage_errors_exit_2_with_a_message(argv, message, capsys):
    assert main(argv) == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_data_dir_without_recordings_is_a_usage_error(tmp_path, capsys):
    assert main(["benchmark", "--data-dir", str(tmp_path)]) == EXIT_USAGE
    assert "no eegmat or eegbci recordings" in capsys.readouterr().err


def test_runtime_failure_exits_1(tmp_path, capsys):
    # the folder exists, the files are not there, and downloading is forbidden
    code = main(["benchmark", "--dataset", "eegmat", "--data-dir", str(tmp_path), "--no-download",
                 "--subjects", "0-2", "--quiet"])
    assert code == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "FileNotFoundError" in err and "Subject00_1.edf" in err and "--debug" in err


def test_argument_parsers():
    assert _common._subjects("0-3,7") == [0, 1, 2, 3, 7]
    assert cli.parse_param("amplitude_scale=[0.8, 1.25]") == ("amplitude_scale", (0.8, 1.25))
    assert cli.parse_param("scaling=channel") == ("scaling", "channel")
    assert cli.parse_param("bandstop=null") == ("bandstop", None)
    assert cli.parse_probe_c("auto") == "auto" and cli.parse_probe_c("0.01") == 0.01
    for bad in ("0", "-1", "nan", "x"):
        with pytest.raises(argparse.ArgumentTypeError, match="positive number"):
            cli.parse_probe_c(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="KEY=VALUE"):
        cli.parse_param("scaling")
    assert _data._ranges([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"
    assert benchmark._c_range([0.01]) == "C=0.01 in every probe"
    assert benchmark._c_range([1e-4, 0.001, 31.6228]) == "C from 0.0001 to 31.6 over the probes"
    assert _data._proportional_split(range(36), train_subjects=range(24)) == list(range(24))
    assert _data._proportional_split([0, 1, 30], train_subjects=range(24)) == [0, 1]
    assert _data._proportional_split([0, 1, 2], train_subjects=range(24)) == [0, 1]  # none >= 24: 2/3
    with pytest.raises(cli.UsageError, match="at least 2 subjects"):
        _data._proportional_split([3])


# ------------------------------------------------------------- benchmark

def test_benchmark_probe_c_and_normalization_options(tmp_path, capsys):
    out = tmp_path / "results.json"
    code = main(["benchmark", "--dataset", "synthetic", "--n-windows", "36", "--window-s", "2", *TINY_ARGS,
                 "--fractions", "1", "--methods", "bands", "--probe-c", "0.5", "--normalization", "none",
                 "--output", str(out), "--quiet"])
    assert code == EXIT_OK
    rows = json.loads(out.read_text())["rows"]
    assert [(r["normalization"], r["probe_C"]) for r in rows] == [("none", 0.5)]
    assert "per-group" not in capsys.readouterr().out
    for bad in ("0", "best"):
        assert main(["benchmark", "--dataset", "synthetic", "--probe-c", bad]) == EXIT_USAGE
    assert "--probe-c" in capsys.readouterr().err


@pytest.mark.slow
def test_benchmark_probe_selection_one_se_regularises_at_least_as_strongly(tmp_path, capsys):
    chosen = {}
    for selection in ("best", "one_se"):
        out = tmp_path / f"{selection}.json"
        assert main(["benchmark", *SYNTHETIC, "--fractions", "1", "--methods", "logpower", "bands5",
                     "--normalization", "none", "--probe-selection", selection, "--output", str(out)]) == EXIT_OK
        chosen[selection] = [r["probe_C"] for r in json.loads(out.read_text())["rows"]]
        printed = capsys.readouterr().out
        assert ("one-standard-error rule" in printed) == (selection == "one_se")
    assert all(one_se <= best for one_se, best in zip(chosen["one_se"], chosen["best"]))
    assert main(["benchmark", *SYNTHETIC, "--probe-selection", "median"]) == EXIT_USAGE


@pytest.mark.slow
def test_benchmark_referenced_baseline_rows(tmp_path):
    out = tmp_path / "results.json"
    assert main(["benchmark", *SYNTHETIC, "--fractions", "1", "--methods", "logpower", "logpower_ref", "bands5_ref",
                 "--normalization", "none", "--output", str(out), "--quiet"]) == EXIT_OK
    rows = {r["method"]: r for r in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"log-power", "log-power, channel-referenced", "log-variance 5 bands, channel-referenced"}
    assert all(0 <= r["balanced_accuracy"] <= 1 for r in rows.values())


@pytest.mark.slow
def test_benchmark_label_draws_average_several_subsets(tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["benchmark", *SYNTHETIC, "--fractions", "1", "0.25", "--methods", "logpower", "--label-draws", "3",
                 "--normalization", "none", "--output", str(out), "--quiet"]) == EXIT_OK
    report = json.loads(out.read_text())
    assert report["label_draws"] == 3
    assert [r["n_label_draws"] for r in report["rows"]] == [1, 3]  # all the labels need one draw only
    assert "25% (n=6, 3 draws)" in capsys.readouterr().out
    assert main(["benchmark", *SYNTHETIC, "--label-draws", "0"]) == EXIT_USAGE


def test_benchmark_five_band_baseline_and_its_nyquist_check(tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["benchmark", *SYNTHETIC, "--fractions", "1", "--methods", "bands", "bands5", "--probe-c", "1",
                 "--normalization", "none", "--output", str(out), "--quiet"]) == EXIT_OK
    rows = {r["method"]: r for r in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"log-variance bands", "log-variance 5 bands"}
    assert rows["log-variance 5 bands"]["n_features"] == 8 * 5 and rows["log-variance bands"]["n_features"] == 8 * 3
    # at 64 Hz the Nyquist frequency (32 Hz) is below the 30-45 Hz band
    assert main(["benchmark", *SYNTHETIC[:-2], "--window-s", "4", "--sfreq", "64", "--methods", "bands5"]) \
        == EXIT_USAGE
    captured = capsys.readouterr()
    assert "the 5-band baseline needs a Nyquist frequency above 45 Hz; skipping it" in captured.out
    assert "no method left" in captured.err


def test_param_reaches_the_transformers_settings_by_nested_name():
    args = cli.build_parser().parse_args(["benchmark", "--param", "readout__pooling=mean",
                                          "--param", 'preprocessing={"scaling": "window"}'])
    params = _common._transformer_params(args, 128.0, seed=0)
    assert params["readout__pooling"] == "mean" and params["preprocessing__scaling"] == "window"
    seqclr = _common._make_transformer(params)
    assert (seqclr.readout.pooling, seqclr.preprocessing.scaling, seqclr.checkpointing) == ("mean", "window", None)


@pytest.mark.slow
def test_benchmark_snapshot_steps_scores_each_length_and_the_length_chosen_by_cv(tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["benchmark", *SYNTHETIC, *TINY_ARGS, "--max-steps", "3", "--snapshot-steps", "0", "1",
                 "--fractions", "1", "0.5", "--methods", "seqclr", "untrained",
                 "--normalization", "none", "--output", str(out)]) == EXIT_OK
    rows = {(r["method"], r["fraction"]): r for r in json.loads(out.read_text())["rows"]}
    assert {method for method, _ in rows} == {
        "SeqCLR pretrained", "SeqCLR pretrained @0", "SeqCLR pretrained @1", "SeqCLR untrained",
        "SeqCLR pretrained, length by CV", "SeqCLR pretrained, length by CV on all labels"}
    assert [rows[(f"SeqCLR pretrained @{n}", 1.0)]["n_steps"] for n in (0, 1)] == [0, 1]
    # step 0 is the initial network: the untrained control of the same seed
    assert rows[("SeqCLR pretrained @0", 0.5)]["balanced_accuracy_draws"] == \
        rows[("SeqCLR untrained", 0.5)]["balanced_accuracy_draws"]
    # the chosen length is the one (of 1 and the final 3; 0 is the control) whose probe cross-validates best
    # on the same labelled subset, and the row carries that length's test score
    candidates = {1: rows[("SeqCLR pretrained @1", 0.5)], 3: rows[("SeqCLR pretrained", 0.5)]}
    cv = {step: row["probe_cv_score_draws"][0] for step, row in candidates.items()}
    assert all(score is not None for score in cv.values())
    best = min(step for step in cv if cv[step] == max(cv.values()))
    chosen = rows[("SeqCLR pretrained, length by CV", 0.5)]
    assert chosen["chosen_steps"] == [best]
    assert chosen["balanced_accuracy"] == candidates[best]["balanced_accuracy"]
    assert f"SeqCLR pretrained, length by CV, none, 50% of labels: steps chosen [{best}]" in capsys.readouterr().out
    assert main(["benchmark", *SYNTHETIC, *TINY_ARGS, "--snapshot-steps", "1", "--methods", "bands"]) == EXIT_USAGE
    assert "--snapshot-steps needs the seqclr method" in capsys.readouterr().err
    assert main(["benchmark", *SYNTHETIC, *TINY_ARGS, "--snapshot-steps", "-1"]) == EXIT_USAGE


def test_benchmark_input_normalization_rescales_train_and_test_by_group(tmp_path, capsys, monkeypatch):
    from skseqclr.evaluation import normalization

    calls = []
    original = normalization.GroupChannelScaler.transform

    def spy(self, X, groups=None):
        calls.append((len(X), len(np.unique(groups))))
        return original(self, X, groups=groups)

    monkeypatch.setattr(normalization.GroupChannelScaler, "transform", spy)
    out = tmp_path / "results.json"
    code = main(["benchmark", "--dataset", "synthetic", "--n-windows", "36", "--window-s", "2", *TINY_ARGS,
                 "--fractions", "1", "--methods", "logpower", "--normalization", "none",
                 "--input-normalization", "group", "--output", str(out)])
    assert code == EXIT_OK
    report = json.loads(out.read_text())
    assert report["input_normalization"] == "group"
    assert calls == [(report["n_train"], 1), (report["n_test"], 1)]  # synthetic: one group per split
    assert "channels rescaled to a common amplitude" in capsys.readouterr().out
    assert main(["benchmark", "--dataset", "synthetic", "--input-normalization", "window"]) == EXIT_USAGE


@pytest.mark.slow
def test_benchmark_falls_back_to_synthetic_and_says_so_first(tmp_path, capsys):
    out = tmp_path / "results.json"
    code = main(["benchmark", "--n-windows", "36", "--window-s", "2", *TINY_ARGS, "--fractions", "1", "0.1",
                 "--methods", "seqclr", "untrained", "bands", "--output", str(out), "--quiet"])
    assert code == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert "SYNTHETIC" in lines[0]
    table = "\n".join(lines[1:])
    for method in ("SeqCLR pretrained", "SeqCLR untrained", "log-variance bands"):
        assert method in table
    assert "100% (n=24)" in table and "10% (n=2)" in table
    report = json.loads(out.read_text())
    assert report["synthetic_fallback"] and report["dataset"] == "synthetic"
    assert len(report["rows"]) == 3 * 2 * 2  # methods x fractions x normalisations (none, per group)
    assert {r["normalization"] for r in report["rows"]} == {"none", "group"}
    assert "SeqCLR pretrained (per-group z-score)" in table
    pretrained = [r for r in report["rows"] if r["method"] == "SeqCLR pretrained"]
    untrained = [r for r in report["rows"] if r["method"] == "SeqCLR untrained"]
    assert {r["n_steps"] for r in pretrained} == {1} and {r["n_steps"] for r in untrained} == {0}
    assert report["seqclr_params"]["model_size"]["n_residual"] == 1
    # synthetic channels have no 10-05 names: "auto" reads the recorded channels
    assert report["seqclr_channels_read"] == {"setting": "auto", "resolved": "original", "n_channels": 8,
                                              "names": [f"ch{i}" for i in range(8)], "feature_reference": False}
    # frequency-resolved band power separates the synthetic 10 Hz / 20 Hz classes
    bands = [r for r in report["rows"] if r["method"] == "log-variance bands" and r["fraction"] == 1.0]
    assert bands[0]["balanced_accuracy"] > 0.8


@pytest.mark.slow
def test_benchmark_says_which_channels_the_seqclr_rows_read(capsys):
    assert main(["benchmark", *SYNTHETIC, *TINY_ARGS, "--fractions", "1", "--methods", "untrained", "logpower",
                 "--normalization", "none", "--param", 'readout__feature_channels="all"']) == EXIT_OK
    assert "read on 36 channels (feature_channels='all')" in capsys.readouterr().out  # 8 + 8 * 7 / 2
    assert main(["benchmark", *SYNTHETIC, "--fractions", "1", "--methods", "logpower", "--normalization", "none"]) \
        == EXIT_OK
    assert "read on" not in capsys.readouterr().out  # no SeqCLR row


@pytest.mark.slow
def test_benchmark_compact_by_default_full_on_request_and_plot(tmp_path, capsys, monkeypatch):
    from skseqclr.evaluation import reporting as evaluation

    figures = []
    original_plot = evaluation.plot_label_efficiency

    def recording_plot(rows, methods=None):
        figures.append(original_plot(rows, methods))
        return figures[-1]

    monkeypatch.setattr(evaluation, "plot_label_efficiency", recording_plot)
    controls = ["log-power", "log-variance bands"]
    common = [*SYNTHETIC, *TINY_ARGS, "--fractions", "1", "--methods", "seqclr", "untrained", "logpower", "bands"]
    out, png = tmp_path / "results.json", tmp_path / "efficiency.png"
    assert main(["benchmark", *common, "--output", str(out), "--plot", str(png)]) == EXIT_OK
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert {r["method"] for r in report["rows"]} == {"SeqCLR pretrained", "SeqCLR untrained", *controls}
    # the control shown is the one whose probes cross-validate best on the training windows
    cv = {m: np.mean([s for r in report["rows"] if r["method"] == m for s in r["probe_cv_score_draws"]
                      if s is not None]) for m in controls}
    control = max(controls, key=cv.get)
    assert report["strongest_control"]["method"] == control
    table = printed[:printed.index("Shown:")]
    shown = ["SeqCLR pretrained", "SeqCLR untrained", control]
    for method in shown:  # both settings of each
        assert f"\n{method}  " in table and f"\n{method} (per-group z-score)  " in table
    assert not any(f"\n{m}" in table for m in controls if m != control)
    assert f"strongest classic control, '{control}'" in printed and "--full prints all 4 methods" in printed
    # the figure: one panel per setting, one line per method of the table
    assert len(figures) == 1 and len(figures[0].axes) == 2
    assert all([line.get_label() for line in ax.lines] == shown for ax in figures[0].axes)
    import matplotlib.image

    assert matplotlib.image.imread(png).shape[-1] in (3, 4)


def test_benchmark_full_prints_every_method_and_a_fixed_c_shows_the_default_control(capsys):
    controls = ["log-power", "log-variance bands"]
    common = [*SYNTHETIC, *TINY_ARGS, "--fractions", "1", "--methods", "seqclr", "untrained", "logpower", "bands"]
    assert main(["benchmark", *common, "--full", "--quiet"]) == EXIT_OK
    table = capsys.readouterr().out
    for method in ["SeqCLR pretrained", "SeqCLR untrained", *controls]:
        assert f"\n{method}  " in table and f"\n{method} (per-group z-score)  " in table
    # a fixed C gives no cross-validated scores: the documented default control, if it is compared
    assert main(["benchmark", *SYNTHETIC, "--fractions", "1", "--methods", "logpower", "bands5_ref", "--probe-c",
                 "1", "--normalization", "none"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "'log-variance 5 bands, channel-referenced' (no probe chose its C" in printed
    assert "\nlog-power  " not in printed


@pytest.mark.parametrize("options, message", [
    (["--plot", "figure.jpg"], "--plot figure.jpg: expected a file ending in .png or .pdf or .svg"),
    (["--plot", "no/such/folder/figure.png"], "the folder no/such/folder does not exist"),
    (["--plot", "."], "expected a file ending in .png"),
    (["--jobs", "0"], "--jobs/-j: expected a positive integer"),
    (["--jobs", "-2"], "--jobs/-j: expected a positive integer"),
    (["--jobs", "two"], "--jobs/-j: expected a positive integer"),
    (["--full", "yes"], "unrecognized arguments: yes"),
])
def test_benchmark_plot_jobs_and_full_usage_errors(options, message, capsys):
    assert main(["benchmark", *SYNTHETIC, *options]) == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_benchmark_jobs_default_from_threads(monkeypatch):
    parse = cli.build_parser().parse_args
    methods = list(cli.METHODS)
    monkeypatch.setattr(_common.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert benchmark._benchmark_jobs(parse(["benchmark", "--device", "cpu"]), methods) == 1  # torch's threads use all
    assert benchmark._benchmark_jobs(parse(["benchmark", "--device", "cpu", "--threads", "1"]), methods) == 4
    assert benchmark._benchmark_jobs(parse(["benchmark", "--device", "cpu", "--threads", "3"]), methods) == 1
    assert benchmark._benchmark_jobs(parse(["benchmark", "--device", "cpu", "--jobs", "3"]), methods) == 3
    # a SeqCLR encoder on a GPU is never transformed from several threads
    assert benchmark._benchmark_jobs(parse(["benchmark", "--device", "cuda:0", "--threads", "1", "--jobs", "2"]),
                               methods) == 1
    assert benchmark._benchmark_jobs(parse(["benchmark", "--device", "cuda:0", "--jobs", "2"]), ["logpower"]) == 2


def test_channels_read_by_auto_on_10_20_names():
    names = ["Fp1", "Fp2", "F3", "F4", "F7", "F8", "T3", "T4", "C3", "C4", "T5", "T6", "P3", "P4", "O1", "O2",
             "Fz", "Cz", "Pz"]
    read = benchmark._channels_read(np.zeros((2, 19, 64), dtype=np.float32), {"ch_names": names})
    assert read["setting"] == "auto" and read["resolved"] == "original+neighbours"
    assert read["n_channels"] == 63 and read["names"][:19] == names and "Cz-Pz" in read["names"]


@pytest.mark.shared_data
def test_benchmark_eegmat_splits_by_subject(tmp_path, capsys):
    data = shared_path("eegmat")
    out = tmp_path / "r.json"
    code = main(["benchmark", "--data-dir", str(data.parent), "--subjects", "0,1,30", "--sfreq", "64",
                 "--methods", "logpower", "bands", "--fractions", "1", "--output", str(out), "--quiet"])
    assert code == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("method")  # real data: no fallback notice
    report = json.loads(out.read_text())
    assert report["dataset"] == "eegmat"
    assert "train 0-1" in report["data"] and "test 30" in report["data"]
    assert report["n_train"] == 120 and report["n_test"] == 60  # 60 four-second windows per subject


# ---------------------------------------------------------- pretrain, features

def test_pretrain_then_features_npy_and_parquet(tmp_path, capsys):
    from skseqclr import SeqCLRTransformer
    from skseqclr.datasets import make_synthetic_eeg

    out = tmp_path / "model"
    assert main(["pretrain", *SYNTHETIC, *TINY_ARGS, "--split", "train", "--output", str(out), "--quiet"]) == EXIT_OK
    config = json.loads((out / "config.json").read_text())
    assert config["datasets"][0]["n_windows"] == 24 and config["n_steps"] == 1
    assert config["seqclr_params"]["batch_size"] == 16

    npy = tmp_path / "feats.npy"
    assert main(["features", "--weights", str(out), *SYNTHETIC, "--output", str(npy), "--quiet"]) == EXIT_OK
    features = np.load(npy)
    X, y = make_synthetic_eeg(n_windows=36, n_channels=8, n_times=256, sfreq=128.0, random_state=0)
    expected = SeqCLRTransformer.load(out / "encoder.safetensors", device="cpu").transform(X)
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-5)
    import pandas as pd

    metadata = pd.read_csv(tmp_path / "feats.metadata.csv")
    assert metadata["target"].tolist() == y.tolist()

    pytest.importorskip("pyarrow")
    parquet = tmp_path / "feats.parquet"
    assert main(["features", "--weights", str(out / "encoder.safetensors"), *SYNTHETIC, "--split", "test",
                 "--output", str(parquet), "--quiet"]) == EXIT_OK
    table = pd.read_parquet(parquet)
    assert len(table) == 12 and table["dataset"].eq("synthetic").all()
    assert "ch0_h0_mean" in table.columns
    np.testing.assert_allclose(table.filter(like="ch").to_numpy(), expected[24:], rtol=1e-5, atol=1e-5)


def test_pretrain_snapshot_steps_writes_each_length_for_features(tmp_path):
    from skseqclr import SeqCLRTransformer
    from skseqclr.datasets import make_synthetic_eeg

    out = tmp_path / "model"
    two_steps = [*TINY_ARGS, "--max-steps", "2"]  # argparse keeps the last --max-steps
    assert main(["pretrain", *SYNTHETIC, *two_steps, "--snapshot-steps", "0", "1", "--output", str(out),
                 "--quiet"]) == EXIT_OK
    config = json.loads((out / "config.json").read_text())
    assert config["n_steps"] == 2
    assert config["snapshots"] == {"0": "step-0/encoder.safetensors", "1": "step-1/encoder.safetensors"}

    X, _ = make_synthetic_eeg(n_windows=36, n_channels=8, n_times=256, sfreq=128.0, random_state=0)
    untrained = SeqCLRTransformer.load(out / "step-0" / "encoder.safetensors", device="cpu")
    after_one = SeqCLRTransformer.load(out / "step-1" / "encoder.safetensors", device="cpu")
    final = SeqCLRTransformer.load(out / "encoder.safetensors", device="cpu")
    assert (untrained.n_steps_, after_one.n_steps_, final.n_steps_) == (0, 1, 2)
    features = [t.transform(X) for t in (untrained, after_one, final)]
    assert not np.allclose(features[0], features[1]) and not np.allclose(features[1], features[2])

    # step 0 is the initial network: the untrained control of the same seed
    control = tmp_path / "control"
    assert main(["pretrain", *SYNTHETIC, *TINY_ARGS, "--epochs", "0", "--output", str(control),
                 "--quiet"]) == EXIT_OK
    np.testing.assert_allclose(features[0], SeqCLRTransformer.load(control / "encoder.safetensors",
                                                                   device="cpu").transform(X), rtol=1e-5, atol=1e-6)
    npy = tmp_path / "step1.npy"
    assert main(["features", "--weights", str(out / "step-1"), *SYNTHETIC, "--output", str(npy), "--quiet"]) == EXIT_OK
    np.testing.assert_allclose(np.load(npy), features[1], rtol=1e-5, atol=1e-5)


def test_pretrain_snapshot_step_beyond_the_run_is_a_clear_error(tmp_path, capsys):
    out = tmp_path / "model"
    code = main(["pretrain", *SYNTHETIC, *TINY_ARGS, "--snapshot-steps", "5", "--output", str(out)])
    assert code != EXIT_OK
    assert "snapshot_steps asks for step 5" in capsys.readouterr().err
    assert not (out / "encoder.safetensors").exists()


@pytest.mark.shared_data
def test_pretrain_on_two_datasets_and_features_of_another_montage(tmp_path):
    path = shared_path("eegbci")
    out = tmp_path / "model"
    code = main(["pretrain", "--dataset", "synthetic", "eegbci", "--data-dir", str(path), "--runs", "4",
                 "--n-windows", "24", "--window-s", "2", *TINY_ARGS, "--output", str(out), "--quiet"])
    assert code == EXIT_OK
    config = json.loads((out / "config.json").read_text())
    assert [d["dataset"] for d in config["datasets"]] == ["synthetic", "eegbci"]
    assert config["datasets"][1]["n_windows"] == 15
    assert "runs [4], " in config["datasets"][1]["description"]  # the runs asked for, as the user gave them
    npy = tmp_path / "bci.npy"
    assert main(["features", "--weights", str(out), "--dataset", "eegbci", "--data-dir", str(path), "--runs", "4",
                 "--window-s", "2", "--output", str(npy), "--quiet"]) == EXIT_OK
    assert np.load(npy).shape[0] == 15 and np.isfinite(np.load(npy)).all()
    # eegbci's 64 named electrodes: the default feature_channels="auto" reads them and their 176 neighbour pairs
    assert np.load(npy).shape[1] == (64 + 176) * 12


@pytest.mark.shared_data
def test_pretrain_on_eegbci_whole_runs(tmp_path, capsys):
    from skseqclr.datasets import load_eegbci_continuous

    path = shared_path("eegbci")
    out = tmp_path / "model"
    runs_args = ["--dataset", "eegbci", "--data-dir", str(path), "--eegbci-windows", "runs", "--runs", "3,4",
                 "--window-s", "2"]
    assert main(["pretrain", *runs_args, *TINY_ARGS, "--output", str(out), "--quiet"]) == EXIT_OK
    expected = load_eegbci_continuous(1, runs=[3, 4], path=path, window_size_s=2, sfreq=128)
    config = json.loads((out / "config.json").read_text())
    # every 2-s window of both whole runs (about 62 each), not the 15 windows after run 4's cues
    assert config["datasets"][0]["n_windows"] == len(expected) > 100
    assert "whole runs" in config["datasets"][0]["description"]

    # one subject's runs are all pretraining material: the train split is every run given, the test split none
    assert main(["pretrain", *runs_args, *TINY_ARGS, "--split", "test", "--output", str(out)]) == EXIT_USAGE
    assert "eegbci has no windows in --split test" in capsys.readouterr().err
    assert main(["pretrain", *runs_args[:-4], "--runs", "14,15", *TINY_ARGS, "--output", str(out)]) == EXIT_USAGE
    assert "eegbci has runs 1-14" in capsys.readouterr().err


def test_pretrain_writes_nothing_on_other_ranks(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pretrain.D, "is_main_process", lambda: False)
    out = tmp_path / "model"
    assert main(["pretrain", *SYNTHETIC, *TINY_ARGS, "--output", str(out)]) == EXIT_OK
    assert not out.exists()
    assert capsys.readouterr().out == ""


def test_features_refuses_another_sampling_rate(tmp_path, capsys):
    out = tmp_path / "model"
    untrained = [*TINY_ARGS, "--epochs", "0"]  # the saved encoder's rate is all this test needs
    assert main(["pretrain", *SYNTHETIC, *untrained, "--output", str(out), "--quiet"]) == EXIT_OK
    code = main(["features", "--weights", str(out), *SYNTHETIC, "--sfreq", "100", "--output", str(tmp_path / "f.npy")])
    assert code == EXIT_USAGE
    assert "pretrained at 128 Hz" in capsys.readouterr().err


def test_bad_weights_file_is_a_runtime_failure(tmp_path, capsys):
    bogus = tmp_path / "encoder.safetensors"
    bogus.write_bytes(b"not weights")
    assert main(["features", "--weights", str(bogus), *SYNTHETIC, "--output", str(tmp_path / "f.npy")]) == EXIT_FAILURE
    assert "skseqclr features: error" in capsys.readouterr().err


@pytest.mark.slow
def test_console_script(tmp_path):
    script = shutil.which("skseqclr", path=os.path.dirname(sys.executable)) or shutil.which("skseqclr")
    if script is None:
        pytest.skip("the skseqclr console script is not installed (pip install -e .)")
    env = {**os.environ, "SKSEQCLR_DATA": str(tmp_path)}
    result = subprocess.run([script, "benchmark", "--dataset", "synthetic", "--n-windows", "30", "--methods",
                             "logpower", "bands", "--fractions", "1", "--quiet"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "log-variance bands" in result.stdout


# ------------------------------------------------------------ --data: the user's own recordings

CH_10_20 = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7", "P3", "Pz", "P4", "P8",
            "O1", "O2"]


def _write_epochs(path, subjects=(1, 2, 3), classes=("rest", "task"), n_per=4, metadata_column="subject"):
    """An -epo.fif of 2-s epochs at 128 Hz on 19 10-20 channels: 10 Hz ('rest') or 20 Hz ('task') rhythms."""
    import mne
    import pandas as pd

    rng = np.random.default_rng(0)
    sfreq, n_times = 128.0, 256
    t = np.arange(n_times) / sfreq
    X, codes, subject_of = [], [], []
    event_id = {name: i + 1 for i, name in enumerate(classes)}
    for subject in subjects:
        for k, name in enumerate(classes):
            for _ in range(n_per):
                rhythm = np.sin(2 * np.pi * (10 + 10 * k) * t + rng.uniform(0, 2 * np.pi))
                X.append(1e-5 * (rhythm + 0.5 * rng.standard_normal((len(CH_10_20), n_times))))
                codes.append(event_id[name])
                subject_of.append(subject)
    info = mne.create_info(CH_10_20, sfreq, "eeg")
    events = np.c_[np.arange(len(codes)) * n_times, np.zeros(len(codes), int), codes]
    metadata = pd.DataFrame({metadata_column: subject_of})
    epochs = mne.EpochsArray(np.asarray(X), info, events=events, event_id=event_id, metadata=metadata,
                             verbose="error")
    epochs.save(path, overwrite=True, verbose="error")
    return path


def _write_raw(path, seconds=10.0, sfreq=128.0, ch_names=CH_10_20[:4]):
    import mne

    rng = np.random.default_rng(len(str(path)))
    info = mne.create_info(list(ch_names) + ["STI"], sfreq, ["eeg"] * len(ch_names) + ["stim"])
    data = np.r_[1e-5 * rng.standard_normal((len(ch_names), int(seconds * sfreq))), np.zeros((1, int(seconds * sfreq)))]
    mne.io.RawArray(data, info, verbose="error").save(path, overwrite=True, verbose="error")
    return path


@pytest.mark.slow
def test_benchmark_on_an_epochs_file(tmp_path, capsys):
    path = _write_epochs(tmp_path / "mine-epo.fif")
    out = tmp_path / "results.json"
    code = main(["benchmark", "--data", str(path), *TINY_ARGS, "--fractions", "1",
                 "--methods", "seqclr", "untrained", "bands", "--output", str(out)])
    printed = capsys.readouterr()
    assert code == EXIT_OK, printed.err
    assert "mine-epo.fif: 24 epochs of 2 s, classes rest, task, 3 subject(s), train subjects 1-2, test 3" in printed.out
    assert "SeqCLR pretrained  " in printed.out and "SeqCLR untrained  " in printed.out
    report = json.loads(out.read_text())
    assert (report["n_train"], report["n_test"]) == (16, 8)
    assert report["seqclr_params"]["ch_names"] == CH_10_20
    # the 10 Hz / 20 Hz rhythms are separable by band power on the held-out subject
    assert max(r["balanced_accuracy"] for r in report["rows"] if r["method"] == "log-variance bands") > 0.7


def _bad_data_cases(tmp_path):
    good = _write_epochs(tmp_path / "good-epo.fif")
    junk = tmp_path / "junk-epo.fif"
    junk.write_bytes(b"not a fif file")
    return {
        "missing": (["--data", str(tmp_path / "nope-epo.fif")], "does not exist"),
        "unreadable": (["--data", str(junk)], "cannot read"),
        "raw recording": (["--data", str(_write_raw(tmp_path / "rec_raw.fif"))], "no labels"),
        "empty folder": (["--data", str((tmp_path / "empty").resolve())], "no recordings"),
        "one class": (["--data", str(_write_epochs(tmp_path / "one-epo.fif", classes=("rest",)))], "single class"),
        "one subject": (["--data", str(_write_epochs(tmp_path / "solo-epo.fif", subjects=(7,)))], "single subject"),
        "unknown column": (["--data", str(good), "--subject-column", "participant"], "no such column"),
        "no subject column": (["--data", str(_write_epochs(tmp_path / "anon-epo.fif", metadata_column="who"))],
                              "--subject-column"),
        "bad picks": (["--data", str(good), "--picks", "Oz9"], "--picks"),
        "with --dataset": (["--data", str(good), "--dataset", "synthetic"], "not both"),
    }


@pytest.mark.parametrize("case", ["missing", "unreadable", "raw recording", "empty folder", "one class",
                                  "one subject", "unknown column", "no subject column", "bad picks",
                                  "with --dataset"])
def test_benchmark_data_usage_errors_before_pretraining(case, tmp_path, capsys, monkeypatch):
    from skseqclr.transformer import SeqCLRTransformer

    (tmp_path / "empty").mkdir()
    options, word = _bad_data_cases(tmp_path)[case]
    monkeypatch.setattr(SeqCLRTransformer, "fit", lambda *a, **k: pytest.fail("pretraining started"))
    assert main(["benchmark", *options, *TINY_ARGS]) == EXIT_USAGE
    assert word in capsys.readouterr().err


@pytest.mark.parametrize("options, word", [
    ([], "one of --dataset or --data"),
    (["--dataset", "synthetic", "--data", "x.edf"], "not both"),
])
def test_pretrain_needs_dataset_or_data(options, word, tmp_path, capsys):
    assert main(["pretrain", *options, "--output", str(tmp_path / "out")]) == EXIT_USAGE
    assert word in capsys.readouterr().err


def test_pretrain_on_a_folder_of_raw_recordings(tmp_path, capsys):
    folder = tmp_path / "recordings"
    folder.mkdir()
    _write_raw(folder / "a_raw.fif", seconds=10)
    _write_raw(folder / "b_raw.fif", seconds=6, sfreq=256.0)  # resampled to 128 Hz
    (folder / "notes.txt").write_text("not a recording")
    out = tmp_path / "out"
    code = main(["pretrain", "--data", str(folder), "--window-seconds", "2", *TINY_ARGS, "--output", str(out)])
    printed = capsys.readouterr()
    assert code == EXIT_OK, printed.err
    assert (out / "encoder.safetensors").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["datasets"][0]["n_windows"] == 5 + 3  # whole 2-s windows of each recording
    assert config["seqclr_params"]["ch_names"] == CH_10_20[:4]  # the stimulus channel is not a data channel
    assert "2 recording(s)" in printed.out
    # the recordings' montages must agree
    _write_raw(folder / "c_raw.fif", ch_names=CH_10_20[4:8])
    assert main(["pretrain", "--data", str(folder), *TINY_ARGS, "--output", str(out)]) == EXIT_USAGE
    assert "differ" in capsys.readouterr().err


@pytest.mark.shared_data
def test_pretrain_on_eegmat_edf_files(tmp_path, capsys):
    files = [shared_path("eegmat", "Subject00_1.edf"), shared_path("eegmat", "Subject01_1.edf")]
    out = tmp_path / "out"
    code = main(["pretrain", "--data", *map(str, files), "--picks", "eeg", *TINY_ARGS, "--output", str(out)])
    printed = capsys.readouterr()
    assert code == EXIT_OK, printed.err
    assert (out / "encoder.safetensors").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["datasets"][0]["n_windows"] > 10 and len(config["seqclr_params"]["ch_names"]) >= 19
