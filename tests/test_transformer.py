"""SeqCLRTransformer: fit, transform, reproducibility, persistence and scikit-learn integration."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline

from skseqclr import Checkpointing, Preprocessing, Readout, SeqCLRTransformer


@pytest.fixture
def windows(rng):
    return (20 * rng.standard_normal((24, 3, 160))).astype(np.float32)


def make(tiny, **params):
    defaults = dict(sfreq=100.0, n_epochs=1, batch_size=16, random_state=0)
    defaults.update(params)
    return SeqCLRTransformer(**tiny, **defaults)


def state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_fit_transform_shapes_names_and_history(tiny, windows):
    est = make(tiny, n_epochs=2).fit(windows)
    features = est.transform(windows)
    assert features.dtype == np.float32 and features.shape == (24, est.n_features_out_)
    assert est.n_features_out_ == 3 * 4 * 3  # channels x encoder outputs x (mean, std, logms)
    names = est.get_feature_names_out()
    assert len(names) == features.shape[1] and names[0] == "ch0_h0_mean" and names[-1] == "ch2_h3_logms"
    assert [h["epoch"] for h in est.history_] == [0, 1]
    assert all(np.isfinite(h["loss"]) and h["time_s"] > 0 and h["steps"] > 0 for h in est.history_)
    assert est.n_steps_ == sum(h["steps"] for h in est.history_)


def test_fit_transform_equals_fit_then_transform(tiny, windows):
    a = make(tiny).fit_transform(windows)
    b = make(tiny).fit(windows).transform(windows)
    np.testing.assert_array_equal(a, b)


def test_same_random_state_gives_same_weights_and_features(tiny, windows):
    first, second = make(tiny).fit(windows), make(tiny).fit(windows)
    for (name, p), q in zip(first.encoder_.state_dict().items(), second.encoder_.state_dict().values()):
        assert torch.equal(p, q), name
    np.testing.assert_array_equal(first.transform(windows), second.transform(windows))
    third = make(tiny, random_state=1).fit(windows)
    assert not np.allclose(first.transform(windows), third.transform(windows))


def test_pretraining_changes_the_encoder_and_n_epochs_0_is_the_untrained_control(tiny, windows):
    untrained = make(tiny, n_epochs=0).fit(windows)
    trained = make(tiny, n_epochs=2).fit(windows)
    assert untrained.history_ == [] and untrained.n_steps_ == 0
    # Same seed: the control is exactly the initial weights the pretrained run started from.
    again = make(tiny, n_epochs=0).fit(windows)
    for p, q in zip(untrained.encoder_.parameters(), again.encoder_.parameters()):
        assert torch.equal(p, q)
    changed = [not torch.equal(p, q) for p, q in zip(untrained.encoder_.parameters(), trained.encoder_.parameters())]
    assert all(changed)
    assert untrained.input_scale_ == pytest.approx(trained.input_scale_)
    assert untrained.transform(windows).shape == trained.transform(windows).shape


def test_input_scale_is_the_median_channel_std_in_microvolts(tiny, rng):
    X = (rng.standard_normal((10, 2, 200)) * 30e-6).astype(np.float32)  # volts
    est = make(tiny, n_epochs=0).fit(X)
    assert est.input_scale_ == pytest.approx(30.0, rel=0.1)


def test_transform_accepts_other_lengths(tiny, windows, rng):
    est = make(tiny).fit(windows)
    longer = (20 * rng.standard_normal((5, 3, 250))).astype(np.float32)
    assert est.transform(longer).shape == (5, est.n_features_out_)


def test_other_channel_counts_are_refused_by_transform_but_encoded_by_encode(tiny, windows, rng):
    est = make(tiny).fit(windows)
    five = (20 * rng.standard_normal((4, 5, 160))).astype(np.float32)
    with pytest.raises(ValueError, match="X has 5 channels but SeqCLRTransformer was fitted on windows with 3"):
        est.transform(five)
    per_channel = est.encode(five)
    assert per_channel.shape == (4, 5, 12)
    np.testing.assert_allclose(est.encode(windows).reshape(24, -1), est.transform(windows), rtol=1e-6)


def test_windows_too_short_for_the_encoder(tiny, rng):
    short = rng.standard_normal((8, 2, 4)).astype(np.float32)
    with pytest.raises(ValueError, match="too short for the conv encoder"):
        make(tiny, time_shift=None, zero_mask=None).fit(short)


def test_public_preprocessing_contract_matches_transform(tiny, windows, rng):
    """What other estimators use to encode windows as ``transform`` does: units, resampling, scaling, lengths."""
    from skseqclr.inputs import as_window_source

    seqclr = make(tiny, n_epochs=0, preprocessing=Preprocessing(resample_to=50.0, units="mV")).fit(windows)
    source = as_window_source(windows, sfreq=100.0)
    assert seqclr.resampling(source) == (100, 50)
    assert seqclr.n_times_after_resampling(source) == 80
    assert seqclr.microvolts_factor(source) == 1000.0
    settings = seqclr.encoding_settings(torch.device("cpu"))
    assert (settings.scaling, settings.input_scale) == ("global", seqclr.input_scale_)
    assert make(tiny, n_epochs=0).fit(windows).resampling(source) is None
    with pytest.raises(ValueError, match="too short"):
        seqclr.check_windows(as_window_source(windows[:, :, :8], sfreq=100.0))
    with pytest.raises(ValueError, match="whole-Hz"):
        seqclr.resampling(as_window_source(windows, sfreq=100.5))


def test_pooling_and_log_power(tiny, windows):
    est = make(tiny, readout=Readout(pooling="mean", log_power=True)).fit(windows)
    assert est.transform(windows).shape == (24, 3 * (4 + 1))
    assert est.get_feature_names_out()[4] == "ch0_logpower"
    with pytest.raises(ValueError, match="Unknown pooling"):
        make(tiny, readout=Readout(pooling=("median",))).fit(windows)


@pytest.mark.parametrize("params, match", [
    (dict(encoder="lstm"), "encoder='lstm'"),
    (dict(preprocessing=Preprocessing(scaling="robust")), "scaling='robust'"),
    (dict(batch_size=1), "batch_size must be at least 2"),
    (dict(n_epochs=-1), "n_epochs"),
    # bool is an Integral in Python; True epochs or a batch of True windows is a typo, not a number
    (dict(n_epochs=True), "n_epochs must be a non-negative integer, got True"),
    (dict(batch_size=True), "batch_size must be a positive integer, got True"),
    (dict(max_steps=False), "max_steps must be None or a non-negative integer, got False"),
    (dict(temperature=0.0), "temperature"),
    (dict(amplitude_scale=(2.0, 0.5)), "low must not exceed high"),
    (dict(time_shift=5), r"time_shift must be a \(low, high\) pair"),
    (dict(precision="fp16"), "precision='fp16'"),
    (dict(checkpointing=Checkpointing(resume=True)), "resume=True needs directory"),
    (dict(preprocessing=Preprocessing(units="kV")), "units='kV'"),
])
def test_bad_parameters_are_named(tiny, windows, params, match):
    with pytest.raises(ValueError, match=match):
        make(tiny, **params).fit(windows)


def test_bandstop_without_sfreq_is_a_clear_error(tiny, windows):
    with pytest.raises(ValueError, match="bandstop augmentation needs the sampling frequency"):
        make(tiny, sfreq=None, bandstop=(2.8, 82.5)).fit(windows)
    make(tiny, sfreq=None, bandstop=None).fit(windows)


def test_pickle_roundtrip(tiny, windows):
    est = make(tiny).fit(windows)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.transform(windows), est.transform(windows))


def test_save_load_and_init_weights(tiny, windows, tmp_path):
    est = make(tiny).fit(windows)
    path = est.save(tmp_path / "encoder.safetensors")
    loaded = SeqCLRTransformer.load(path)
    np.testing.assert_allclose(loaded.transform(windows), est.transform(windows), rtol=1e-6)
    assert loaded.get_params()["model_size"] == est.get_params()["model_size"]
    assert loaded.get_params()["amplitude_scale"] == est.get_params()["amplitude_scale"]
    assert loaded.input_scale_ == est.input_scale_ and loaded.ch_names_ == est.ch_names_
    # init_weights with n_epochs=0 uses the weights as they are
    warm = make(tiny, n_epochs=0, checkpointing=Checkpointing(init_weights=path)).fit(windows)
    for p, q in zip(warm.encoder_.parameters(), est.encoder_.parameters()):
        assert torch.equal(p, q)
    # an encoder of another architecture is refused with the reason
    with pytest.raises(ValueError, match="for a conv encoder with sizes"):
        SeqCLRTransformer(encoder="conv", model_size="small", sfreq=100.0, n_epochs=0,
                          checkpointing=Checkpointing(init_weights=path)).fit(windows)
    with pytest.raises(ValueError, match="not an skseqclr weights file"):
        (tmp_path / "junk.safetensors").write_bytes(b"12345678{}")
        SeqCLRTransformer.load(tmp_path / "junk.safetensors")


def test_load_on_cpu_only_machine_from_cuda_like_state(tiny, windows):
    """Fitted modules live on the CPU after fit, so a pickle never holds device tensors."""
    est = make(tiny).fit(windows)
    assert all(p.device.type == "cpu" for p in est.encoder_.parameters())


def test_clone_and_nested_params(tiny):
    est = make(tiny, amplitude_scale=(0.8, 1.25))
    cloned = clone(est)
    assert cloned.get_params()["amplitude_scale"] == (0.8, 1.25)
    pipe = Pipeline([("seqclr", est), ("clf", LogisticRegression())])
    pipe.set_params(seqclr__amplitude_scale=(0.5, 2.0), seqclr__bandstop=None)
    assert pipe.get_params()["seqclr__amplitude_scale"] == (0.5, 2.0)
    assert pipe.named_steps["seqclr"].bandstop is None


def _labelled(rng, n=32):
    """Two classes that differ in the power of a 10-Hz rhythm."""
    t = np.arange(160) / 100.0
    y = np.arange(n) % 2
    X = 10 * rng.standard_normal((n, 2, 160))
    X += (30 * y)[:, None, None] * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 6, (n, 2, 1)))
    return X.astype(np.float32), y


def test_pipeline_cross_val_and_grid_search_on_numpy(tiny, rng):
    X, y = _labelled(rng)
    pipe = Pipeline([("seqclr", make(tiny, n_epochs=1)), ("clf", LogisticRegression(max_iter=500))])
    scores = cross_val_score(pipe, X, y, cv=2)
    assert scores.shape == (2,) and np.all(scores > 0.6)
    search = GridSearchCV(pipe, {"seqclr__amplitude_scale": [(0.5, 2.0), (0.9, 1.1)]}, cv=2)
    search.fit(X, y)
    assert set(search.cv_results_["param_seqclr__amplitude_scale"]) == {(0.5, 2.0), (0.9, 1.1)}


def test_grid_search_on_braindecode_through_slice_dataset(tiny, rng):
    from braindecode.datasets import create_from_X_y
    from skorch.helper import SliceDataset

    X, y = _labelled(rng)
    dataset = create_from_X_y(X * 1e-6, y, drop_last_window=False, sfreq=100.0, ch_names=["C3", "C4"])
    X_slice = SliceDataset(dataset, idx=0)
    pipe = Pipeline([("seqclr", make(tiny, sfreq=None)), ("clf", LogisticRegression(max_iter=500))])
    search = GridSearchCV(pipe, {"seqclr__dc_shift": [(-10.0, 10.0), None]}, cv=2)
    search.fit(X_slice, y)
    assert np.all(search.cv_results_["mean_test_score"] > 0.6)
    assert search.best_estimator_.named_steps["seqclr"].sfreq_ == 100.0


def test_default_augmentations_and_the_papers_set_one_argument_away():
    from skseqclr import PAPER_RANGES

    defaults = SeqCLRTransformer()._augmentation_ranges()
    # amplitude scale and band-stop are off by default (the EEGMAT benchmark, docs/benchmark.rst)
    assert defaults["amplitude_scale"] is None and defaults["bandstop"] is None
    # shift and mask lengths follow the data: "auto", the paper's durations capped to the windows
    assert defaults["time_shift"] == defaults["zero_mask"] == "auto"
    # ... which at the paper's 200 Hz, on windows of 3 s or more, are the paper's ranges in samples
    resolved = SeqCLRTransformer()._resolved_ranges(200.0, 600)
    assert {k: v for k, v in resolved.items() if v is not None} == {
        k: v for k, v in PAPER_RANGES.items() if k not in ("amplitude_scale", "bandstop")}
    assert SeqCLRTransformer(**PAPER_RANGES)._augmentation_ranges() == dict(PAPER_RANGES)


def test_two_augmentations_composed_per_view_by_default_capped_at_those_enabled(tiny, windows):
    # two per view by default (the EEGMAT benchmark, docs/benchmark.rst); one per view is one argument away
    assert SeqCLRTransformer()._augmenter(sfreq=128.0).augmentations_per_view == 2
    assert SeqCLRTransformer(augmentations_per_view=1)._augmenter(sfreq=128.0).augmentations_per_view == 1
    # the paper's study of one augmentation at a time runs with the default
    noise_only = make(tiny, time_shift=None, dc_shift=None, zero_mask=None)
    augmenter = noise_only._augmenter(sfreq=100.0)
    assert [a.name for a in augmenter.augmentations] == ["gaussian_noise"] and augmenter.augmentations_per_view == 1
    assert np.isfinite(noise_only.fit(windows).history_[-1]["loss"])
    all_four = SeqCLRTransformer(augmentations_per_view=4)._augmenter(sfreq=128.0)
    assert all_four.choose(50).sum(dim=1).eq(4).all()
