"""The six channel augmentations (paper §2.2) and the two-view augmenter: their semantics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

from skseqclr.augmentations import (
    AUGMENTATION_NAMES,
    PAPER_RANGES,
    AmplitudeScale,
    BandStop,
    ChannelAugmenter,
    DCShift,
    GaussianNoise,
    TimeShift,
    ZeroMask,
    make_augmentations,
)
from skseqclr.augmentations import functional as AF


def _generator(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def channels():
    """64 single channels of 1000 samples, in µV, none of them with an exact zero."""
    x = 20.0 * torch.randn(64, 1000, generator=_generator(0))
    return torch.where(x == 0, torch.full_like(x, 1e-3), x)


# ----------------------------------------------------------------- semantics
def test_amplitude_scale_multiplies_by_a_factor_within_range(channels):
    augmentation = AmplitudeScale(0.5, 2.0)
    out = augmentation(channels, _generator(1))
    ratio = out / channels
    factor = ratio[:, :1]
    torch.testing.assert_close(ratio, factor.expand_as(ratio))  # one factor per channel
    assert factor.min() >= 0.5 and factor.max() <= 2.0
    assert factor.max() - factor.min() > 0.75  # spread over the range, not one value

    params = augmentation.sample(64, n_times=1000, generator=_generator(2))
    torch.testing.assert_close(augmentation.apply(channels, params), params["factor"][:, None] * channels)


@pytest.mark.parametrize("shift", [-50, -7, 0, 1, 50])
def test_time_shift_moves_the_signal_by_k_samples_circularly(shift):
    x = torch.arange(100, dtype=torch.float32).expand(3, -1)
    out = AF.time_shift(x, torch.full((3,), shift))
    # out[t] = x[t - k]: a positive shift delays; samples pushed out re-enter at the other end.
    torch.testing.assert_close(out, torch.roll(x, shifts=shift, dims=-1))
    if shift > 0:
        assert out[0, shift] == 0 and out[0, 0] == 100 - shift


def test_time_shift_draws_whole_samples_within_range(channels):
    augmentation = TimeShift(-50, 50)
    params = augmentation.sample(64, n_times=1000, generator=_generator(3))
    shifts = params["shift"]
    assert shifts.dtype == torch.int64 and shifts.min() >= -50 and shifts.max() <= 50
    out = augmentation.apply(channels, params)
    for row in range(0, 64, 7):
        torch.testing.assert_close(out[row], torch.roll(channels[row], int(shifts[row])))


def test_dc_shift_adds_a_constant_within_range(channels):
    out = DCShift(-10.0, 10.0)(channels, _generator(4))
    offset = out - channels
    torch.testing.assert_close(offset, offset[:, :1].expand_as(offset), atol=1e-4, rtol=0)
    assert offset.min() >= -10.0 - 1e-4 and offset.max() <= 10.0 + 1e-4
    assert offset[:, 0].std() > 3.0  # differs across channels


def test_zero_mask_zeroes_one_contiguous_run_of_the_drawn_length(channels):
    augmentation = ZeroMask(0, 150)
    params = augmentation.sample(64, n_times=1000, generator=_generator(5))
    out = augmentation.apply(channels, params)
    for row in range(64):
        start, length = int(params["start"][row]), int(params["length"][row])
        assert 0 <= length <= 150 and 0 <= start <= 1000 - length  # the run fits in the window
        zeros = torch.nonzero(out[row] == 0).flatten()
        assert len(zeros) == length
        if length:
            assert zeros[0] == start and zeros[-1] == start + length - 1  # contiguous
        keep = torch.ones(1000, dtype=torch.bool)
        keep[start : start + length] = False
        assert torch.equal(out[row, keep], channels[row, keep])
    assert params["length"].max() > 100 and params["length"].min() < 50


def test_gaussian_noise_std_matches_sigma_relative_to_the_channel():
    n_times = 20_000
    stds = torch.tensor([1.0, 10.0, 100.0, 30.0, 5.0])
    x = stds[:, None] * torch.randn(5, n_times, generator=_generator(6))
    sigma = torch.tensor([0.0, 0.05, 0.1, 0.2, 0.15])
    out = AF.gaussian_noise(x, sigma, _generator(7))
    noise = out - x
    measured = noise.std(dim=-1) / x.std(dim=-1)
    torch.testing.assert_close(measured, sigma, atol=0.003, rtol=0.03)
    assert abs(float(noise[1].mean())) < 4 * 0.05 * 10.0 / math.sqrt(n_times)  # zero-mean

    drawn = GaussianNoise(0.0, 0.2)(x.repeat(8, 1), _generator(8)) - x.repeat(8, 1)
    relative = drawn.std(dim=-1) / x.repeat(8, 1).std(dim=-1)
    assert relative.max() <= 0.2 * 1.03 and relative.max() - relative.min() > 0.05


def _power_db(reference: torch.Tensor, filtered: torch.Tensor) -> torch.Tensor:
    ref = reference.double().pow(2).mean(-1)
    return 10 * torch.log10(filtered.double().pow(2).mean(-1) / ref)


@pytest.mark.parametrize("sfreq, centres", [
    (200.0, (2.8, 40.0, 82.5)),   # the paper's range at the paper's rate
    (128.0, (2.8, 33.3, 61.5)),   # 61.5 Hz: the paper's upper end clipped at Nyquist - 2.5 Hz
])
def test_bandstop_removes_its_centre_and_keeps_15_hz_away(sfreq, centres):
    n_times = int(4 * sfreq)  # 4-s windows
    t = torch.arange(n_times, dtype=torch.float64) / sfreq
    phases = torch.linspace(0, 2 * math.pi, 9, dtype=torch.float64)[:-1]
    rows, away_rows, row_centres = [], [], []
    for centre in centres:
        away = centre + 15.0 if centre + 15.0 < sfreq / 2 - 1 else centre - 15.0
        for phase in phases:
            rows.append(torch.sin(2 * math.pi * centre * t + phase))
            away_rows.append(torch.sin(2 * math.pi * away * t + phase))
            row_centres.append(centre)
    x = 20.0 * torch.stack(rows).float()
    x_away = 20.0 * torch.stack(away_rows).float()
    centre = torch.tensor(row_centres)

    out = AF.bandstop_filter(x, centre, sfreq)  # each row its own centre, one call
    edge = int(0.5 * sfreq)  # the filter's settling time at each end (see bandstop_filter)
    interior = _power_db(x[:, edge:-edge], out[:, edge:-edge])
    assert interior.max() <= -30.0, interior
    assert _power_db(x, out).max() <= -15.0  # whole window, edge transients included

    kept = _power_db(x_away, AF.bandstop_filter(x_away, centre, sfreq))
    assert kept.abs().max() <= 1.0, kept


def test_bandstop_response_is_3_db_down_at_half_the_width():
    frequencies = torch.tensor([10.0, 27.5, 30.0, 32.5, 45.0], dtype=torch.float64)
    response = AF.bandstop_response(frequencies, torch.tensor([30.0], dtype=torch.float64), width=5.0)[0]
    gain_db = 20 * torch.log10(response.clamp_min(1e-300))
    assert gain_db[2] < -100  # zero at the centre
    torch.testing.assert_close(gain_db[[1, 3]], torch.full((2,), -3.0103, dtype=torch.float64), atol=1e-3, rtol=0)
    assert gain_db[[0, 4]].abs().max() < 0.01


def test_bandstop_clips_centres_at_nyquist_minus_half_the_width():
    # The rule: centres stay at or below sfreq / 2 - width / 2.
    assert BandStop(2.8, 82.5, sfreq=200.0).effective_range() == (2.8, 82.5)
    clipped = BandStop(2.8, 82.5, sfreq=128.0)
    assert clipped.effective_range() == (2.8, 61.5)
    centres = clipped.sample(2000, n_times=512, generator=_generator(9))["center"]
    assert centres.min() >= 2.8 and centres.max() <= 61.5 and centres.max() > 60.0


@pytest.mark.parametrize("low, high, sfreq", [(70.0, 80.0, 128.0), (62.0, 62.0, 128.0), (48.0, 60.0, 100.0)])
def test_bandstop_refuses_a_range_above_nyquist(low, high, sfreq):
    with pytest.raises(ValueError, match="Nyquist"):
        BandStop(low, high, sfreq=sfreq)
    with pytest.raises(ValueError, match="Nyquist"):
        make_augmentations(sfreq=sfreq, bandstop=(low, high))


def test_bandstop_without_sfreq_is_a_clear_error(channels):
    augmentation = make_augmentations(bandstop=(2.8, 82.5))[0]  # ranges alone validate without sfreq
    for call in (lambda: augmentation(channels), lambda: augmentation.check_window(1000),
                 lambda: ChannelAugmenter([augmentation]).check_window(1000)):
        with pytest.raises(ValueError, match="sampling frequency.*sfreq="):
            call()


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("name, value, match", [
    ("amplitude_scale", (2.0, 1.0), "low must not exceed high"),
    ("amplitude_scale", (0.0, 2.0), "positive"),
    ("amplitude_scale", (0.5,), "pair"),
    ("amplitude_scale", (0.5, 1.0, 2.0), "pair"),
    ("amplitude_scale", "0.5-2", "pair"),
    ("amplitude_scale", 2.0, "pair"),
    ("dc_shift", (float("nan"), 1.0), "finite"),
    ("dc_shift", (-10.0, float("inf")), "finite"),
    ("dc_shift", (True, False), "pair"),
    ("time_shift", (-50.5, 50), "whole numbers"),
    ("zero_mask", (-1, 150), "below 0"),
    ("zero_mask", (0, 10.5), "whole numbers"),
    ("gaussian_noise", (-0.1, 0.2), "below 0"),
    ("bandstop", (-1.0, 10.0), "below 0"),
    ("bandstop", ("a", "b"), "pair"),
])
def test_bad_ranges_are_refused(name, value, match):
    with pytest.raises(ValueError, match=f"{name}.*{match}|{match}"):
        make_augmentations(sfreq=200.0, **{name: value})


def test_unknown_augmentation_is_refused():
    with pytest.raises(ValueError, match="Unknown augmentation"):
        make_augmentations(amplitude=(0.5, 2.0))


def test_ranges_accept_numpy_values_and_none_turns_off():
    augmentations = make_augmentations(sfreq=200.0, amplitude_scale=np.array([0.5, 2.0]),
                                       time_shift=(np.int64(-5), np.int64(5)), bandstop=None)
    assert [a.name for a in augmentations] == ["amplitude_scale", "time_shift"]
    assert [a.name for a in make_augmentations(sfreq=200.0, **PAPER_RANGES)] == list(AUGMENTATION_NAMES)


def test_windows_too_short_for_an_augmentation_are_refused():
    with pytest.raises(ValueError, match="time_shift.*50.*only 40 samples"):
        TimeShift(-50, 50).check_window(40)
    with pytest.raises(ValueError, match="zero_mask.*150.*only 100 samples"):
        ZeroMask(0, 150).check_window(100)
    augmenter = ChannelAugmenter(make_augmentations(sfreq=200.0, **PAPER_RANGES))
    augmenter.check_window(151)
    with pytest.raises(ValueError, match="zero_mask"):
        augmenter.check_window(150)


# -------------------------------------------------------- per-channel draws
@pytest.mark.parametrize("name", AUGMENTATION_NAMES)
def test_strengths_differ_across_channels(name):
    augmentation = make_augmentations(sfreq=200.0, **{name: PAPER_RANGES[name]})[0]
    params = augmentation.sample(64, n_times=1000, generator=_generator(10))
    strength = next(iter(params.values())) if name != "zero_mask" else params["length"]
    assert strength.shape == (64,)
    assert len(torch.unique(strength)) > 20
    low, high = PAPER_RANGES[name]
    assert strength.min() >= low and strength.max() <= high


# ----------------------------------------------------------- the augmenter
def test_two_views_differ_and_are_reproducible_from_a_seed(channels):
    augmenter = ChannelAugmenter(make_augmentations(sfreq=200.0, **PAPER_RANGES))
    view_a, view_b = augmenter(channels, _generator(11))
    assert view_a.shape == view_b.shape == channels.shape
    differs = (view_a - view_b).abs().amax(dim=-1) > 1e-3
    assert differs.all()

    again_a, again_b = augmenter(channels, _generator(11))
    assert torch.equal(view_a, again_a) and torch.equal(view_b, again_b)
    other_a, _ = augmenter(channels, _generator(12))
    assert not torch.equal(view_a, other_a)


@pytest.mark.parametrize("per_view", [1, 2, 3, 6])
def test_each_view_uses_the_configured_number_of_augmentations(per_view):
    augmenter = ChannelAugmenter(make_augmentations(sfreq=200.0, **PAPER_RANGES), per_view)
    chosen = augmenter.choose(500, _generator(13))
    assert chosen.shape == (500, 6)
    assert (chosen.sum(dim=1) == per_view).all()
    if per_view < 6:  # every augmentation gets chosen for some channels, not always the same ones
        frequency = chosen.float().mean(dim=0)
        assert torch.allclose(frequency, torch.full((6,), per_view / 6), atol=0.08)


def test_chosen_augmentations_are_the_ones_applied():
    x = torch.randn(400, 200, generator=_generator(14))
    double, plus_five = AmplitudeScale(2.0, 2.0), DCShift(5.0, 5.0)

    one = ChannelAugmenter([double, plus_five], augmentations_per_view=1).augment(x, _generator(15))
    is_doubled = torch.isclose(one, 2 * x).all(dim=-1)
    is_shifted = torch.isclose(one, x + 5).all(dim=-1)
    assert (is_doubled ^ is_shifted).all()  # exactly one of the two, for every channel
    assert 0.4 < is_doubled.float().mean() < 0.6

    both = ChannelAugmenter([double, plus_five], augmentations_per_view=2).augment(x, _generator(16))
    torch.testing.assert_close(both, 2 * x + 5)  # composed in the order of AUGMENTATION_NAMES


def test_augmenter_settings_are_validated():
    augmentations = make_augmentations(sfreq=200.0, amplitude_scale=(0.5, 2.0), dc_shift=(-10.0, 10.0))
    with pytest.raises(ValueError, match="augmentations_per_view=3 but only 2"):
        ChannelAugmenter(augmentations, augmentations_per_view=3)
    with pytest.raises(ValueError, match="at least 1"):
        ChannelAugmenter(augmentations, augmentations_per_view=0)
    x = torch.randn(4, 100)
    view_a, view_b = ChannelAugmenter([])(x)  # no augmentation: the ablation
    assert torch.equal(view_a, x) and torch.equal(view_b, x)


# ----------------------------------------------------------- vectorisation
class _CountTorchCalls(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


def _count_calls(fn) -> int:
    with _CountTorchCalls() as counter:
        fn()
    return counter.calls


def test_no_python_loop_over_rows():
    augmenter = ChannelAugmenter(make_augmentations(sfreq=200.0, **PAPER_RANGES), augmentations_per_view=2)
    small, large = torch.randn(4, 400), torch.randn(256, 400)
    calls_small = _count_calls(lambda: augmenter(small, _generator(17)))
    calls_large = _count_calls(lambda: augmenter(large, _generator(17)))
    # The same torch calls whatever the batch size: the work is batched, not looped per row.
    assert calls_small == calls_large
    assert calls_small < 400


@pytest.mark.parametrize("device", [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")),
])
def test_augmenter_runs_on_the_batch_device(device):
    x = torch.randn(32, 400, device=device)
    generator = torch.Generator(device=device).manual_seed(0)
    view_a, view_b = ChannelAugmenter(make_augmentations(sfreq=200.0, **PAPER_RANGES), 2)(x, generator)
    assert view_a.device.type == view_b.device.type == device
    assert torch.isfinite(view_a).all() and not torch.equal(view_a, view_b)


# ------------------------------------------------------------------ plotting
def test_plot_augmentations_draws_one_panel_per_augmentation():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skseqclr import plot_augmentations

    x = 20.0 * np.random.default_rng(0).standard_normal(800)
    fig = plot_augmentations(x, sfreq=200.0, seed=0)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert len(fig.axes) == 1 + len(AUGMENTATION_NAMES)
    assert titles[0].endswith("original")
    for title, unit in zip(titles[1:], ["x", "samples", "µV", "samples", "x channel std", "Hz"]):
        assert unit in title, title  # each panel names its drawn strength with its unit

    # The drawn amplitude panel is the original times the factor in its title.
    factor = float(titles[1].split("x")[-1])
    drawn = fig.axes[1].lines[1].get_ydata()
    np.testing.assert_allclose(drawn, factor * x, rtol=0.02, atol=0.01)  # title rounds to 0.01
    assert 0.5 <= factor <= 2.0
    plt.close(fig)

    fig = plot_augmentations(x, sfreq=None, ranges={"bandstop": None, "time_shift": None}, n_examples=3)
    assert len(fig.axes) == 5
    assert len(fig.axes[1].lines) == 1 + 3 and fig.axes[-1].get_xlabel() == "Time (samples)"
    plt.close(fig)

    with pytest.raises(ValueError, match="sampling frequency"):
        plot_augmentations(x)  # the band-stop needs sfreq
    with pytest.raises(ValueError, match="Unknown augmentation"):
        plot_augmentations(x, sfreq=200.0, ranges={"flip": (0, 1)})


def test_plot_augmentations_reads_mne_data_in_microvolts():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mne

    from skseqclr import plot_augmentations

    volts = 20e-6 * np.random.default_rng(1).standard_normal((2, 2, 400))
    epochs = mne.EpochsArray(volts, mne.create_info(["Cz", "Pz"], 128.0, "eeg"), verbose="error")
    fig, axes = plt.subplots(7, 1)
    assert plot_augmentations(epochs, window=1, channel="Pz", axes=axes) is fig  # sfreq from the Epochs
    np.testing.assert_allclose(axes[0].lines[0].get_ydata(), volts[1, 1] * 1e6, rtol=1e-5)
    assert axes[0].get_title(loc="left") == "Pz: original"
    plt.close(fig)


# ------------------------------------------------------- shift and mask lengths that follow the data ("auto")
def _tiny_default(**params):
    """The default estimator's augmentations on a tiny network, one pretraining step."""
    from conftest import TINY

    from skseqclr import SeqCLRTransformer

    return SeqCLRTransformer(**{**TINY, "max_steps": 1, "batch_size": 8, "random_state": 0, **params})


@pytest.mark.parametrize("sfreq, seconds, time_shift, zero_mask", [
    (100.0, 0.5, (-6, 6), (0, 12)),  # the paper's 25 and 75 samples, capped at 1/8 and 1/4 of 50 samples
    (128.0, 4.0, (-32, 32), (0, 96)),  # ±0.25 s and 0.75 s at 128 Hz, below the caps
    (250.0, 2.0, (-62, 62), (0, 125)),  # 63 capped at 500 / 8, 188 capped at 500 / 4
])
def test_the_default_estimator_fits_and_transforms_windows_of_any_rate_and_length(sfreq, seconds, time_shift,
                                                                                 zero_mask):
    windows = np.random.default_rng(0).normal(scale=20.0, size=(8, 2, int(sfreq * seconds))).astype(np.float32)
    seqclr = _tiny_default(sfreq=sfreq).fit(windows)
    assert seqclr.time_shift == seqclr.zero_mask == "auto"  # the parameters are left as set
    assert (seqclr.time_shift_, seqclr.zero_mask_) == (time_shift, zero_mask)
    features = seqclr.transform(windows)
    assert features.shape == (8, seqclr.n_features_out_) and np.isfinite(features).all()


def test_auto_ranges_are_the_documented_ones():
    from skseqclr.augmentations import AUTO_FRACTIONS, PAPER_SFREQ, resolve_auto_range

    assert PAPER_SFREQ == 200.0 and AUTO_FRACTIONS == {"time_shift": 1 / 8, "zero_mask": 1 / 4}
    # at the paper's rate, the paper's samples once the windows are long enough (3 s for the mask)
    assert resolve_auto_range("time_shift", 200.0, 600) == PAPER_RANGES["time_shift"]
    assert resolve_auto_range("zero_mask", 200.0, 600) == PAPER_RANGES["zero_mask"]
    assert resolve_auto_range("zero_mask", 200.0, 400) == (0, 100)
    # seconds, rounded to the nearest sample, without a cap
    assert resolve_auto_range("time_shift", 64.0) == (-16, 16)  # not the 0.78 s of 50 samples at 64 Hz
    assert resolve_auto_range("zero_mask", 250.0) == (0, 188)  # 187.5 rounds up
    # without a rate: the paper's samples, capped alike
    assert resolve_auto_range("time_shift", None, 160) == (-20, 20)
    assert resolve_auto_range("zero_mask", None, 1000) == (0, 150)
    with pytest.raises(ValueError, match="'auto' is a range of time_shift and zero_mask only"):
        resolve_auto_range("dc_shift", 100.0, 100)
    with pytest.raises(ValueError, match=r"dc_shift must be a \(low, high\) pair of numbers or None, got 'auto'"):
        make_augmentations(dc_shift="auto")
    # make_augmentations resolves "auto" itself
    shift, mask = make_augmentations(sfreq=100.0, n_times=50, time_shift="auto", zero_mask="auto")
    assert (shift.low, shift.high, mask.low, mask.high) == (-6, 6, 0, 12)


def test_auto_follows_the_crops_and_unknown_rates():
    windows = np.random.default_rng(0).normal(scale=20.0, size=(8, 2, 512)).astype(np.float32)
    cropped = _tiny_default(sfreq=128.0, crop_length=128).fit(windows)
    assert (cropped.time_shift_, cropped.zero_mask_) == ((-16, 16), (0, 32))  # 1/8 and 1/4 of the crops
    unknown = _tiny_default(sfreq=None).fit(windows[..., :160])
    assert (unknown.time_shift_, unknown.zero_mask_) == ((-20, 20), (0, 40))
    off = _tiny_default(sfreq=128.0, time_shift=None, zero_mask=None).fit(windows)
    assert off.time_shift_ is None and off.zero_mask_ is None


def test_explicit_ranges_keep_their_meaning_in_samples():
    windows = np.random.default_rng(0).normal(scale=20.0, size=(8, 2, 512)).astype(np.float32)
    given = _tiny_default(sfreq=128.0, time_shift=(-3, 7), zero_mask=(2, 9)).fit(windows)
    assert (given.time_shift_, given.zero_mask_) == ((-3, 7), (2, 9))
    # the paper's configuration, exactly, whatever the rate: its samples are not rescaled
    from skseqclr import SeqCLRTransformer

    paper = SeqCLRTransformer(**PAPER_RANGES)
    for sfreq in (128.0, 200.0, 250.0):
        augmenter = paper._augmenter(sfreq, 512)
        assert {a.name: (a.low, a.high) for a in augmenter.augmentations} == {
            name: (float(low), float(high)) for name, (low, high) in PAPER_RANGES.items()}
    fitted = _tiny_default(sfreq=200.0, **PAPER_RANGES).fit(windows)
    assert (fitted.time_shift_, fitted.zero_mask_) == ((-50, 50), (0, 150))
    # and too-short windows for explicit ranges are still refused, naming the range
    with pytest.raises(ValueError, match=r"zero_mask=\(0.0, 150.0\) masks up to 150.0 samples"):
        _tiny_default(sfreq=100.0, **PAPER_RANGES).fit(windows[..., :100])


def test_grid_search_over_explicit_time_shifts():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    rng = np.random.default_rng(0)
    X = rng.normal(scale=20.0, size=(16, 2, 64)).astype(np.float32)
    y = np.arange(16) % 2
    pipe = Pipeline([("seqclr", _tiny_default(sfreq=64.0)), ("clf", LogisticRegression(max_iter=200))])
    search = GridSearchCV(pipe, {"seqclr__time_shift": ["auto", (-2, 2), (-4, 4)]}, cv=2).fit(X, y)
    assert list(search.cv_results_["param_seqclr__time_shift"]) == ["auto", (-2, 2), (-4, 4)]
    assert search.best_estimator_.named_steps["seqclr"].time_shift_ in [(-8, 8), (-2, 2), (-4, 4)]
