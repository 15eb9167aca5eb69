"""Proof that pretraining learns: without labels, it makes a spectral task linearly easier.

Two classes of windows differ only in the frequency of a rhythm (7 vs 12 Hz), hidden
in 1/f noise and a random gain per window that spans a factor of 25. A logistic
regression on features of the tiny encoder must score clearly higher after contrastive
pretraining than on the same encoder untrained (``n_epochs=0``, same seed and
initial weights).
"""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skseqclr import SeqCLRTransformer


def rhythm_in_noise(n_windows, rng, sfreq=100.0, n_times=200):
    t = np.arange(n_times) / sfreq
    y = rng.integers(0, 2, n_windows)
    frequency = np.where(y == 0, 7.0, 12.0)[:, None, None] + rng.uniform(-1, 1, (n_windows, 1, 1))
    rhythm = np.sin(2 * np.pi * frequency * t + rng.uniform(0, 2 * np.pi, (n_windows, 2, 1)))
    white = rng.standard_normal((n_windows, 2, n_times))
    pink = np.cumsum(white, axis=-1)
    pink = (pink - pink.mean(-1, keepdims=True)) / pink.std(-1, keepdims=True)
    gain = np.exp(rng.uniform(np.log(0.2), np.log(5.0), (n_windows, 1, 1)))
    return (20 * gain * (rhythm + pink + 0.3 * white)).astype(np.float32), y


def probe_score(transformer, X_train, y_train, X_test, y_test):
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    probe.fit(transformer.transform(X_train), y_train)
    return balanced_accuracy_score(y_test, probe.predict(transformer.transform(X_test)))


@pytest.mark.slow
def test_pretraining_beats_the_untrained_encoder_on_a_spectral_task(tiny):
    rng = np.random.default_rng(0)
    X_train, y_train = rhythm_in_noise(400, rng)
    X_test, y_test = rhythm_in_noise(400, rng)
    params = dict(tiny, sfreq=100.0, batch_size=64, time_shift=(-10, 10), zero_mask=(0, 30), random_state=0)
    untrained = SeqCLRTransformer(n_epochs=0, **params).fit(X_train)
    pretrained = SeqCLRTransformer(n_epochs=5, **params).fit(X_train)
    assert pretrained.history_[-1]["loss"] < pretrained.history_[0]["loss"]
    before = probe_score(untrained, X_train, y_train, X_test, y_test)
    after = probe_score(pretrained, X_train, y_train, X_test, y_test)
    assert after >= before + 0.05, (before, after)
    assert after >= 0.9, (before, after)
