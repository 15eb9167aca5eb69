"""benchmarks/experiments/time_scales.py and feature_channels.py on an encoder saved as label_efficiency.py
--save-dir saves them: their quick paths score the saved encoder and its untrained twin with the readouts they
name, each of the width it claims."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import TINY, load_benchmark


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Exported windows of 19 named channels (four training, two test subjects) and a tiny encoder saved as
    seed0.safetensors, fitted on the training windows."""
    from skseqclr.datasets import EEGMAT_CHANNELS

    runner = load_benchmark("experiments/_runner")
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("saved")
    y = np.tile([0, 1], 36)
    X = (rng.standard_normal((len(y), 19, 256)) * np.where(y == 1, 11.0, 10.0)[:, None, None]).astype(np.float32)
    groups = np.repeat(np.arange(6), 12)
    train, test = groups < 4, groups >= 4
    runner.export_windows(folder / "windows.npz", X[train], y[train], X[test], y[test], groups[train], groups[test],
                          128.0)
    runner.make_seqclr(**TINY, sfreq=128.0, ch_names=list(EEGMAT_CHANNELS), n_epochs=1, max_steps=1, batch_size=16,
                       preprocessing__units="uV", random_state=0).fit(X[train]).save(folder / "seed0.safetensors")
    return folder


def _rows(path):
    return {row["method"]: row for row in json.loads(path.read_text())["rows"]}


def test_time_scales_adds_the_segment_statistics_to_the_default_pooling(saved, tmp_path, monkeypatch):
    from skseqclr.pooling import POOLING_STATISTICS

    monkeypatch.setitem(POOLING_STATISTICS, "seg64_std", None)  # the script registers it: removed after the test
    bench = load_benchmark("experiments/time_scales")
    bench.main(["--windows", str(saved / "windows.npz"), "--load-dir", str(saved), "--quick", "--probe-c", "1",
                "--segments", "64", "--threads", "1", "--output", str(tmp_path / "ts.json")])
    rows = _rows(tmp_path / "ts.json")
    readouts = ("mean, std, log-mean-square (default)", "default + std of 64-sample log-mean-squares")
    assert set(rows) == {f"SeqCLR {state}, {readout}" for state in ("pretrained", "untrained") for readout in readouts}
    default, segments = (rows[f"SeqCLR pretrained, {readout}"]["n_features"] for readout in readouts)
    assert segments == default // 3 * 4  # 4 statistics of each encoder output and channel instead of 3


def test_feature_channels_reads_each_set_beside_the_log_power_of_its_channels(saved, tmp_path):
    bench = load_benchmark("experiments/feature_channels")
    bench.main(["--windows", str(saved / "windows.npz"), "--load-dir", str(saved), "--quick", "--probe-c", "1",
                "--sets", "original", "montage", "--cache", str(tmp_path), "--threads", "1",
                "--output", str(tmp_path / "fc.json")])
    rows = _rows(tmp_path / "fc.json")
    assert set(rows) == {f"{name} [{channels}]" for name in ("SeqCLR pretrained", "SeqCLR untrained", "log-power")
                         for channels in ("original", "montage")}
    assert rows["log-power [original]"]["n_features"] == 19 and rows["log-power [montage]"]["n_features"] == 30
    per_channel = rows["SeqCLR pretrained [original]"]["n_features"] // 19
    assert rows["SeqCLR untrained [montage]"]["n_features"] == 30 * per_channel
    assert (tmp_path / "all_channels_seed0.npz").exists()
