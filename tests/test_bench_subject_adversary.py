"""benchmarks/experiments/subject_adversary.py: with weight 0 its patched training step is the package's own
pretraining (the claim its comparison rests on), with weight 1 the adversary changes the encoder, the package's
Pretrainer is restored after each fit, and each seed scores the encoder beside its untrained twin."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import TINY, load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("experiments/subject_adversary")


def _windows(n_subjects, first_subject, rng):
    y = np.tile([0, 1], n_subjects * 6)
    X = (rng.standard_normal((len(y), 3, 256)) * 10).astype(np.float32)
    return X, y, np.repeat(np.arange(first_subject, first_subject + n_subjects), 12)


def test_weight_zero_is_the_packages_pretraining_and_weight_one_is_not(bench, monkeypatch):
    import skseqclr.transformer

    X, _, subjects = _windows(4, 0, np.random.default_rng(0))
    adversarial = bench.SubjectAdversarialPretrainer
    monkeypatch.setattr(adversarial, "window_subjects", subjects)
    monkeypatch.setattr(adversarial, "n_subjects", 4)
    params = dict(sfreq=128.0, n_epochs=100, max_steps=3, batch_size=16, preprocessing__units="uV", **TINY)
    package = bench.runner.make_seqclr(**params, random_state=0).fit(X)
    package_pretrainer = skseqclr.transformer.Pretrainer

    monkeypatch.setattr(adversarial, "weight", 0.0)
    monitored, log = bench.adversarial_fit(params, X, seed=0)
    assert skseqclr.transformer.Pretrainer is package_pretrainer
    assert [entry["step"] for entry in log] == [0, 1, 2]
    np.testing.assert_array_equal(monitored.transform(X), package.transform(X))

    monkeypatch.setattr(adversarial, "weight", 1.0)
    reversed_, _ = bench.adversarial_fit(params, X, seed=0)
    assert skseqclr.transformer.Pretrainer is package_pretrainer
    assert np.abs(reversed_.transform(X) - package.transform(X)).max() > 1e-3


def test_each_seed_scores_the_encoder_beside_its_untrained_twin(bench, tmp_path):
    rng = np.random.default_rng(1)
    (X_train, y_train, groups_train), (X_test, y_test, groups_test) = _windows(4, 0, rng), _windows(2, 4, rng)
    split = bench.runner.Split(X_train, y_train, X_test, y_test, groups_train, groups_test)
    tiny = [arg for key, value in TINY.items() for arg in ("--param", f"{key}={json.dumps(value)}")]
    args = bench.runner.parse_args(bench.build_parser(), ["--quick", "--probe-c", "1", "--param", "batch_size=16",
                                                          *tiny, "--save-dir", str(tmp_path)])
    rows, config = bench.score(args, split)
    assert {(row["method"], row["n_steps"], row["adversary_weight"]) for row in rows} == {
        ("SeqCLR pretrained", 2, 1.0), ("SeqCLR untrained", 0, 1.0)}
    assert config["max_steps"] == 2
    assert len(json.loads((tmp_path / "adversary_log_seed0.json").read_text())) == 2
    assert (tmp_path / "seed0.safetensors").exists()
