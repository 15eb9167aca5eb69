"""Pooling the encoder's output over time: statistics and log powers in frequency bands."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import TINY
from skseqclr import Preprocessing, Readout, SeqCLRTransformer
from skseqclr.features import encode_windows
from skseqclr.pooling import POOLING_BANDS, check_band_resolution, check_pooling, pool


def test_band_statistics_find_the_rhythm_and_match_a_numpy_periodogram():
    sfreq, n_times = 128.0, 512
    t = np.arange(n_times) / sfreq
    rng = np.random.default_rng(0)
    rhythms = {"delta": 2.0, "theta": 6.0, "alpha": 10.0, "beta": 20.0, "gamma": 40.0}
    h = np.stack([5 * np.sin(2 * np.pi * f * t) + 0.1 * rng.standard_normal(n_times) for f in rhythms.values()])
    h = torch.tensor(h[None] + 3.0, dtype=torch.float32)  # (1, 5 channels, T), an offset the bands ignore
    names = check_pooling("bands")
    assert names == tuple(POOLING_BANDS)
    pooled = pool(h, names, sfreq).reshape(5, 5)  # (channel, band)
    # each channel's largest band power is its own rhythm's band
    assert pooled.argmax(dim=1).tolist() == [0, 1, 2, 3, 4]

    centred = h[0].numpy() - h[0].numpy().mean(axis=-1, keepdims=True)
    periodogram = np.abs(np.fft.rfft(centred, axis=-1)) ** 2 / n_times
    freqs = np.fft.rfftfreq(n_times, 1 / sfreq)
    for b, (low, high) in enumerate(POOLING_BANDS.values()):
        expected = np.log(periodogram[:, (freqs >= low) & (freqs < high)].mean(axis=-1) + 1e-6)
        np.testing.assert_allclose(pooled[:, b].numpy(), expected, rtol=1e-4, atol=1e-4)


def test_statistics_and_bands_mix_in_the_given_order():
    h = torch.randn(2, 4, 256)
    mixed = pool(h, check_pooling(("logms", "alpha", "mean")), sfreq=128.0).reshape(2, 4, 3)
    torch.testing.assert_close(mixed[..., 0], torch.log(h.square().mean(-1) + 1e-6))
    torch.testing.assert_close(mixed[..., 1], pool(h, ("alpha",), sfreq=128.0))
    torch.testing.assert_close(mixed[..., 2], h.mean(-1))


@pytest.mark.parametrize("pooling, message", [
    ((), "at least one statistic"),
    (("median",), r"Unknown pooling statistic\(s\) \['median'\]"),
    (("bands", "alpha"), r"pooling names \['alpha'\] more than once"),
])
def test_bad_pooling_names(pooling, message):
    with pytest.raises(ValueError, match=message):
        check_pooling(pooling)


def test_band_resolution_errors_name_the_problem():
    check_band_resolution(("mean", "std"), 8, None)  # no band: nothing to check
    with pytest.raises(ValueError, match=r"frequency bands and need the sampling frequency"):
        check_band_resolution(("alpha",), 512, None)
    # 16 samples at 128 Hz: bins every 8 Hz, none in 1-4 Hz
    with pytest.raises(ValueError, match=r"'delta' \(1-4 Hz\) holds no frequency bin of windows of 16 samples"):
        check_band_resolution(check_pooling("bands"), 16, 128.0)
    # 50 Hz: the Nyquist frequency is 25 Hz, below the gamma band
    with pytest.raises(ValueError, match=r"'gamma' \(30-45 Hz\).*up to 25 Hz"):
        check_band_resolution(check_pooling("bands"), 500, 50.0)
    check_band_resolution(("delta", "theta", "alpha", "beta"), 500, 50.0)


def test_transformer_with_band_pooling_gives_the_band_powers_of_its_encoder_outputs(rng):
    windows = (20 * rng.standard_normal((10, 3, 256))).astype(np.float32)
    seqclr = SeqCLRTransformer(**TINY, sfreq=128, preprocessing=Preprocessing(units="uV"), n_epochs=1, batch_size=16,
                               readout=Readout(pooling=("mean", "bands")), random_state=0).fit(windows)
    features = seqclr.transform(windows)
    assert features.shape == (10, 3 * 4 * 6) and np.isfinite(features).all()
    names = seqclr.get_feature_names_out()
    assert list(names[:6]) == ["ch0_h0_mean", "ch0_h0_delta", "ch0_h0_theta", "ch0_h0_alpha", "ch0_h0_beta",
                               "ch0_h0_gamma"]
    with torch.no_grad():
        h = encode_windows(seqclr.encoder_.eval(), torch.from_numpy(windows), seqclr.encoding_settings(torch.device("cpu")))
    expected = pool(h, check_pooling(("mean", "bands")), 128.0).reshape(10, -1).numpy()
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-4)


def test_band_pooling_refuses_unknown_rates_and_short_windows(rng):
    windows = (20 * rng.standard_normal((8, 2, 256))).astype(np.float32)
    params = dict(**TINY, preprocessing=Preprocessing(units="uV"), n_epochs=1, batch_size=8, time_shift=None,
                  zero_mask=None, random_state=0, readout=Readout(pooling="bands"))
    with pytest.raises(ValueError, match="need the sampling frequency: pass sfreq"):
        SeqCLRTransformer(**params).fit(windows)
    with pytest.raises(ValueError, match=r"'delta' \(1-4 Hz\) holds no frequency bin"):
        SeqCLRTransformer(**params, sfreq=128).fit(windows[..., :24])
    fitted = SeqCLRTransformer(**params, sfreq=128).fit(windows)
    with pytest.raises(ValueError, match=r"'delta' \(1-4 Hz\) holds no frequency bin"):
        fitted.transform(windows[..., :24])
