"""Bad and ambiguous window inputs are refused clearly; a list has one meaning; units are decided at fit.

A list (or tuple) is a sequence of windows for every method: 2-D arrays of
one channel count are stacked, Epochs and braindecode windows datasets with
the same channels are concatenated, and anything mixed or incompatible is a
``ValueError`` that says what differs. Pooling datasets of different channel
counts for pretraining takes an explicit :class:`skseqclr.MultiDataset`,
which only ``fit`` accepts. With ``units="auto"`` the factor to µV is decided
once, at ``fit``, so a window's features do not depend on the other windows
of a call.

Each table row is one input, the exception it must raise and a word its
message must contain.
"""

from __future__ import annotations

import warnings

import mne
import numpy as np
import pytest
from conftest import TINY
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline

import skseqclr
from skseqclr import Preprocessing, Readout, SeqCLRClassifier, SeqCLRTransformer

SFREQ = 128.0
N_TIMES = 96
#: Augmentation ranges that fit windows of 96 samples.
SHORT = dict(time_shift=(-8, 8), zero_mask=(0, 16))
PARAMS = dict(TINY, **SHORT, sfreq=SFREQ, readout=Readout(feature_channels="original"), batch_size=16,
              device="cpu", random_state=0)
HEAD = dict(lstm_sizes=(4, 2, 2), hidden_size=8, n_epochs=1, batch_size=8, device="cpu", random_state=0)

mne.set_log_level("ERROR")


def _windows(n_windows=8, n_channels=2, n_times=N_TIMES, seed=0, scale=20.0):
    """EEG-like noise plus a 10 Hz rhythm, in µV (``scale`` times a unit normal)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_times) / SFREQ
    rhythm = np.sin(2 * np.pi * 10 * t + rng.uniform(0, 2 * np.pi, (n_windows, n_channels, 1)))
    return (scale * (rng.standard_normal((n_windows, n_channels, n_times)) + rhythm)).astype(np.float32)


def _epochs(n_windows=4, ch_names=("C3", "C4"), sfreq=SFREQ, n_times=N_TIMES, seed=0, bads=()):
    """``mne.EpochsArray`` of ``_windows`` in volts, events alternating 1 and 2."""
    info = mne.create_info(list(ch_names), sfreq, "eeg")
    info["bads"] = list(bads)
    events = np.column_stack([np.arange(n_windows) * n_times, np.zeros(n_windows, int),
                              1 + np.arange(n_windows) % 2])
    data = _windows(n_windows, len(ch_names), n_times, seed).astype(np.float64) * 1e-6
    return mne.EpochsArray(data, info, events=events, event_id={"left": 1, "right": 2})


def _braindecode(n_windows=4, ch_names=("C3", "C4"), seed=0):
    from braindecode.datasets import create_from_X_y

    X = _windows(n_windows, len(ch_names), seed=seed).astype(np.float64)  # µV, as braindecode pipelines often scale
    return create_from_X_y(X, np.arange(n_windows) % 2, drop_last_window=False, sfreq=SFREQ,
                           ch_names=list(ch_names))


def _multi(datasets):
    """``skseqclr.MultiDataset`` (an AttributeError where the package has none)."""
    return skseqclr.MultiDataset(datasets)


def _with_nan():
    window = _windows(1)[0]
    window[1, 5] = np.nan
    return [_windows(1)[0], window]


@pytest.fixture(scope="module")
def fitted():
    """The untrained tiny transformer (``n_epochs=0``), fitted on 2-channel windows in µV."""
    return SeqCLRTransformer(**PARAMS, n_epochs=0).fit(_windows(8))


@pytest.fixture(scope="module")
def classifier(fitted):
    return SeqCLRClassifier(pretrained=fitted, **HEAD).fit(_windows(8), np.arange(8) % 2)


def _act(action, X, fitted, classifier):
    if action == "fit":
        return SeqCLRTransformer(**PARAMS, n_epochs=0).fit(X)
    if action == "transform":
        return fitted.transform(X)
    if action == "encode":
        return fitted.encode(X)
    if action == "classifier fit":
        return SeqCLRClassifier(pretrained=fitted, **HEAD).fit(X, [0, 1, 0, 1])
    if action == "classifier predict":
        return classifier.predict(X)
    if action == "X_unlabelled":
        return SeqCLRClassifier(pretrained=SeqCLRTransformer(**PARAMS, n_epochs=0), **HEAD).fit(
            _windows(4), [0, 1, 0, 1], X_unlabelled=X)
    raise AssertionError(action)


# (name, action, make the input, exception, a word of its message)
LIST_CASES = [
    ("2-D windows with different channel counts", "fit",
     lambda: [_windows(1, 2)[0], _windows(1, 3)[0]], ValueError, "channel"),
    ("2-D windows with different channel counts", "transform",
     lambda: [_windows(1, 2)[0], _windows(1, 3)[0]], ValueError, "channel"),
    ("2-D windows with different lengths", "fit",
     lambda: [_windows(1, 2)[0], _windows(1, 2, n_times=80)[0]], ValueError, "length"),
    ("1-D windows with different lengths", "fit",
     lambda: [np.ones(N_TIMES), np.ones(80)], ValueError, "length"),
    ("2-D windows and 3-D window sets mixed", "fit",
     lambda: [_windows(1)[0], _windows(2)], ValueError, "dimension"),
    ("Epochs and arrays mixed", "fit", lambda: [_epochs(2), _windows(1)[0]], ValueError, "mix"),
    ("Epochs and arrays mixed", "transform", lambda: [_epochs(2), _windows(1)[0]], ValueError, "mix"),
    ("Epochs and braindecode mixed", "fit", lambda: [_epochs(2), _braindecode(2)], ValueError, "mix"),
    ("Epochs with different channels", "fit",
     lambda: [_epochs(2), _epochs(2, ch_names=("C3", "Cz"))], ValueError, "channel"),
    ("Epochs with different bad channels", "transform",
     lambda: [_epochs(2, ch_names=("C3", "C4", "Cz")), _epochs(2, ch_names=("C3", "C4", "Cz"), bads=["Cz"])],
     ValueError, "channel"),
    ("Epochs with different sampling frequencies", "fit",
     lambda: [_epochs(2), _epochs(2, sfreq=256.0)], ValueError, "sampling"),
    ("Epochs with different lengths", "fit",
     lambda: [_epochs(2), _epochs(2, n_times=80)], ValueError, "length"),
    ("braindecode datasets with different channels", "fit",
     lambda: [_braindecode(2), _braindecode(2, ch_names=("C3", "Cz"))], ValueError, "channel"),
    ("items of a braindecode dataset, as sklearn indexes it", "fit",
     lambda: [_braindecode(2)[0], _braindecode(2)[1]], ValueError, "SliceDataset"),
    ("a list holding None", "fit", lambda: [_windows(1)[0], None], ValueError, "None"),
    ("a list of strings", "fit", lambda: ["a.fif", "b.fif"], ValueError, "str"),
    ("2-D windows, one with NaN", "fit", _with_nan, ValueError, "NaN"),
    ("empty list", "fit", lambda: [], ValueError, "empty"),
    ("empty list", "transform", lambda: [], ValueError, "empty"),
    ("empty tuple", "fit", lambda: (), ValueError, "empty"),
    ("X_unlabelled: 2-D windows with different channel counts", "X_unlabelled",
     lambda: [_windows(1, 2)[0], _windows(1, 3)[0]], ValueError, "channel"),
    ("Epochs and arrays mixed", "classifier predict", lambda: [_epochs(2), _windows(1)[0]], ValueError, "mix"),
]

MULTI_CASES = [
    ("MultiDataset", "transform", lambda: _multi([_windows(4)]), ValueError, "MultiDataset"),
    ("MultiDataset", "encode", lambda: _multi([_windows(4)]), ValueError, "MultiDataset"),
    ("MultiDataset", "classifier fit", lambda: _multi([_windows(4)]), ValueError, "MultiDataset"),
    ("MultiDataset", "classifier predict", lambda: _multi([_windows(4)]), ValueError, "MultiDataset"),
    ("MultiDataset of nothing", "fit", lambda: _multi([]), ValueError, "empty"),
    ("MultiDataset of one array, not a list of datasets", "fit", lambda: _multi(_windows(4)), TypeError, "list"),
    ("MultiDataset holding a file name", "fit", lambda: _multi([_windows(4), "recording.fif"]), ValueError, "str"),
    ("MultiDataset with an empty dataset", "fit", lambda: _multi([_windows(4), []]), ValueError, "empty"),
]

CASES = LIST_CASES + MULTI_CASES


@pytest.mark.parametrize("name, action, make, error, word", CASES,
                         ids=[f"{case[1]}: {case[0]}" for case in CASES])
def test_bad_or_ambiguous_inputs_are_refused(name, action, make, error, word, fitted, classifier):
    with pytest.raises(error, match=word):
        _act(action, make(), fitted, classifier)


# ------------------------------------------------------------------ a list is a sequence of windows
def test_a_list_of_2d_windows_is_one_window_set(fitted):
    X = _windows(6, 3)
    as_list = SeqCLRTransformer(**PARAMS, n_epochs=0).fit(list(X))
    as_array = SeqCLRTransformer(**PARAMS, n_epochs=0).fit(X)
    assert as_list.n_channels_fit_ == (3,) and as_list.n_features_in_ == 3
    np.testing.assert_array_equal(as_list.transform(list(X)), as_array.transform(X))
    np.testing.assert_array_equal(as_list.transform(tuple(X)), as_array.transform(X))
    # pretraining reads the list as the stacked array does
    trained = [SeqCLRTransformer(**PARAMS, n_epochs=1, max_steps=2).fit(data).transform(X) for data in (list(X), X)]
    np.testing.assert_array_equal(*trained)


def test_the_classifier_reads_a_list_of_2d_windows_as_the_stacked_array(fitted):
    X, y = _windows(8), np.arange(8) % 2
    from_list = SeqCLRClassifier(pretrained=fitted, **HEAD).fit(list(X), y)
    from_array = SeqCLRClassifier(pretrained=fitted, **HEAD).fit(X, y)
    assert from_list.n_features_in_ == from_array.n_features_in_ == 2
    np.testing.assert_allclose(from_list.predict_proba(list(X)), from_array.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_a_list_of_epochs_is_concatenated(fitted):
    whole = _epochs(6)
    pieces = [whole[0], whole[1:4], whole[4], whole[5]]
    features = fitted.transform(pieces)
    np.testing.assert_allclose(features, fitted.transform(whole), rtol=1e-6, atol=1e-7)
    model = SeqCLRTransformer(**PARAMS, n_epochs=0).fit([whole[i] for i in range(6)])
    assert model.n_channels_fit_ == (2,) and model.ch_names_ == ["C3", "C4"] and model.to_microvolts_ == 1e6


def test_a_list_of_braindecode_datasets_is_concatenated(fitted):
    from braindecode.datasets import BaseConcatDataset

    first, second = _braindecode(3, seed=0), _braindecode(2, seed=1)
    np.testing.assert_allclose(fitted.transform([first, second]),
                               fitted.transform(BaseConcatDataset([first, second])), rtol=1e-6, atol=1e-7)


def test_the_classifier_reads_targets_of_a_list_of_epochs(fitted):
    whole = _epochs(8)
    clf = SeqCLRClassifier(pretrained=fitted, **HEAD).fit([whole[i] for i in range(8)])
    assert list(clf.classes_) == ["left", "right"]
    np.testing.assert_allclose(clf.predict_proba([whole[i] for i in range(8)]), clf.predict_proba(whole),
                               rtol=1e-5, atol=1e-6)


def test_multidataset_pools_datasets_of_different_channel_counts():
    three, five = _windows(8, 3, seed=0), _windows(8, 5, n_times=80, seed=1)
    pooled = skseqclr.MultiDataset([three, five])
    assert len(pooled.datasets) == 2 and pooled.datasets[0] is three and pooled.datasets[1] is five
    assert skseqclr.MultiDataset([pooled, three]).datasets[2] is three  # nested ones are flattened
    model = SeqCLRTransformer(**PARAMS, n_epochs=1).fit(pooled)
    assert model.n_channels_fit_ == (3, 5)
    assert model.history_[0]["steps"] > 0
    assert model.transform(five).shape[0] == 8
    assert "MultiDataset" in repr(pooled) and "2 datasets" in repr(pooled)


# ------------------------------------------------------------------ cross-validation on mne.Epochs
def test_cross_val_score_on_epochs():
    epochs = _epochs(12)
    y = epochs.events[:, 2]
    pipe = make_pipeline(SeqCLRTransformer(**PARAMS, n_epochs=1, max_steps=1), LogisticRegression())
    scores = cross_val_score(pipe, epochs, y, cv=KFold(3))
    assert scores.shape == (3,) and np.isfinite(scores).all()


def test_grid_search_on_epochs():
    epochs = _epochs(12)
    y = epochs.events[:, 2]
    pipe = make_pipeline(SeqCLRTransformer(**PARAMS, n_epochs=0), LogisticRegression())
    search = GridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0]}, cv=KFold(2)).fit(epochs, y)
    assert np.isfinite(search.best_score_)
    assert search.predict(epochs).shape == (12,)


# ------------------------------------------------------------------ units decided once, at fit
QUIET = [0, 2, 3, 5, 6]  # five of the eight windows, scaled by 1e-6 in the mixed call
LOUD = [1, 4, 7]


def _mixed(X):
    mixed = X.copy()
    mixed[QUIET] *= 1e-6
    return mixed


@pytest.mark.parametrize("scale", [1.0, 1e-6], ids=["microvolts", "volts"])
def test_a_windows_features_do_not_depend_on_the_other_windows_of_the_call(scale):
    X = _windows(8) * np.float32(scale)
    model = SeqCLRTransformer(**PARAMS, n_epochs=0).fit(X)
    assert model.to_microvolts_ == (1.0 if scale == 1.0 else 1e6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the quiet windows look like volts: a warning, no change
        mixed = model.transform(_mixed(X))
        alone = np.concatenate([model.transform(X[i:i + 1]) for i in LOUD])
    np.testing.assert_array_equal(mixed[LOUD], alone)
    np.testing.assert_array_equal(mixed[LOUD], model.transform(X)[LOUD])


def test_the_classifier_predicts_each_window_as_alone():
    X = _windows(8)
    clf = SeqCLRClassifier(pretrained=SeqCLRTransformer(**PARAMS, n_epochs=0), **HEAD).fit(X, np.arange(8) % 2)
    assert clf.to_microvolts_ == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mixed = clf.predict_proba(_mixed(X))
    alone = np.concatenate([clf.predict_proba(X[i:i + 1]) for i in LOUD])
    np.testing.assert_array_equal(mixed[LOUD], alone)


def test_a_call_whose_amplitude_disagrees_with_the_fitted_units_warns(fitted):
    with pytest.warns(UserWarning, match="units"):
        features = fitted.transform(_windows(4) * 1e-6)
    # and is read in the fitted units all the same (µV): not rescaled by the guess
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(fitted.transform(_windows(4)), fitted.transform(_windows(4)))
    assert not np.allclose(features, fitted.transform(_windows(4)), atol=1e-3)


def test_epochs_are_read_in_volts_whatever_the_training_data(fitted):
    # fitted on µV arrays; Epochs carry volts, so the same signals give the same features
    np.testing.assert_allclose(fitted.transform(_epochs(4)), fitted.transform(_windows(4)), rtol=1e-4, atol=1e-4)


def test_explicit_units_keep_their_meaning():
    X = _windows(8)
    as_uv = SeqCLRTransformer(**PARAMS, n_epochs=0, preprocessing=Preprocessing(units="uV")).fit(X * 1e-6)
    assert as_uv.to_microvolts_ == 1.0
    as_v = SeqCLRTransformer(**PARAMS, n_epochs=0, preprocessing=Preprocessing(units="V")).fit(X)
    assert as_v.to_microvolts_ == 1e6
    # explicit units apply to Epochs too: "uV" reads their volts as µV
    np.testing.assert_array_equal(as_uv.transform(_epochs(4)), as_uv.transform(_windows(4) * 1e-6))


def test_save_and_load_keep_the_fitted_units(tmp_path):
    X = _windows(8) * np.float32(1e-6)
    model = SeqCLRTransformer(**PARAMS, n_epochs=0).fit(X)
    loaded = SeqCLRTransformer.load(model.save(tmp_path / "model.safetensors"))
    assert loaded.to_microvolts_ == model.to_microvolts_ == 1e6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_array_equal(loaded.transform(_mixed(X))[LOUD], model.transform(X)[LOUD])
