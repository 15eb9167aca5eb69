"""make_synthetic_task: shapes, argument checks, and that each kind carries its ground truth."""

import numpy as np
import pytest

from skseqclr.datasets import SYNTHETIC_TASK_KINDS, make_synthetic_task

SFREQ = 128.0


def _properties(X, sfreq=SFREQ):
    """Per-window oracle features of each kind, plus the power of the rhythms above 3 Hz."""
    X = X.astype(np.float64)
    centred = X - X.mean(-1, keepdims=True)
    freqs = np.fft.rfftfreq(X.shape[-1], 1.0 / sfreq)
    power = np.abs(np.fft.rfft(centred, axis=-1)) ** 2
    t = np.arange(X.shape[-1]) / X.shape[-1]
    deflection = np.abs(t - 0.6) <= 0.1
    alpha = (freqs >= 8) & (freqs <= 13)
    return {
        "amplitude": np.log(centred.std(-1)).mean(1),
        "bandpower": np.log(power[..., alpha].sum(-1) / power[..., freqs >= 1].sum(-1)).mean(1),
        "slow_potential": (X[..., deflection].mean(-1) - X[..., ~deflection].mean(-1)).mean(1),
        "rhythms": np.log(power[..., freqs >= 3].sum(-1)).mean(1),
    }


def _effect(values, y, groups):
    """Class difference of a feature standardised within each subject (≈ Cohen's d)."""
    z = np.empty_like(values)
    for subject in np.unique(groups):
        mask = groups == subject
        z[mask] = (values[mask] - values[mask].mean()) / values[mask].std()
    return z[y == 1].mean() - z[y == 0].mean()


@pytest.mark.parametrize("kind", SYNTHETIC_TASK_KINDS)
def test_shapes_dtypes_balance(kind):
    X, y, groups = make_synthetic_task(kind, n_subjects=3, windows_per_subject=10, n_channels=4, n_times=200,
                                       sfreq=100.0, random_state=0)
    assert X.shape == (30, 4, 200) and X.dtype == np.float32
    assert y.dtype == np.int64 and groups.dtype == np.int64
    assert groups.tolist() == [0] * 10 + [1] * 10 + [2] * 10
    for subject in range(3):
        assert np.bincount(y[groups == subject]).tolist() == [5, 5]
    assert np.isfinite(X).all()
    # µV scale: tens of microvolts, not volts
    assert 5 < X.std() < 200


def test_seeded_and_different_kinds_share_nothing_but_shape():
    a = make_synthetic_task("amplitude", n_subjects=2, windows_per_subject=4, random_state=3)
    b = make_synthetic_task("amplitude", n_subjects=2, windows_per_subject=4, random_state=3)
    c = make_synthetic_task("amplitude", n_subjects=2, windows_per_subject=4, random_state=4)
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)
    assert not np.array_equal(a[0], c[0])


# Each kind: its own oracle feature separates the classes (|effect| large), the
# other properties do not differ between classes beyond noise.
_OWN_EFFECT = {"amplitude": 1.0, "bandpower": 1.0, "slow_potential": 0.4}
_UNCHANGED = {
    "amplitude": ("bandpower", "slow_potential"),
    "bandpower": ("amplitude", "slow_potential"),
    "slow_potential": ("amplitude", "bandpower", "rhythms"),
}


@pytest.mark.parametrize("kind", SYNTHETIC_TASK_KINDS)
def test_each_kind_carries_only_its_ground_truth(kind):
    X, y, groups = make_synthetic_task(kind, random_state=0)
    properties = _properties(X)
    own = _effect(properties[kind], y, groups)
    assert abs(own) > _OWN_EFFECT[kind], (kind, own)
    if kind == "slow_potential":
        assert own < 0  # a negative deflection
    for other in _UNCHANGED[kind]:
        assert abs(_effect(properties[other], y, groups)) < 0.3, (kind, other)


def test_broadband_power_matched_in_bandpower_task():
    # the classes differ in alpha power while the total power stays the same
    X, y, groups = make_synthetic_task("bandpower", n_subjects=20, random_state=1)
    log_std = _properties(X)["amplitude"]
    assert abs(_effect(log_std, y, groups)) < 0.3


def test_subjects_differ_in_nuisance_more_than_classes_differ():
    X, y, groups = make_synthetic_task("amplitude", n_subjects=12, random_state=0)
    log_std = _properties(X)["amplitude"]
    class_gap = log_std[y == 1].mean() - log_std[y == 0].mean()  # log(1.25) ≈ 0.22 expected
    subject_means = np.array([log_std[(groups == s) & (y == 0)].mean() for s in range(12)])
    assert 0.1 < class_gap < 0.35
    assert subject_means.std() > class_gap  # gains vary more across subjects than between classes
    # per-channel DC offsets differ by subject (tens of µV), not by class
    dc = X.mean(-1)
    between = np.array([dc[groups == s].mean(0) for s in range(12)]).std(0).mean()
    assert between > 10
    assert abs(_effect(dc.mean(1), y, groups)) < 0.3


def test_slow_potential_is_time_locked():
    # the class average differs around 60 % of the window, not at its start
    X, y, _ = make_synthetic_task("slow_potential", n_subjects=20, random_state=2)
    centred = X - X.mean(-1, keepdims=True)
    diff = (centred[y == 1].mean(0) - centred[y == 0].mean(0)).mean(0)
    n = X.shape[-1]
    assert diff[int(0.6 * n)] < -3.0
    assert abs(diff[: int(0.2 * n)].mean()) < abs(diff[int(0.6 * n)]) / 2


# (kwargs, expected exception, a word the message must contain)
BAD_ARGUMENTS = [
    (dict(kind="alpha"), ValueError, "kind"),
    (dict(kind=None), ValueError, "kind"),
    (dict(kind=1), ValueError, "kind"),
    (dict(kind="Amplitude"), ValueError, "kind"),
    (dict(kind="amplitude", n_subjects=0), ValueError, "n_subjects"),
    (dict(kind="amplitude", n_subjects=2.5), ValueError, "n_subjects"),
    (dict(kind="amplitude", n_subjects=True), ValueError, "n_subjects"),
    (dict(kind="amplitude", windows_per_subject=3), ValueError, "windows_per_subject"),
    (dict(kind="amplitude", windows_per_subject=0), ValueError, "windows_per_subject"),
    (dict(kind="amplitude", windows_per_subject="40"), ValueError, "windows_per_subject"),
    (dict(kind="amplitude", n_channels=0), ValueError, "n_channels"),
    (dict(kind="amplitude", n_times=16, sfreq=32.0), ValueError, "n_times"),
    (dict(kind="amplitude", sfreq=0), ValueError, "sfreq"),
    (dict(kind="amplitude", sfreq=-128.0), ValueError, "sfreq"),
    (dict(kind="amplitude", sfreq=float("nan")), ValueError, "sfreq"),
    (dict(kind="amplitude", sfreq=float("inf")), ValueError, "sfreq"),
    (dict(kind="amplitude", sfreq="128"), ValueError, "sfreq"),
    (dict(kind="amplitude", sfreq=20.0, n_times=256), ValueError, "sfreq"),
    (dict(kind="bandpower", n_times=100, sfreq=128.0), ValueError, "1 s"),
    (dict(kind="amplitude", random_state="seed"), ValueError, "seed"),
]


@pytest.mark.parametrize("kwargs, error, word", BAD_ARGUMENTS)
def test_bad_arguments(kwargs, error, word):
    kwargs = dict(kwargs)
    kind = kwargs.pop("kind")
    with pytest.raises(error, match=word):
        make_synthetic_task(kind, **kwargs)


def test_keyword_only():
    with pytest.raises(TypeError):
        make_synthetic_task("amplitude", 12)
