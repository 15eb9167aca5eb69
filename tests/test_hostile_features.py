"""Tests that catch a wrong feature: the values of what is computed, against independent references.

Each table below pairs a computation of the package with a reference written
here in NumPy / SciPy from the documented definition (not from the package's
code), on inputs chosen so that a plausible small bug changes the result: a
standard deviation replaced by the variance, a maximum by the minimum, a band
edge moved by one bin, a filter output shifted by one sample, a padding off by
one. The statistics' table must name every statistic of
:data:`skseqclr.pooling.POOLING_STATISTICS` and the bands' table every band of
:data:`skseqclr.pooling.POOLING_BANDS`, so a new one cannot be added without a
reference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import signal
from torch import nn

from conftest import TINY
from skseqclr import Preprocessing, Readout, SeqCLRTransformer
from skseqclr.augmentations import functional as AF
from skseqclr.pooling import POOLING_BANDS, POOLING_STATISTICS, check_pooling, pool

# --------------------------------------------------------------------------- pooling statistics over time
#: Each statistic over time, from its documented definition (docs/user_guide/features.rst), in float64 NumPy.
STATISTIC_REFERENCES = {
    "mean": lambda h: np.mean(h, axis=-1),
    "std": lambda h: np.std(h, axis=-1, ddof=0),  # the standard deviation over time, not the variance
    "logms": lambda h: np.log(np.mean(h ** 2, axis=-1) + 1e-6),
    "max": lambda h: np.max(h, axis=-1),
    "absmean": lambda h: np.mean(np.abs(h), axis=-1),
}

#: The documented frequency bands in Hz, ``[low, high)`` (docs/user_guide/features.rst), written out here
#: rather than read from POOLING_BANDS, so that a moved edge is caught.
DOCUMENTED_BANDS = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}


def _signals(n_times: int, sfreq: float = 128.0) -> dict[str, np.ndarray]:
    """Encoder-like outputs ``(2, 4, n_times)`` on which the statistics differ from their plausible mix-ups."""
    rng = np.random.default_rng(0)
    t = np.arange(n_times) / sfreq
    spikes = np.full((2, 4, n_times), -0.5)
    spikes[..., ::37] = 7.0
    edge_tones = sum(a * np.sin(2 * np.pi * f * t + a) for a, f in
                     [(1.0, 1.0), (2.0, 4.0), (3.0, 8.0), (4.0, 13.0), (5.0, 30.0), (6.0, 45.0)])
    return {
        "gaussian": 1.5 + 3.0 * rng.standard_normal((2, 4, n_times)),  # std 3, variance 9
        "all negative": -2.0 - np.abs(rng.standard_normal((2, 4, n_times))),  # max != min, max != |.|max
        "skewed spikes": spikes,  # max far from -min; mean != absmean
        "tones on band edges": np.broadcast_to(edge_tones, (2, 4, n_times)) * np.arange(1, 5)[:, None] + 0.3,
        "constant": np.full((2, 4, n_times), 2.5),  # std 0
        "tiny": 1e-4 * rng.standard_normal((2, 4, n_times)),  # where the 1e-6 of logms dominates
        "large": 1e3 * rng.standard_normal((2, 4, n_times)) + 50.0,
    }


def test_every_statistic_and_band_has_an_independent_reference():
    assert set(STATISTIC_REFERENCES) == set(POOLING_STATISTICS)
    assert POOLING_BANDS == DOCUMENTED_BANDS


@pytest.mark.parametrize("case", list(_signals(256)))
@pytest.mark.parametrize("name", list(STATISTIC_REFERENCES))
def test_each_statistic_over_time_matches_numpy(name, case):
    h = _signals(256)[case]
    pooled = pool(torch.tensor(h, dtype=torch.float32), (name,)).numpy()  # (2, 4 * 1)
    expected = STATISTIC_REFERENCES[name](h.astype(np.float32).astype(np.float64)).reshape(2, 4)
    np.testing.assert_allclose(pooled, expected, rtol=2e-5, atol=2e-5 * max(1.0, np.abs(expected).max()))


def _band_log_power_reference(h: np.ndarray, sfreq: float, low: float, high: float) -> np.ndarray:
    """log(mean over the band's bins of |FFT(h - mean)|² / T + 1e-6), via SciPy's periodogram.

    SciPy's one-sided density doubles every bin but DC and (even T) Nyquist and divides by ``sfreq * T``;
    undo both to get ``|X_k|² / T`` on the non-negative frequency bins.
    """
    freqs, density = signal.periodogram(h, fs=sfreq, window="boxcar", detrend="constant", scaling="density",
                                        return_onesided=True, axis=-1)
    n_times = h.shape[-1]
    unfold = np.full(freqs.shape, sfreq / 2)
    unfold[0] = sfreq
    if n_times % 2 == 0:
        unfold[-1] = sfreq
    power = density * unfold
    in_band = (freqs >= low) & (freqs < high)
    assert in_band.any()
    return np.log(power[..., in_band].mean(axis=-1) + 1e-6)


@pytest.mark.parametrize("sfreq, n_times", [
    (128.0, 512),   # bins every 0.25 Hz: 1, 4, 8, 13, 30 and 45 Hz are bins, on the bands' edges
    (100.0, 301),   # odd length
    (90.0, 270),    # Nyquist (45 Hz) is the gamma band's excluded upper edge
    (80.0, 320),    # Nyquist (40 Hz) inside the gamma band
])
@pytest.mark.parametrize("case", ["gaussian", "tones on band edges", "skewed spikes", "large"])
def test_band_log_powers_match_a_scipy_periodogram(sfreq, n_times, case):
    h = _signals(n_times, sfreq)[case]
    names = check_pooling("bands")
    pooled = pool(torch.tensor(h, dtype=torch.float32), names, sfreq).numpy().reshape(2, 4, len(names))
    h32 = h.astype(np.float32).astype(np.float64)
    for b, name in enumerate(names):
        expected = _band_log_power_reference(h32, sfreq, *DOCUMENTED_BANDS[name])
        np.testing.assert_allclose(pooled[..., b], expected, rtol=0, atol=2e-4, err_msg=name)


@pytest.mark.parametrize("band", list(DOCUMENTED_BANDS))
def test_a_tone_on_a_band_edge_counts_in_the_band_above_it(band):
    """``[low, high)``: a tone exactly on the lower edge is in the band; one exactly on the upper edge is not."""
    sfreq, n_times = 128.0, 512  # bins every 0.25 Hz: every edge is a bin
    low, high = DOCUMENTED_BANDS[band]
    t = np.arange(n_times) / sfreq
    on_low = torch.tensor(np.sin(2 * np.pi * low * t)[None, None], dtype=torch.float32)
    on_high = torch.tensor(np.sin(2 * np.pi * high * t)[None, None], dtype=torch.float32)
    assert float(pool(on_low, (band,), sfreq)) > math.log(1.0)  # |X|²/T = T/4 on one bin
    assert float(pool(on_high, (band,), sfreq)) < math.log(1e-3)  # no power in the band


# --------------------------------------------------------------------------- the feature vector's layout
class KnownEncoder(nn.Module):
    """An "encoder" whose output for the ``i``-th channel it is given is row ``i`` of a fixed table.

    The rows come in the order the transformer encodes them: window after window, channel after channel;
    the output does not depend on the input's values, so the features are known whatever the scaling.
    """

    n_outputs = 4
    min_length = 1

    def __init__(self, table: np.ndarray):
        super().__init__()
        self.table = torch.tensor(table, dtype=torch.float32)  # (n_rows, 4, n_times)
        self.offset = 0

    def forward(self, x):
        rows = self.table[self.offset:self.offset + x.shape[0]]
        assert rows.shape[0] == x.shape[0] and rows.shape[-1] == x.shape[-1], "more channels than the table"
        self.offset += x.shape[0]
        return rows.to(x.device)


@pytest.mark.parametrize("pooling", [
    ("mean", "std", "logms"),  # the default
    ("max", "absmean", "mean"),
    tuple(STATISTIC_REFERENCES),
    ("std", "bands", "max"),
])
def test_transform_puts_each_statistic_where_get_feature_names_out_says(pooling):
    n_windows, n_channels, n_times, sfreq = 6, 3, 256, 128.0
    windows = (20 * np.random.default_rng(1).standard_normal((n_windows, n_channels, n_times))).astype(np.float32)
    seqclr = SeqCLRTransformer(**TINY, sfreq=sfreq, preprocessing=Preprocessing(units="uV"),
                               readout=Readout(pooling=pooling), n_epochs=0, batch_size=4,
                               bandstop=None, time_shift=None, zero_mask=None, random_state=0).fit(windows)
    # every (window, channel, output) its own signal; a few batches of windows, encoded in order
    cases = [case.reshape(-1, 4, n_times) for case in _signals(n_times, sfreq).values()]
    table = np.concatenate(cases * 2)[:n_windows * n_channels]
    table = table * np.arange(1, len(table) + 1)[:, None, None] ** 0.5 - np.arange(len(table))[:, None, None]
    seqclr.encoder_ = KnownEncoder(table)
    features = seqclr.transform(windows)
    assert seqclr.encoder_.offset == n_windows * n_channels  # each channel encoded once

    names = seqclr.get_feature_names_out()
    assert features.shape == (n_windows, len(names))
    h = table.astype(np.float32).astype(np.float64).reshape(n_windows, n_channels, 4, n_times)
    for column, name in enumerate(names):
        channel, output, statistic = name.split("_")
        c, k = int(channel.removeprefix("ch")), int(output.removeprefix("h"))
        if statistic in STATISTIC_REFERENCES:
            expected = STATISTIC_REFERENCES[statistic](h[:, c, k])
        else:
            expected = _band_log_power_reference(h[:, c, k], sfreq, *DOCUMENTED_BANDS[statistic])
        np.testing.assert_allclose(features[:, column], expected, rtol=2e-5,
                                   atol=2e-4 * max(1.0, np.abs(expected).max()), err_msg=name)


# --------------------------------------------------------------------------- the band-stop augmentation
def _documented_bandstop(x: np.ndarray, centre: float, sfreq: float, width: float = 5.0, order: int = 4):
    """The documented band-stop in NumPy: reflect-pad by min(T - 1, one second), multiply the spectrum by
    ``1 / sqrt(1 + ((width / 2) / (f - centre)) ** (2 * order))``, transform back and cut the padding."""
    n_times = x.shape[-1]
    pad = min(n_times - 1, int(round(sfreq)))
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)], mode="reflect")
    freqs = np.fft.rfftfreq(padded.shape[-1], d=1 / sfreq)
    with np.errstate(divide="ignore"):
        response = 1 / np.sqrt(1 + ((width / 2) / np.abs(freqs - centre)) ** (2 * order))
    filtered = np.fft.irfft(np.fft.rfft(padded, axis=-1) * response, n=padded.shape[-1], axis=-1)
    return filtered[..., pad:pad + n_times]


#: (sampling frequency in Hz, stop-band centre in Hz, a tone 15 Hz or more away from it in Hz)
PASS_BAND_CASES = [
    (200.0, 10.0, 40.0),
    (200.0, 40.0, 10.0),
    (200.0, 20.0, 35.0),
    (200.0, 20.0, 5.0),
    (200.0, 2.8, 20.0),
    (200.0, 82.5, 20.0),
    (128.0, 30.0, 6.0),
    (128.0, 61.5, 40.0),
    (250.0, 50.0, 20.0),
]


def _tones(frequency, sfreq, seconds, dtype=torch.float64):
    t = torch.arange(int(seconds * sfreq), dtype=torch.float64) / sfreq
    phases = torch.linspace(0, 2 * math.pi, 9, dtype=torch.float64)[:-1, None]
    return (20.0 * torch.sin(2 * math.pi * frequency * t + phases)).to(dtype)  # 8 phases, amplitude 20


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("sfreq, centre, tone", PASS_BAND_CASES)
def test_bandstop_passes_a_far_tone_sample_by_sample(sfreq, centre, tone, dtype):
    x = _tones(tone, sfreq, 4.0, dtype)  # the paper's 4-s windows
    out = AF.bandstop_filter(x, torch.full((len(x),), centre, dtype=dtype), sfreq)
    assert out.dtype == dtype and out.shape == x.shape
    error = (out.double() - x.double()).abs() / 20.0  # relative to the amplitude
    edge = int(0.5 * sfreq)  # the filter's settling time from each end (see bandstop_filter)
    assert error[:, edge:-edge].max() < 5e-3, "the tone changed in phase or amplitude away from the edges"
    assert error.max() < 0.2, "the tone changed at the edges by more than the filter's transients"
    # and exactly the documented filter
    expected = _documented_bandstop(x.double().numpy(), float(torch.tensor(centre, dtype=dtype)), sfreq)
    tolerance = 1e-9 if dtype == torch.float64 else 2e-5
    np.testing.assert_allclose(out.double().numpy(), expected, rtol=0, atol=tolerance * 20)


def _scipy_can_design(sfreq, centre):
    """SciPy's Butterworth needs both edges strictly inside (0, Nyquist); below 10 Hz its transients outlast
    the middle of an 8-s window."""
    return 10.0 <= centre and centre + 2.5 < sfreq / 2


@pytest.mark.parametrize("sfreq, centre, tone", [case for case in PASS_BAND_CASES if _scipy_can_design(*case[:2])])
def test_bandstop_pass_band_agrees_with_scipy_sosfiltfilt(sfreq, centre, tone):
    """Away from the window's edges a far tone comes out of SciPy's zero-phase Butterworth band-stop and of
    this filter the same (both: unchanged), sample by sample."""
    x = _tones(tone, sfreq, 8.0)
    out = AF.bandstop_filter(x, torch.full((len(x),), centre, dtype=torch.float64), sfreq).numpy()
    sos = signal.butter(4, [centre - 2.5, centre + 2.5], btype="bandstop", fs=sfreq, output="sos")
    reference = signal.sosfiltfilt(sos, x.numpy(), axis=-1, padlen=int(sfreq))
    middle = slice(int(2 * sfreq), int(6 * sfreq))
    np.testing.assert_allclose(out[:, middle], reference[:, middle], rtol=0, atol=1e-4 * 20)


@pytest.mark.parametrize("sfreq, centre", [(200.0, 2.8), (200.0, 40.0), (200.0, 82.5), (128.0, 33.3), (128.0, 61.5),
                                           (250.0, 100.0)])
def test_bandstop_attenuates_its_centre_sample_by_sample(sfreq, centre):
    x = _tones(centre, sfreq, 4.0, torch.float32)
    out = AF.bandstop_filter(x, torch.full((len(x),), centre), sfreq)
    edge = int(0.5 * sfreq)
    assert (out[:, edge:-edge].abs().max() / 20.0) < 0.03  # every sample below -30 dB of the amplitude
    # like SciPy's zero-phase Butterworth band-stop (8-s windows, its middle: clear of both filters' transients)
    if _scipy_can_design(sfreq, centre):
        long = _tones(centre, sfreq, 8.0)
        sos = signal.butter(4, [centre - 2.5, centre + 2.5], btype="bandstop", fs=sfreq, output="sos")
        reference = signal.sosfiltfilt(sos, long.numpy(), axis=-1, padlen=int(sfreq))
        ours = AF.bandstop_filter(long, torch.full((len(long),), centre, dtype=torch.float64), sfreq).numpy()
        middle = slice(int(2 * sfreq), int(6 * sfreq))
        assert np.abs(reference[:, middle]).max() / 20.0 < 0.03 and np.abs(ours[:, middle]).max() / 20.0 < 0.03


# --------------------------------------------------------------------------- reflection padding
#: (shape, pad): F.pad(mode="reflect") needs pad < length; 0 and length - 1 are the edge cases.
REFLECT_PAD_CASES = [
    ((1, 1), 0),
    ((3, 2), 1),
    ((3, 5), 0),
    ((3, 5), 1),
    ((3, 5), 4),
    ((4, 64), 63),
    ((2, 3, 17), 8),
    ((2, 3, 17), 16),
    ((2, 2, 2, 9), 5),
    ((7,), 6),
    ((5, 200), 128),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape, pad", REFLECT_PAD_CASES)
def test_reflect_pad_equals_torch_reflection_padding(shape, pad, dtype):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(len(shape) + pad), dtype=dtype)
    expected = F.pad(x.reshape(-1, 1, shape[-1]), (pad, pad), mode="reflect").reshape(*shape[:-1], -1)
    padded = AF._reflect_pad(x, pad)
    assert padded.dtype == dtype
    torch.testing.assert_close(padded, expected, rtol=0, atol=0)
    # a non-contiguous view pads the same
    view = torch.cat([x, x], dim=-1)[..., ::2] if shape[-1] > 1 else x
    torch.testing.assert_close(AF._reflect_pad(view, pad), F.pad(view.reshape(-1, 1, shape[-1]), (pad, pad),
                                                                 mode="reflect").reshape(*shape[:-1], -1))
