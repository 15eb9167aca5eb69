"""benchmarks/experiments/feature_reference.py: each readout it scores from stored default features is what
``SeqCLRTransformer.transform`` returns with that ``pooling`` and ``feature_reference``."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("experiments/feature_reference")


@pytest.mark.parametrize("statistics", [("mean", "std", "logms"), ("std", "logms"), ("mean",)])
def test_readouts_of_stored_features_are_what_transform_returns(bench, tiny, rng, statistics):
    from skseqclr import Preprocessing, Readout, SeqCLRTransformer
    from skseqclr.recombination import feature_channel_pairs
    from skseqclr.referencing import channel_kinds

    names = ["Fz", "Cz", "Pz"]
    X = (rng.standard_normal((6, 3, 256)) * 20).astype(np.float32)
    pairs = feature_channel_pairs("original+neighbours", names)
    transformer = SeqCLRTransformer(**tiny, n_epochs=0, preprocessing=Preprocessing(units="uV"), sfreq=128.0,
                                    random_state=0, readout=Readout(feature_channels=list(zip(pairs[0], pairs[1])))
                                    ).fit(X)
    stored = transformer.transform(X)  # the defaults: unreferenced mean / std / log-mean-square
    kinds = channel_kinds(pairs[0], pairs[1])
    assert 0 < kinds.sum() < len(kinds)  # both kinds of channel are read

    for reference, feature_reference in [("none", False), ("kinds+means", True)]:
        expected = transformer.set_params(readout__pooling=statistics,
                                          readout__feature_reference=feature_reference).transform(X)
        np.testing.assert_allclose(bench.readout(stored, kinds, statistics, reference), expected,
                                   rtol=1e-5, atol=1e-6)
    without_means = bench.readout(stored, kinds, statistics, "kinds")
    assert without_means.shape[1] == len(kinds) * 4 * len(statistics)
    with_means = bench.readout(stored, kinds, statistics, "kinds+means")
    np.testing.assert_array_equal(with_means[:, :without_means.shape[1]], without_means)
